"""Sogou dumps: SogouCA/SogouCS news and SogouT-style page records.

Both are GB18030 files of ``<doc>…</doc>`` records, one field a line, that only look like XML:
an ``&`` is rarely escaped and stray bytes are common, so records are cut out of the byte
stream and their fields found by pattern, never by an XML parser. A news record
(``<url>``, ``<docno>``, ``<contenttitle>``, ``<content>``) becomes its title and content; a
page record (``<docno>``, ``<url>`` and then the page, optionally behind HTTP headers) goes
through the same decoding as a WARC page and leaves the extraction to the `extract` step.

SogouCA writes paragraph breaks inside ``<content>`` as U+E40C, a private-use character;
they become newlines.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import IO

from mdfs.collect.encoding import DecodeError, decode_html
from mdfs.document import Document

OnError = Callable[[str, str], None]

_RECORD_END = b"</doc>"
_FIELD = re.compile(rb"<(url|docno|contenttitle|content)>(.*?)</\1>", re.S)
_HTTP_HEADERS = re.compile(rb"\A\s*HTTP/\d(?:\.\d)? \d{3}.*?\r?\n\r?\n", re.S)
_CHARSET = re.compile(rb"^content-type:[^\r\n]*charset=([\w.:-]+)", re.I | re.M)
_PARAGRAPH = "\ue40c"
_CHUNK = 1 << 20


def looks_like_sogou(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"<doc>") and (b"<docno>" in head or b"<contenttitle>" in head)


def read_sogou(
    stream: IO[bytes], path: str, on_error: OnError, max_document_bytes: int
) -> Iterator[Document]:
    for number, record in enumerate(_records(stream, path, on_error, max_document_bytes), 1):
        document = _document(record, path, number, on_error)
        if document is not None:
            yield document


def _records(
    stream: IO[bytes], path: str, on_error: OnError, max_document_bytes: int
) -> Iterator[bytes]:
    """The bytes between ``<doc>`` and ``</doc>``, never holding more than one record + a chunk."""
    buffer = b""
    while chunk := stream.read(_CHUNK):
        buffer += chunk
        *records, buffer = buffer.split(_RECORD_END)
        for record in records:
            start = record.find(b"<doc>")
            if start >= 0:
                yield record[start + 5 :]
            elif record.strip():
                on_error("bad_record", f"{path}: text outside a <doc> record")
        if len(buffer) > max_document_bytes:
            on_error("document_too_large", f"{path}: a record over {max_document_bytes:,} bytes")
            buffer = b""
            # skip to the end of the oversized record
            while chunk := stream.read(_CHUNK):
                end = chunk.find(_RECORD_END)
                if end >= 0:
                    buffer = chunk[end + len(_RECORD_END) :]
                    break
    if buffer.strip():
        on_error("truncated_record", f"{path}: the file ends inside a <doc> record")


def _document(record: bytes, path: str, number: int, on_error: OnError) -> Document | None:
    fields = {name.decode(): value for name, value in _FIELD.findall(record)}
    where = f"{path}#{number}"
    url = _text(fields.get("url", b"")).strip() or None
    docno = _text(fields.get("docno", b"")).strip()
    doc_id = docno or where
    if "content" in fields:
        title = _clean(_text(fields.get("contenttitle", b"")))
        content = _clean(_text(fields["content"]).replace(_PARAGRAPH, "\n"))
        if not content:
            on_error("bad_record", f"{where}: empty <content>")
            return None
        text = f"{title}\n{content}" if title else content
        meta = {"format": "text", "title": title or None, "docno": docno or None, "kind": "sogou"}
        return Document(id=doc_id, text=text, source=path, url=url, meta=meta)
    page = _FIELD.sub(b"", record)
    headers = _HTTP_HEADERS.match(page)
    charset = None
    if headers:
        found = _CHARSET.search(headers.group(0))
        charset = found.group(1).decode("ascii") if found else None
        page = page[headers.end() :]
    if not page.strip():
        on_error("bad_record", f"{where}: neither <content> nor a page")
        return None
    try:
        text = decode_html(page.strip(), charset)
    except DecodeError as error:
        on_error("undecodable", f"{where}: {error}")
        return None
    meta = {"format": "html", "docno": docno or None, "kind": "sogou"}
    return Document(id=doc_id, text=text, source=path, url=url, meta=meta)


def _text(raw: bytes) -> str:
    # Valid multi-byte UTF-8 is no accident (a converted copy); else the dumps' GB18030, where
    # a stray byte costs one character, not the record.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def _clean(text: str) -> str:
    lines = (line.strip() for line in html.unescape(text).splitlines())
    return "\n".join(line for line in lines if line)
