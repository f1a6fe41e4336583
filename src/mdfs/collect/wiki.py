"""MediaWiki XML dumps (``*-pages-articles.xml[.bz2]``): one document per article.

The dump is parsed as a stream (a 20 GB Wikipedia dump never sits in memory) and the wikitext
rendered to plain text by mwparserfromhell: templates (infoboxes, citations), references,
tables, galleries, and file and category links are dropped; headings stay as lines of their
own; the article's title is the first line. Redirects and pages outside the article namespace
are skipped and counted. Traditional-script wikis go through the `normalize` step's OpenCC
conversion like any other text.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import IO
from xml.etree.ElementTree import Element, ParseError, iterparse

from mdfs.document import Document

OnError = Callable[[str, str], None]

# Link prefixes that are not prose: files, images and categories, in English and Chinese.
_NOT_PROSE_LINK = re.compile(
    r"^\s*:?\s*(file|image|media|category|文件|檔案|档案|图像|圖像|分类|分類)\s*:", re.I
)
_DROPPED_TAGS = {"ref", "references", "gallery", "table", "math", "timeline", "imagemap"}
_REDIRECT = re.compile(r"^\s*#(redirect|重定向)", re.I)
_BLANK_RUN = re.compile(r"\n{2,}")


def looks_like_mediawiki(head: bytes) -> bool:
    return b"<mediawiki" in head[:2048]


def read_mediawiki(stream: IO[bytes], path: str, on_error: OnError) -> Iterator[Document]:
    pages = iterparse(stream, events=("start", "end"))
    root: Element | None = None
    try:
        for event, element in pages:
            if root is None:
                root = element
            if event != "end" or _local(element.tag) != "page":
                continue
            document = _page_document(element, path, on_error)
            root.clear()  # pages already read would otherwise stay in the tree
            if document is not None:
                yield document
    except ParseError as error:
        # XML cannot be resynchronised: the pages after the damage are lost, and said so
        on_error("corrupt_file", f"{path}: malformed XML: {error}")


def render_wikitext(wikitext: str) -> str:
    """Plain text of an article's wikitext: prose and headings, no markup."""
    import mwparserfromhell

    code = mwparserfromhell.parse(wikitext)
    unwanted = [
        *code.filter_templates(recursive=False),
        *(t for t in code.filter_tags() if str(t.tag).strip().lower() in _DROPPED_TAGS),
        *(link for link in code.filter_wikilinks() if _NOT_PROSE_LINK.match(str(link.title))),
        *code.filter_comments(),
    ]
    for node in unwanted:
        with contextlib.suppress(ValueError):  # already gone with a node around it
            code.remove(node)
    text = code.strip_code(normalize=True, collapse=True)
    lines = (line.strip() for line in text.splitlines())
    return _BLANK_RUN.sub("\n", "\n".join(line for line in lines if line)).strip()


def _page_document(page: Element, path: str, on_error: OnError) -> Document | None:
    fields = {_local(child.tag): child for child in page}
    title = (fields["title"].text or "").strip() if "title" in fields else ""
    page_id = (fields["id"].text or "").strip() if "id" in fields else ""
    where = f"{path}#{page_id or title}"
    namespace = (fields["ns"].text or "0").strip() if "ns" in fields else "0"
    if namespace != "0":
        on_error("wiki_not_article", f"{where}: namespace {namespace}")
        return None
    revision = fields.get("revision")
    text_node = None
    timestamp = None
    if revision is not None:
        for child in revision:
            if _local(child.tag) == "text":
                text_node = child
            elif _local(child.tag) == "timestamp":
                timestamp = child.text
    wikitext = text_node.text if text_node is not None else None
    if "redirect" in fields or (wikitext and _REDIRECT.match(wikitext)):
        on_error("wiki_redirect", f"{where}: redirect")
        return None
    if not title or not wikitext:
        on_error("bad_record", f"{where}: a page without title or text")
        return None
    body = render_wikitext(wikitext)
    if not body:
        on_error("bad_record", f"{where}: no prose after removing markup")
        return None
    return Document(
        id=f"{path}#{page_id}" if page_id else where,
        text=f"{title}\n{body}",
        source=path,
        url=None,
        meta={"format": "text", "title": title, "date": timestamp, "kind": "mediawiki"},
    )


def _local(tag: str) -> str:
    """A tag without its XML namespace (dumps carry export-0.10, -0.11, …)."""
    return tag.rsplit("}", 1)[-1]
