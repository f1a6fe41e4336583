"""Collect-stage steps: turn pages into their main text."""

from __future__ import annotations

from mdfs.collect.extract import extract_main_text
from mdfs.document import Document, Removed
from mdfs.pipeline import Step, register


@register
class Extract(Step):
    """Main-text extraction for HTML documents; plain-text documents pass through.

    A page with no main text (a pure link list, a redirect stub) is removed as
    `no_main_text`, so it is counted here rather than as an empty document later.
    """

    name = "extract"

    def run(self, documents):
        for document in documents:
            if document.meta.get("format") != "html":
                yield document
                continue
            text = extract_main_text(document.text, document.url)
            document.meta["format"] = "text"
            document.meta["html_chars"] = len(document.text)
            document.text = text
            if text.strip():
                yield document
            else:
                yield Removed(document, "no_main_text")


__all__ = ["Document", "Extract"]
