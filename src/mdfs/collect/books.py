"""Books: EPUB files and plain-text novels, as chapter-sized documents.

A book is not one document: a 5 MB novel would dwarf every web page in a shard, defeat
near-duplicate detection (one changed chapter hides a copied book) and blow up the classifier's
segments. EPUB chapters follow the spine (reading order; items marked non-linear, such as
covers and notes, are left out) and keep their heading as the first line. Plain-text books are
cut at their chapter headings (第…章/回/节/卷, 序章, 楔子, 尾声 …); any piece still over the size
cap is cut again at paragraph ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO

from mdfs.document import Document

OnError = Callable[[str, str], None]

_NUMERAL = "0-9０-９零〇一二三四五六七八九十百千万两"
CHAPTER_HEADING = re.compile(
    rf"^[ \t\u3000]*(第[{_NUMERAL}]+[章回节節卷部集篇]|序章|序言|楔子|引子|尾声|尾聲|后记|後記|番外)"
    r"[^\n]{0,40}$",
    re.M,
)
MIN_HEADINGS = 3  # fewer is a text that mentions a chapter, not a book cut into chapters
MAX_CHAPTER_CHARS = 50_000


def split_book(text: str, max_chars: int = MAX_CHAPTER_CHARS) -> list[tuple[str | None, str]]:
    """(chapter title, text) pieces of a plain-text book; one piece for a short plain text."""
    starts = [m.start() for m in CHAPTER_HEADING.finditer(text)]
    if len(starts) < MIN_HEADINGS:
        pieces = [(None, text)]
    else:
        bounds = [0, *starts] if text[: starts[0]].strip() else starts
        pieces = []
        for begin, end in zip(bounds, [*bounds[1:], len(text)], strict=True):
            chapter = text[begin:end].strip()
            heading = CHAPTER_HEADING.match(chapter)
            pieces.append((heading.group(0).strip() if heading else None, chapter))
    return [(title, part) for title, chapter in pieces for part in _cap(chapter, max_chars)]


def _cap(text: str, max_chars: int) -> list[str]:
    """Cut at paragraph ends into pieces of at most max_chars (a longer paragraph is cut hard)."""
    if len(text) <= max_chars:
        return [text]
    parts: list[str] = []
    current = ""
    for paragraph in text.splitlines(keepends=True):
        while len(paragraph) > max_chars:
            if current:
                parts.append(current)
                current = ""
            parts.append(paragraph[:max_chars])
            paragraph = paragraph[max_chars:]
        if len(current) + len(paragraph) > max_chars:
            parts.append(current)
            current = ""
        current += paragraph
    if current.strip():
        parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def book_documents(
    path: str, text: str, meta: dict, max_chars: int = MAX_CHAPTER_CHARS
) -> Iterator[Document]:
    """The documents of a plain-text file: one, or one per chapter piece of a book."""
    pieces = split_book(text, max_chars)
    if len(pieces) == 1:
        yield Document(id=path, text=pieces[0][1], source=path, url=None, meta=meta)
        return
    for number, (title, part) in enumerate(pieces, start=1):
        chapter_meta = {**meta, "kind": "book", "chapter": number, "chapter_title": title}
        yield Document(id=f"{path}#{number}", text=part, source=path, url=None, meta=chapter_meta)


def read_epub(stream: IO[bytes], path: str, on_error: OnError) -> Iterator[Document]:
    import ebooklib
    from ebooklib import epub
    from resiliparse.extract.html2text import extract_plain_text

    try:
        book = epub.read_epub(stream, options={"ignore_ncx": True})
    except Exception as error:  # ebooklib raises bare Exceptions, zipfile and lxml errors
        on_error("corrupt_file", f"{path}: not a readable EPUB: {type(error).__name__}: {error}")
        return
    titles = book.get_metadata("DC", "title")
    book_title = titles[0][0] if titles else None
    number = 0
    for idref, linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None:
            on_error("bad_record", f"{path}: spine item {idref} is missing")
            continue
        if linear == "no" or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        if isinstance(item, epub.EpubNav):
            continue  # the table of contents
        try:
            markup = item.get_content().decode("utf-8", errors="replace")
        except Exception as error:
            on_error("bad_record", f"{path}: {item.get_name()}: {type(error).__name__}: {error}")
            continue
        rendered = extract_plain_text(markup, main_content=False, alt_texts=False)
        text = "\n".join(line.strip() for line in rendered.splitlines() if line.strip())
        if not text:
            continue
        heading = text.split("\n", 1)[0].strip()[:100]
        for part in _cap(text, MAX_CHAPTER_CHARS):
            number += 1
            yield Document(
                id=f"{path}#{number}",
                text=part,
                source=path,
                url=None,
                meta={
                    "format": "text", "kind": "book", "title": book_title,
                    "chapter": number, "chapter_title": heading,
                },
            )  # fmt: skip
