"""Collect-stage steps: turn pages into their main text."""

from __future__ import annotations

import re
import sys

from pydantic import Field

from mdfs.coarse.text_stats import CJK_CHAR
from mdfs.collect.extract import extract_main_text
from mdfs.document import Document, Removed
from mdfs.pipeline import Step, register

# a numeric character reference, as HTML parsers read it (digits without limit, ";" optional)
_NUMERIC_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+))")


def may_hold_cjk(html: str) -> bool:
    """False only when no Chinese character can come out of ``html``: none is written in it,
    and no numeric character reference (``&#20013;``) stands for one."""
    # isascii() is O(1) (Python records it with the string); most Latin pages are not ASCII
    # (typographic quotes, no-break spaces) and cost one regex scan.
    if not html.isascii() and CJK_CHAR.search(html) is not None:
        return True
    # English pages are full of &#39; and &#160;: decode the references, do not just see "&#"
    for match in _NUMERIC_REF.finditer(html):
        code = int(match[1], 16) if match[1] else int(match[2])
        if code <= sys.maxunicode and CJK_CHAR.match(chr(code)):
            return True
    return False


@register
class Extract(Step):
    """Main-text extraction for HTML documents; plain-text documents pass through.

    A page with no main text (a pure link list, a redirect stub) is removed as
    `no_main_text`, so it is counted here rather than as an empty document later.
    With `skip_without_cjk`, a page without a single Chinese character is removed as `no_cjk`
    before it is parsed: a Chinese recipe's language step (CJK ratio 0) would remove it anyway,
    after extraction, normalisation and fastText had cost ~5x the check (most of a Common
    Crawl segment is such pages).
    """

    name = "extract"
    shows_cuts = False
    skip_without_cjk: bool = Field(
        False, description="remove pages with no Chinese character (no_cjk) without parsing them"
    )

    def run(self, documents):
        for document in documents:
            if document.meta.get("format") != "html":
                yield document
                continue
            if self.skip_without_cjk and not may_hold_cjk(document.text):
                yield Removed(document, "no_cjk")
                continue
            text = extract_main_text(document.text, document.url)
            if not text.strip():
                yield Removed(document, "no_main_text")  # with its HTML, to see why
                continue
            document.meta["format"] = "text"
            document.meta["html_chars"] = len(document.text)
            document.text = text
            yield document


__all__ = ["Document", "Extract"]
