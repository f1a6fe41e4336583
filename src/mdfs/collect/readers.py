"""Readers turn input files into documents, whatever their format.

Every record either becomes a `Document` or is reported through `on_error(kind, message)`,
so nothing read is lost without a count. A reader never raises for bad data: a corrupt
gzip stream, a truncated WARC record or a broken JSON line ends or skips that record,
is counted, and reading goes on with the next file.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import datetime
import glob
import gzip
import io
import logging
import lzma
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import IO

import orjson
import zstandard

from mdfs.collect import books, sogou, wiki
from mdfs.collect.encoding import DecodeError, decode_html, decode_with_encoding
from mdfs.document import Document
from mdfs.storage import RUN_MARKER, is_url

log = logging.getLogger(__name__)

OnError = Callable[[str, str], None]

HTML_TYPES = ("text/html", "application/xhtml+xml")
WARC_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz", ".arc", ".arc.gz")
JSONL_SUFFIXES = (
    ".jsonl", ".jsonl.gz", ".jsonl.zst", ".json", ".json.gz", ".ndjson", ".jsonl.zstd",
)  # fmt: skip
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
TEXT_SUFFIXES = (".txt", ".text", ".md")
# Tables with a header row; the text is one column (`text_field`), like a JSONL field.
CSV_DELIMITERS = {".csv": ",", ".tsv": "\t"}
# Dumps whose extension says little (.xml, .dat): recognised by their first bytes.
SNIFFED_SUFFIXES = (".xml", ".dat")
# Whole-file compression is undone by magic bytes; the name inside decides the format.
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
# Archives are read member by member, each member a source of its own (an fsspec URL).
ARCHIVE_SUFFIXES = {
    ".zip": "zip", ".tar": "tar", ".tar.gz": "tar", ".tgz": "tar", ".tar.bz2": "tar",
    ".tbz2": "tar", ".tar.xz": "tar", ".txz": "tar",
}  # fmt: skip
FORMATS = ("warc", "jsonl", "parquet", "csv", "html", "txt", "sogou", "mediawiki", "epub")
# Errors of a broken file, whichever decompressor or parser met them.
FILE_ERRORS = (OSError, EOFError, zlib.error, zstandard.ZstdError, lzma.LZMAError)


def open_input(path: str) -> IO[bytes]:
    if _is_member(path):
        return _open_member(path)
    if is_url(path):
        import fsspec

        return fsspec.open(path, "rb").open()
    return open(path, "rb")


def _is_member(path: str) -> bool:
    """An archive member, named as fsspec names it (`zip://a.txt::b.zip`)."""
    return path.startswith(("zip://", "tar://")) and "::" in path


def _member_parts(path: str) -> tuple[str, str, str]:
    """`zip://a/b.txt::dir/c.zip` -> ("zip", "a/b.txt", "dir/c.zip")."""
    protocol, rest = path.split("://", 1)
    member, archive = rest.split("::", 1)
    return protocol, member, archive


def _own_name(path: str) -> str:
    """The lower-cased name of what ``path`` reads: an archive member's own name, not its
    archive's; a local path is its own whole (a folder may be called "a::b")."""
    return (path.split("::", 1)[0] if _is_member(path) else path).lower()


def _open_member(path: str) -> IO[bytes]:
    """One member of a zip or tar archive, named as fsspec names it (`zip://a.txt::b.zip`).
    Opened here, not by fsspec: its chained URLs split at every "::", the archive's own path
    included."""
    import tarfile
    import zipfile

    protocol, member, archive = _member_parts(path)
    outer = open_input(archive)
    try:
        if protocol == "zip":
            return zipfile.ZipFile(outer).open(member)
        # the member stream reads through the archive, which must stay open: no context manager
        stream = tarfile.open(fileobj=outer).extractfile(member)  # noqa: SIM115
    except KeyError:
        raise FileNotFoundError(f"{member} is not in {archive}") from None
    if stream is None:
        raise OSError(f"{member} is not a file in {archive}")
    return stream


def _member_size(path: str) -> int:
    import tarfile
    import zipfile

    protocol, member, archive = _member_parts(path)
    with open_input(archive) as outer:
        try:
            if protocol == "zip":
                return zipfile.ZipFile(outer).getinfo(member).file_size
            with tarfile.open(fileobj=outer) as archive_file:
                return archive_file.getmember(member).size
        except KeyError:
            raise FileNotFoundError(f"{member} is not in {archive}") from None


def input_size(path: str) -> int:
    piece = Piece.parse(path)
    if piece is not None:
        return piece.size()
    if _is_member(path):
        return _member_size(path)
    if is_url(path):
        import fsspec

        fs, inner = fsspec.core.url_to_fs(path)
        return int(fs.size(inner) or 0)
    return os.path.getsize(path)


def input_bytes(path: str) -> int:
    """The size of an input file, or 0 when it cannot be told (for progress, never for data)."""
    try:
        return input_size(path)
    except (OSError, ValueError):
        return 0


def expand_inputs(inputs: list[str], on_error: OnError, exclude: str | None = None) -> list[str]:
    """Files, directories (recursively) and globs → a sorted, de-duplicated list of files.

    Nothing under the local folder `exclude` is listed: a run's output folder inside one of
    its input folders would otherwise be read as input by the next run into it.
    """
    excluded = os.path.realpath(exclude) + os.sep if exclude else None

    def wanted(path: str) -> bool:
        return excluded is None or not (os.path.realpath(path) + os.sep).startswith(excluded)

    files: list[str] = []
    for item in inputs:
        if is_url(item):
            files.extend(_expand_url(item, on_error))
        elif any(ch in item for ch in "*?["):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                on_error("missing_path", f"{item}: no file matches this pattern")
            for match in matches:
                if not os.path.isdir(match) and wanted(match):
                    files.extend(_regular_file(match, on_error))
        elif os.path.isdir(item):
            if os.path.isfile(os.path.join(item, RUN_MARKER)):
                item = os.path.join(item, "corpus")  # a run's input is its kept documents
            for root, dirs, names in os.walk(item, onerror=lambda e: _walk_error(e, on_error)):
                dirs[:] = sorted(
                    d for d in dirs if not d.startswith(".") and wanted(os.path.join(root, d))
                )
                for name in sorted(n for n in names if not n.startswith(".")):
                    files.extend(_regular_file(os.path.join(root, name), on_error))
        elif os.path.exists(item):
            files.extend(_regular_file(item, on_error))
        else:
            on_error("missing_path", f"{item}: no such file or directory")
    expanded: list[str] = []
    for path in dict.fromkeys(files):
        members = _archive_members(path, on_error)
        expanded.extend([path] if members is None else members)
    return expanded


def _archive_members(path: str, on_error: OnError) -> list[str] | None:
    """The members of a zip or tar file as fsspec URLs (`zip://a/b.txt::archive.zip`);
    None when the path is no archive."""
    name = _own_name(path)
    protocol = next((p for s, p in ARCHIVE_SUFFIXES.items() if name.endswith(s)), None)
    if protocol is None:
        return None
    try:
        with open_input(path) as stream:
            members = _list_members(protocol, stream)
    except Exception as error:  # zipfile.BadZipFile, tarfile.ReadError, OSError …
        on_error("corrupt_file", f"{path}: not a readable archive: {type(error).__name__}: {error}")
        return []
    if not members:
        on_error("empty_file", f"{path}: an archive with no files")
    return [f"{protocol}://{member}::{path}" for member in members]


def _list_members(protocol: str, stream: IO[bytes]) -> list[str]:
    import tarfile
    import zipfile

    if protocol == "zip":
        names = [i.filename for i in zipfile.ZipFile(stream).infolist() if not i.is_dir()]
    else:
        with tarfile.open(fileobj=stream) as archive:
            names = [i.name for i in archive if i.isfile()]
    return sorted(n for n in names if not n.rsplit("/", 1)[-1].startswith("."))


def _name(path: str) -> str:
    """The file name that says the format: an archive member's own name, lower-cased, without
    a whole-file compression suffix (`.warc.gz` → `.warc`, `.xml.bz2` → `.xml`)."""
    name = _own_name(path)
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _regular_file(path: str, on_error: OnError) -> list[str]:
    """[path] for a file to read; [] for a FIFO, device or socket, which reading would block
    on or never finish (a broken symbolic link is kept: its reader says what is wrong)."""
    if os.path.isfile(path) or not os.path.exists(path):
        return [path]
    on_error("not_a_file", f"{path}: not a regular file (a FIFO, device or socket); skipped")
    return []


def _walk_error(error: OSError, on_error: OnError) -> None:
    kind = "permission_denied" if isinstance(error, PermissionError) else "missing_path"
    on_error(kind, f"{error.filename}: {error.strerror or error}")


def _expand_url(url: str, on_error: OnError) -> list[str]:
    import fsspec

    try:
        fs, inner = fsspec.core.url_to_fs(url)
        if any(ch in inner for ch in "*?["):
            found = [p for p in fs.glob(inner) if fs.isfile(p)]
        elif fs.isdir(inner):
            if fs.isfile(f"{inner.rstrip('/')}/{RUN_MARKER}"):
                inner = f"{inner.rstrip('/')}/corpus"
            found = fs.find(inner)
        elif fs.isfile(inner):
            found = [inner]
        else:
            found = []
    except (ImportError, ValueError) as error:  # unknown protocol, backend not installed
        on_error("missing_path", f"{url}: {error}")
        return []
    except OSError as error:
        on_error("missing_path", f"{url}: {type(error).__name__}: {error}")
        return []
    found = [p for p in found if not p.rsplit("/", 1)[-1].startswith(".")]
    if not found:
        on_error("missing_path", f"{url}: no such file or directory")
    # A chained URL (`zip://*::archive.zip`) names its members inside the archive it chains to,
    # which fsspec's listing leaves out.
    chained = f"::{_member_parts(url)[2]}" if _is_member(url) else ""
    return sorted(fs.unstrip_protocol(p) + chained for p in found)


def _open_bytes(path: str) -> IO[bytes]:
    """Open a file, transparently decompressing gzip and zstd by their magic bytes.

    Either raises EOFError when the file ends inside a compressed stream (a truncated file).
    """
    raw = open_input(path)
    magic = raw.read(4)
    raw.seek(0)
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)
    if magic == b"\x28\xb5\x2f\xfd":
        return io.BufferedReader(ZstdReader(raw))
    if magic[:3] == b"BZh":
        return bz2.BZ2File(raw)
    if magic == b"\xfd7zX":
        return lzma.LZMAFile(raw)
    return raw


class _ReadAhead(io.RawIOBase):
    """A stream whose first bytes (``head``) are read ahead to be looked at, then read again
    (not every decompressing stream can seek back or peek that far). A damaged stream's
    error is raised where reading reaches it, after the head, as it would be without."""

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self.stream = stream
        self.error: Exception | None = None
        chunks: list[bytes] = []
        # read1: one read of the stream underneath at a time, as a text wrapper reads; a
        # truncated gzip then loses only the piece it ends in, not a whole request's worth
        read = getattr(stream, "read1", stream.read)
        try:
            while (have := sum(map(len, chunks))) < size and (chunk := read(size - have)):
                chunks.append(chunk)
        except FILE_ERRORS as error:
            self.error = error
        self.head = b"".join(chunks)
        self.unread = memoryview(self.head)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self.unread:
            size = min(len(buffer), len(self.unread))
            buffer[:size] = self.unread[:size]
            self.unread = self.unread[size:]
            return size
        if self.error is not None:
            raise self.error
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class ZstdReader(io.RawIOBase):
    """A zstd stream, frame after frame, that raises EOFError when the input ends inside a
    frame. zstandard's `stream_reader` ends silently there, so a truncated file read as a
    shorter one, with its lost tail uncounted.
    """

    # Compressed bytes fed at a time: one zstd block of 4 bytes can inflate to 128 KB, so this
    # bounds what one read may hold (16 MB) even for a decompression bomb.
    FEED_BYTES = 512

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.decompressor = zstandard.ZstdDecompressor()
        self.frame = self.decompressor.decompressobj()
        self.in_frame = False
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self.pending:
            data = self.raw.read(self.FEED_BYTES)
            if not data:
                if self.in_frame:
                    raise EOFError("zstd stream ends inside a frame: the file is truncated")
                return 0
            self.pending = memoryview(self._decompress(data))
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            if self.frame.eof:  # concatenated frames, as `zstd` writes and reads them
                self.frame = self.decompressor.decompressobj()
            out.append(self.frame.decompress(data))
            data = self.frame.unused_data if self.frame.eof else b""
        self.in_frame = not self.frame.eof
        return b"".join(out)

    def close(self) -> None:
        self.raw.close()
        super().close()


def detect_format(path: str) -> str | None:
    """The format of a file from its name, or from its first bytes when the name has no
    extension (`part-00000`) or one that says little (`.xml`, `.dat`). A file with any other
    extension (`.csv.gz` is read, `.docx`, `.png`, `LICENSE.repo` are not) is None: it is
    reported as not read, never guessed into a document."""
    member = _own_name(path)
    if member.endswith(WARC_SUFFIXES):
        return "warc"
    if member.endswith(JSONL_SUFFIXES):
        return "jsonl"
    name = _name(path)
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".epub"):
        return "epub"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    if name.endswith(tuple(CSV_DELIMITERS)):
        return "csv"
    if unsupported_extension(path):
        return None
    try:
        with _open_bytes(path) as stream:
            head = stream.read(2048)
    except PermissionError:
        raise  # the file may be fine; the reader reports it as what it is
    except FILE_ERRORS:
        return None
    if sogou.looks_like_sogou(head):
        return "sogou"
    if wiki.looks_like_mediawiki(head):
        return "mediawiki"
    if name.endswith(TEXT_SUFFIXES):
        return "txt"
    if name.endswith(SNIFFED_SUFFIXES):
        return None
    if head.startswith(b"PAR1"):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"warc/", b"filedesc://")):
        return "warc"
    if stripped.startswith(b"{"):
        return "jsonl"
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta")):
        return "html"
    if b"\x00" in head:
        return None
    return "txt"


def unsupported_extension(path: str) -> str | None:
    """The extension of a file named as a format MDFS does not read (`.docx`, `.png`), or
    None: a known extension, or none at all (whose first bytes then tell the format)."""
    extension = os.path.splitext(_name(path).rsplit("/", 1)[-1])[1]
    known = (
        *WARC_SUFFIXES, *JSONL_SUFFIXES, *HTML_SUFFIXES, *TEXT_SUFFIXES, *CSV_DELIMITERS,
        *SNIFFED_SUFFIXES, ".parquet", ".epub",
    )  # fmt: skip
    return extension if extension and extension not in known else None


_BLANK_CHECK_BYTES = 1 << 20


def _holds_only_whitespace(path: str) -> bool:
    """True for a file whose (decompressed) content is blank: a gzip of nothing, blank lines."""
    try:
        with _open_bytes(path) as stream:
            while chunk := stream.read(1 << 16):
                if chunk.strip():
                    return False
    except FILE_ERRORS:
        return False  # the format's reader reports the damage
    return True


# Digests FastWARC can check; a record with another (or none) is read unchecked.
_VERIFIED_DIGESTS = ("sha1", "sha256", "sha512", "md5")
# HTTP headers are part of a WARC block; they rarely exceed this.
_HTTP_HEADER_ALLOWANCE = 65_536
_RESYNC_WINDOW = 1 << 20


def _next_warc_record(stream: IO[bytes], position: int, gzipped: bool) -> int | None:
    """Where the next WARC record starts at or after `position`: a ``WARC/1.`` line, or in a
    .warc.gz a gzip member whose text starts with one; None if there is none."""
    marker = b"\x1f\x8b\x08" if gzipped else b"\nWARC/1."
    while True:
        stream.seek(position)
        window = stream.read(_RESYNC_WINDOW)
        found = window.find(marker)
        while found != -1:
            start = position + found + (0 if gzipped else 1)
            if not gzipped or _member_holds_warc(stream, start):
                return start
            found = window.find(marker, found + 1)
        if len(window) < _RESYNC_WINDOW:
            return None
        position += len(window) - len(marker) + 1


def _warc_gzipped(path: str, stream: IO[bytes]) -> bool:
    # by name too: a damaged first member does not make the rest of a .warc.gz plain
    stream.seek(0)
    return stream.read(2) == b"\x1f\x8b" or _own_name(path).endswith(".gz")


def _member_holds_warc(stream: IO[bytes], start: int) -> bool:
    stream.seek(start)
    try:
        return zlib.decompressobj(31).decompress(stream.read(4096), 16).startswith(b"WARC/")
    except zlib.error:
        return False


class Reader:
    """Reads one input file at a time into documents.

    `max_document_bytes` bounds what one record may weigh; bigger ones are skipped and
    counted, because a 50 MB "page" is a dump or an attack, not an article.

    Every unreadable record is passed to `on_error`, which counts it; only the first
    `WARNINGS_PER_FILE` of a file are logged, then one line sums up the rest (a junk file
    would otherwise write a thousand warning lines).

    Ids are unique among the documents one reader yields: a repeated id (six JSONL records
    with one id, WARC records sharing a WARC-Record-ID) gets the suffix ``#2``, ``#3``, …
    in reading order, and keeps the original under ``meta["original_id"]``, so `review` and
    `duplicate_of` always name one document.

    A record of a table (JSONL, parquet, CSV) has its text in the field `text_field` and
    its id in `id_field`; every other field goes into the document's `meta` (a field `meta`
    that is a mapping, as in an MDFS corpus, is merged into it). When the first record of
    a file has no text field, the file is skipped with one line naming the fields it has:
    it is not shaped as the run expects, which a warning per record would only bury. A
    later record without it, in a file whose records have it, is one bad record.

    A file skipped as a whole (a format MDFS does not read, no text field, empty) is also
    listed in `skipped`, path → reason, for the report.
    """

    WARNINGS_PER_FILE = 5

    def __init__(
        self, on_error: OnError, max_document_bytes: int = 10_000_000,
        on_bytes: Callable[[int], None] | None = None, text_field: str = "text",
        id_field: str = "id",
    ) -> None:  # fmt: skip
        self.count_error = on_error
        self.max_document_bytes = max_document_bytes
        self.text_field = text_field
        self.id_field = id_field
        self.file_errors: Counter[str] = Counter()
        self.skipped: dict[str, str] = {}
        self.text_seen = False
        self.ids_seen: dict[str, int] = {}
        # told of input bytes read while a file is read (plain JSONL only), for progress
        self.on_bytes = on_bytes
        self.bytes_told = 0  # of the file being read

    def _tell(self, count: int) -> None:
        if self.on_bytes is not None and count:
            self.on_bytes(count)
            self.bytes_told += count

    def on_error(self, kind: str, message: str) -> None:
        self.count_error(kind, message)
        self.file_errors[kind] += 1
        if self.file_errors.total() <= self.WARNINGS_PER_FILE:
            log.warning("%s: %s", kind, message)

    def skip(self, path: str, kind: str, message: str) -> None:
        """Count a file that is not read (or not read to its end) as a whole."""
        self.on_error(kind, message)
        piece = Piece.parse(path)
        self.skipped[piece.path if piece else path] = message

    def read(self, path: str) -> Iterator[Document]:
        self.file_errors = Counter()
        self.bytes_told = 0
        self.text_seen = False  # in this file: whether a record had the text field
        try:
            for document in self._read_file(path):
                yield self._unique(document)
        finally:
            hidden = self.file_errors.total() - self.WARNINGS_PER_FILE
            if hidden > 0:
                kinds = ", ".join(f"{k} {n}" for k, n in self.file_errors.most_common())
                log.warning(
                    "%s: %d more unreadable records not shown (in all: %s)", path, hidden, kinds
                )

    def _read_file(self, path: str) -> Iterator[Document]:
        try:
            piece = Piece.parse(path)
            if piece is not None:  # a part of a big file (`split_large_inputs`)
                yield from getattr(self, f"_read_{piece.kind}")(piece)
                return
            fmt = detect_format(path)
            if fmt is None:
                extension = unsupported_extension(path)
                what = f"'{extension}' files are not" if extension else "not"
                self.skip(path, "unknown_format", f"{path}: {what} a format MDFS reads; skipped")
                return
            size = input_size(path)
            # a blank file is small (a gzip of nothing is 20 bytes): big ones are not read twice
            blank = size <= _BLANK_CHECK_BYTES and fmt not in ("parquet", "epub")
            if size == 0 or (blank and _holds_only_whitespace(path)):
                self.skip(path, "empty_file", f"{path}: empty file (or only whitespace)")
                return
            yield from getattr(self, f"_read_{fmt}")(path)
        except MissingTextField as missing:
            self.skip(path, "missing_text_field", str(missing))
        except PermissionError as error:
            self.skip(path, "permission_denied", f"{path}: {error.strerror or error}")
        except FILE_ERRORS as error:
            self.skip(path, "corrupt_file", f"{path}: {type(error).__name__}: {error}")

    def _unique(self, document: Document) -> Document:
        seen = self.ids_seen.get(document.id, 0)
        self.ids_seen[document.id] = seen + 1
        if not seen:
            return document
        number = seen + 1
        while f"{document.id}#{number}" in self.ids_seen:
            number += 1
        document.meta["original_id"] = document.id
        document.id = f"{document.id}#{number}"
        self.ids_seen[document.id] = 1
        return document

    def _too_large(self, path: str, what: str, size: int) -> bool:
        if size <= self.max_document_bytes:
            return False
        self.on_error(
            "document_too_large",
            f"{path}: {what} is {size:,} bytes, over max_document_bytes={self.max_document_bytes:,}",
        )
        return True

    def _decode(self, path: str, what: str, payload: bytes, declared: str | None) -> str | None:
        try:
            return decode_html(payload, declared)
        except DecodeError as error:
            self.on_error("undecodable", f"{path}: {what}: {error}")
            return None

    # -- formats -------------------------------------------------------------------------

    def _read_warc(self, path: str) -> Iterator[Document]:
        """WARC/WET records; a damaged one is counted and reading goes on after it.

        A record whose block does not match its WARC-Block-Digest (a wrong Content-Length
        that cut it short or swallowed the next record's header, flipped bytes) is counted as
        corrupt_record and dropped. After a record or stretch that cannot be parsed, reading
        resumes at the next record start found in the file (the next ``WARC/1.`` line, or the
        next gzip member that holds one), so the records after the damage are read and
        counted on their own.
        """
        if _own_name(path).endswith((".arc", ".arc.gz")):
            yield from self._read_arc(path)
            return
        yield from self._warc_range(path, 0, None)

    def _read_records(self, piece: Piece) -> Iterator[Document]:
        """The WARC records that start in one byte range of a big file (`split_large_inputs`)."""
        yield from self._warc_range(piece.path, piece.start, piece.end)

    def _warc_range(self, path: str, start: int, end: int | None) -> Iterator[Document]:
        """The records that start at byte `start` (a record start) or after, before `end`."""
        with open_input(path) as stream:
            gzipped = _warc_gzipped(path, stream)
            at: int | None = start
            damage: str | None = None  # an error seen, to count once its extent is known
            while at is not None:
                at, damage = yield from self._warc_records(path, stream, at, end, damage, gzipped)
            if damage is not None:
                self.on_error("corrupt_record", damage)

    def _warc_records(
        self, path: str, stream: IO[bytes], start: int, end: int | None, damage: str | None,
        gzipped: bool,
    ) -> Generator[Document, None, tuple[int | None, str | None]]:  # fmt: skip
        """Records from byte `start` on, until `end` or the end of the file (None) or the next
        place to resume."""
        # FastWARC (C++) parses and decompresses at 2-3x warcio's speed; only legacy ARC files,
        # which it cannot read, still go through warcio.
        from fastwarc.warc import ArchiveIterator, WarcRecordType

        wanted = WarcRecordType.response | WarcRecordType.conversion | WarcRecordType.resource

        def resume_after(position: int) -> int | None:
            found = _next_warc_record(stream, position + 1, gzipped)
            return None if found is None or (end is not None and found >= end) else found

        stream.seek(start)
        records = iter(ArchiveIterator(stream, parse_http=False))
        last = None  # where the last record parsed starts
        while True:
            try:
                record = next(records)
            except StopIteration:
                return None, damage
            except (ValueError, EOFError, zlib.error, OSError) as error:
                message = f"{path}: at byte {last or start}: {type(error).__name__}: {error}"
                if last is None:  # this very record is broken: count it, look past it
                    self.on_error("corrupt_record", damage or message)
                    return resume_after(start), None
                # after a good record: what is broken shows once reading resumes
                return resume_after(last), message
            if end is not None and record.stream_pos >= end:
                return None, damage  # the next piece's first record
            if damage is not None:  # junk between records, and this record is fine
                self.on_error("corrupt_record", damage)
                damage = None
            last = record.stream_pos  # in the file, wherever reading started
            if record.record_type & wanted:
                document, intact = self._fastwarc_document(path, record)
                if not intact:  # counted already; look for the next record from here
                    return resume_after(last), None
                if document is not None:
                    yield document

    def _fastwarc_document(self, path: str, record) -> tuple[Document | None, bool]:
        """The record as a document (or None, counted), and False when reading must resume by
        looking for the next record: its block is damaged, or too large to trust its length
        (a damaged Content-Length of 10**12 would otherwise skip every record after it)."""
        from fastwarc.warc import WarcRecordType

        kind = record.record_type
        headers = record.headers
        url = headers.get("WARC-Target-URI")
        record_id = headers.get("WARC-Record-ID") or f"{path}#{url}"
        date = headers.get("WARC-Date")
        declared = record.content_length  # the whole block, HTTP headers included
        if self._too_large(path, f"record {url}", declared - _HTTP_HEADER_ALLOWANCE):
            return None, False
        digest = (headers.get("WARC-Block-Digest") or "").split(":", 1)[0].lower()
        if digest in _VERIFIED_DIGESTS and not record.verify_block_digest(consume=False):
            if record.content_length < declared:  # the file ended inside this record
                self.on_error("truncated_record", f"{path}: {url}: record cut short")
                return None, True
            self.on_error(
                "corrupt_record",
                f"{path}: {url}: block does not match its WARC-Block-Digest "
                "(wrong Content-Length or damaged bytes)",
            )
            return None, False
        if record.is_http:
            record.parse_http()
            http = record.http_headers
            if kind == WarcRecordType.response and http.status_code not in (200, None):
                self.on_error("non_200_response", f"{path}: {url}: HTTP status not 200")
                return None, True  # the iterator skips the unread rest of the record
            content_type = http.get("Content-Type") or ""
        else:
            content_type = headers.get("Content-Type") or ""
        # with HTTP parsed, content_length is what is left after the HTTP headers: the payload
        if self._too_large(path, f"record {url}", record.content_length):
            return None, True
        payload = record.reader.read(self.max_document_bytes + 1)
        if self._too_large(path, f"record {url}", len(payload)):
            return None, True
        if len(payload) < record.content_length:  # the file ended inside this record
            self.on_error("truncated_record", f"{path}: {url}: record cut short")
            return None, True
        conversion = kind == WarcRecordType.conversion
        document = self._record_document(
            path, record_id, url, date, content_type, payload, conversion
        )
        return document, True

    def _read_arc(self, path: str) -> Iterator[Document]:
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed

        with open_input(path) as stream:
            # the ARC headers as written: arc2warc would give every record a random
            # WARC-Record-ID on each read and replace its content type with application/http
            records = ArchiveIterator(stream, arc2warc=False)
            while True:
                try:
                    record = next(records)
                    document = self._arc_document(path, record)
                except StopIteration:
                    return
                except (ArchiveLoadFailed, ValueError, EOFError, zlib.error, OSError) as error:
                    # warcio cannot resynchronise after a broken record: the rest is lost
                    self.on_error("corrupt_record", f"{path}: {type(error).__name__}: {error}")
                    return
                if document is not None:
                    yield document

    def _arc_document(self, path: str, record) -> Document | None:
        """One ARC record as a document. ARC records have no id of their own: a record is
        named by its file and URL (a repeated URL gets ``#2``, … as any repeated id)."""
        from warcio.timeutils import timestamp_to_iso_date

        if record.rec_type != "response":  # the file's own description (filedesc://)
            record.content_stream().read()
            return None
        headers = record.rec_headers
        url = headers.get_header("uri")
        date = timestamp_to_iso_date(headers.get_header("archive-date"))
        if record.http_headers is not None:
            if record.http_headers.get_statuscode() not in ("200", None):
                record.content_stream().read()
                self.on_error("non_200_response", f"{path}: {url}: HTTP status not 200")
                return None
            content_type = record.http_headers.get_header("Content-Type") or ""
        else:  # a record fetched without HTTP (ftp://, dns:): the type in its ARC header
            content_type = headers.get_header("content-type") or ""
        payload = record.content_stream().read(self.max_document_bytes + 1)
        declared_length = headers.get_header("length")
        if (
            declared_length
            and declared_length.isdigit()
            and self._too_large(path, f"record {url}", int(declared_length))
        ):
            record.content_stream().read()
            return None
        if self._too_large(path, f"record {url}", len(payload)):
            return None
        if getattr(record.raw_stream, "limit", 0):  # the file ended inside this record
            self.on_error("truncated_record", f"{path}: {url}: record cut short")
            return None
        return self._record_document(path, f"{path}#{url}", url, date, content_type, payload, False)

    def _record_document(
        self, path: str, record_id: str, url: str | None, date: str | None, content_type: str,
        payload: bytes, conversion: bool,
    ) -> Document | None:  # fmt: skip
        """A WARC/ARC record's payload as a document, whichever library parsed the record."""
        mime, charset = _parse_content_type(content_type)
        if conversion or mime == "text/plain":
            fmt = "text"
        elif mime in HTML_TYPES or (not mime and payload.lstrip()[:1] == b"<"):
            fmt = "html"
        else:
            self.on_error("non_html_payload", f"{path}: {url}: {mime or 'unknown type'}")
            return None
        text = self._decode(path, f"record {url}", payload, charset)
        if text is None:
            return None
        return Document(
            id=record_id, text=text, source=path, url=url, meta={"format": fmt, "date": date}
        )

    def _read_jsonl(self, path: str) -> Iterator[Document]:
        if _compressed(path):
            with _open_bytes(path) as stream:
                yield from self._jsonl_documents(path, stream)
        else:  # read as one byte range, as a piece of it would be, telling its bytes read
            yield from self._read_bytes(Piece(path, "bytes", 0, input_size(path), 1))

    def _read_bytes(self, piece: Piece) -> Iterator[Document]:
        """The lines of a plain JSONL file from one line start to another (`split_large_inputs`),
        numbered as in the file."""
        with open_input(piece.path) as raw:
            if piece.start:
                raw.seek(piece.start)
            stream = _ByteRange(raw, piece.end - piece.start, self._tell)
            yield from self._jsonl_documents(piece.path, stream, piece.first)

    def _jsonl_documents(self, path: str, stream: IO[bytes], first: int = 1) -> Iterator[Document]:
        """The documents of JSON lines read from `stream`, whose first line is line `first`
        of the file at `path`."""
        number = first - 1
        self.jsonl_encoding: str | None = None
        try:
            for count, line, size in bounded_lines(stream, self.max_document_bytes):
                number = first - 1 + count
                if line is None:
                    self._too_large(path, f"line {number}", size)
                    continue
                if number == 1:
                    line = line.removeprefix(codecs.BOM_UTF8)
                if not line.strip():
                    continue
                document = self._json_document(path, number, line)
                if document is not None:
                    yield document
        except (
            EOFError,
            zlib.error,
            zstandard.ZstdError,
            gzip.BadGzipFile,
            lzma.LZMAError,
        ) as error:
            # the lines after the damage cannot be read, and how many there were is unknown
            self.on_error(
                "corrupt_file",
                f"{path}: {type(error).__name__}: {error}; lost everything after line {number}",
            )

    def _json_document(self, path: str, number: int, line: bytes) -> Document | None:
        where = f"{path}:{number}"
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            record = self._json_in_other_encoding(line)
            if record is None:
                self.on_error("bad_json", f"{where}: {error}")
                return None
        if not isinstance(record, dict):
            self.on_error("bad_record", f"{where}: not a JSON object")
            return None
        return self._table_document(record, path, number, "record")

    def _table_document(self, record: dict, path: str, number: int, unit: str) -> Document | None:
        """A JSONL, parquet or CSV record as a document: its text and id from the fields the
        run names, every other field into `meta`."""
        text = record.get(self.text_field)
        if self.text_field not in record:
            if not self.text_seen:
                raise MissingTextField(path, self.text_field, f"{unit} {number}", list(record))
            self.on_error("bad_record", f"{path}: {unit} {number}: no field '{self.text_field}'")
            return None
        self.text_seen = True
        if not isinstance(text, str):
            kind = type(text).__name__
            self.on_error("bad_record", f"{path}: {unit} {number}: '{self.text_field}' is {kind}")
            return None
        fields = dict(record)
        del fields[self.text_field]
        record_id = fields.pop(self.id_field, None)
        url = fields.get("url")
        if isinstance(url, str) or url is None:
            fields.pop("url", None)
            if url is not None and not url.strip():
                url = None  # an empty CSV cell, or "" in a record, is no URL
        carried = fields.pop("meta", None)
        meta = {**carried} if isinstance(carried, dict) else {}
        if carried is not None and not isinstance(carried, dict):
            fields["meta"] = carried
        meta.update(fields)
        meta["format"] = "text"
        info = meta.get("info")
        if isinstance(info, dict):  # ChineseWebText's layout: {"text", "info": {url, title}}
            if url is None and isinstance(info.get("url"), str):
                url = info["url"]
            if isinstance(info.get("title"), str):
                meta.setdefault("title", info["title"])
        return Document(
            id=str(record_id) if record_id not in (None, "") else f"{path}#{number}",
            text=text,
            source=path,
            url=url if isinstance(url, str) else None,
            meta=meta,
        )

    def _json_in_other_encoding(self, line: bytes) -> object | None:
        """A JSON line that is not UTF-8 (a GBK dump), decoded as a page is; None if it is
        UTF-8 and simply not JSON, or no encoding makes it JSON. The encoding found for one
        line is tried first for the next (`jsonl_encoding`, set per file)."""
        try:
            line.decode("utf-8")
            return None
        except UnicodeDecodeError:
            pass
        try:
            text, self.jsonl_encoding = decode_with_encoding(line, self.jsonl_encoding)
            return orjson.loads(text)
        except (DecodeError, orjson.JSONDecodeError):
            return None

    def _read_row_groups(self, piece: Piece) -> Iterator[Document]:
        yield from self._read_parquet(piece.path, range(piece.start, piece.end), piece.first)

    def _read_parquet(
        self, path: str, row_groups: range | None = None, first: int = 1
    ) -> Iterator[Document]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(open_input(path) if is_url(path) else path)
        except (pa.ArrowException, OSError) as error:
            self.on_error("corrupt_file", f"{path}: {error}")
            return
        names = table.schema_arrow.names
        if self.text_field not in names:
            raise MissingTextField(path, self.text_field, "its schema", names, "column")
        number = first - 1
        try:
            for batch in table.iter_batches(batch_size=1024, row_groups=row_groups):
                for record in _parquet_rows(batch):
                    number += 1
                    if record is None:
                        self.on_error("bad_record", f"{path}: row {number}: not valid UTF-8")
                        continue
                    text = record.get(self.text_field)
                    if isinstance(text, str) and self._too_large(path, f"row {number}", len(text)):
                        continue
                    document = self._table_document(_json_safe(record), path, number, "row")
                    if document is not None:
                        yield document
        except (pa.ArrowException, OSError) as error:
            self.on_error("corrupt_file", f"{path}: {error}")

    def _read_csv(self, path: str) -> Iterator[Document]:
        """A CSV (or .tsv) table with a header row, one document per row."""
        delimiter = CSV_DELIMITERS[os.path.splitext(_name(path))[1]]
        # a whole document may sit in one cell; the limit is global, so it is only raised
        csv.field_size_limit(max(csv.field_size_limit(), self.max_document_bytes))
        with _open_bytes(path) as raw:
            ahead = _ReadAhead(raw, TABLE_HEAD_BYTES)
            encoding = _table_encoding(ahead.head)
            whole = io.BufferedReader(ahead)
            stream = io.TextIOWrapper(whole, encoding=encoding, errors="replace", newline="")
            rows = csv.reader(stream, delimiter=delimiter)
            number = 0
            try:
                header = next(rows, None) or []
                if self.text_field not in header:
                    raise MissingTextField(path, self.text_field, "its header", header, "column")
                for number, row in enumerate(rows, start=1):
                    if len(row) != len(header):
                        self.on_error(
                            "bad_record",
                            f"{path}: row {number}: {len(row)} cells under {len(header)} columns",
                        )
                        continue
                    document = self._table_document(
                        dict(zip(header, row, strict=True)), path, number, "row"
                    )
                    if document is not None:
                        yield document
            except csv.Error as error:  # a cell over the size limit, a NUL byte
                self.on_error(
                    "corrupt_file", f"{path}: {error}; lost everything after row {number}"
                )

    def _read_html(self, path: str) -> Iterator[Document]:
        yield from self._read_whole(path, "html")

    def _read_txt(self, path: str) -> Iterator[Document]:
        yield from self._read_whole(path, "text")

    def _read_sogou(self, path: str) -> Iterator[Document]:
        with _open_bytes(path) as stream:
            yield from sogou.read_sogou(stream, path, self.on_error, self.max_document_bytes)

    def _read_mediawiki(self, path: str) -> Iterator[Document]:
        with _open_bytes(path) as stream:
            yield from wiki.read_mediawiki(stream, path, self.on_error)

    def _read_epub(self, path: str) -> Iterator[Document]:
        if self._too_large(path, "file", input_size(path)):
            return
        with open_input(path) as stream:
            # EPUB is a zip: it needs seeking, so a remote book is read into memory first
            yield from books.read_epub(io.BytesIO(stream.read()), path, self.on_error)

    def _read_whole(self, path: str, fmt: str) -> Iterator[Document]:
        if self._too_large(path, "file", input_size(path)):
            return
        with _open_bytes(path) as stream:
            payload = stream.read(self.max_document_bytes + 1)
        if self._too_large(path, "file", len(payload)):
            return
        text = self._decode(path, "file", payload, None)
        if text is None:
            return
        if fmt == "text" and text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
            fmt = "html"  # a saved page with the wrong extension
        if fmt == "html":
            yield Document(id=path, text=text, source=path, url=None, meta={"format": fmt})
        else:
            yield from books.book_documents(path, text, {"format": fmt})


LINE_CHUNK_BYTES = 1 << 20


def bounded_lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(number, line, size) for each line of `stream`, without its newline; a line over `limit`
    bytes comes as None with its size, and is never held whole: memory stays under
    `limit` + `LINE_CHUNK_BYTES` whatever the file holds (one 1 GiB line in a 1 MB gzip).
    """
    pending = bytearray()
    dropped = 0  # bytes of an over-long line already let go
    number = 0
    while chunk := stream.read(LINE_CHUNK_BYTES):
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end == -1 else chunk[start:end]
            if dropped or len(pending) + len(piece) > limit:
                dropped += len(pending) + len(piece)
                pending.clear()
            else:
                pending += piece
            if end == -1:
                break
            number += 1
            yield number, None if dropped else bytes(pending), dropped or len(pending)
            pending.clear()
            dropped = 0
            start = end + 1
    if pending or dropped:
        yield number + 1, None if dropped else bytes(pending), dropped or len(pending)


class _ByteRange(io.RawIOBase):
    """The next `length` bytes of `raw`, telling `on_read` how many each read returned."""

    def __init__(self, raw: IO[bytes], length: int, on_read: Callable[[int], None]) -> None:
        self.raw = raw
        self.left = length
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.raw.read(min(len(buffer), self.left))
        buffer[: len(data)] = data
        self.left -= len(data)
        self.on_read(len(data))
        return len(data)


def _parquet_rows(batch) -> Iterator[dict | None]:
    """The rows of a parquet batch; None for a row whose strings are not valid UTF-8 (a
    damaged file: pyarrow raises for the whole batch, so its rows are then taken one by one)."""
    try:
        yield from batch.to_pylist()
        return
    except UnicodeDecodeError:
        pass
    for index in range(batch.num_rows):
        try:
            yield batch.slice(index, 1).to_pylist()[0]
        except UnicodeDecodeError:
            yield None


class MissingTextField(Exception):
    """A table whose records do not have the text field the run reads: its file stops."""

    def __init__(
        self, path: str, field: str, where: str, found: list[str], unit: str = "field"
    ) -> None:  # fmt: skip
        shown = ", ".join(found[:20]) + (", …" if len(found) > 20 else "") or "none"
        super().__init__(
            f"{path}: no {unit} {field!r} in {where}; {unit}s found: {shown}; "
            "use --text-field (or collect.text_field in the recipe); file skipped"
        )


_JSON_TYPES = (str, int, float, bool, type(None))


def _json_safe(record: dict) -> dict:
    """A parquet row with its values as JSON has them (a date as ISO text, a decimal as
    text, a list of structs as a list of mappings), so that they can go into `meta` and out
    to the corpus. Strings and numbers, most of a row, are taken as they are."""
    return {
        key: value if isinstance(value, _JSON_TYPES) else _json_value(value)
        for key, value in record.items()
    }


def _json_value(value: object) -> object:
    if isinstance(value, datetime.date | datetime.time):  # a datetime is a date too
        return value.isoformat()
    return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))


# How much of a CSV decides its encoding: a GBK table may open with ASCII headers and numbers.
TABLE_HEAD_BYTES = 1 << 16


def _table_encoding(head: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), or GB18030 when the first bytes are not
    UTF-8: Chinese tables saved from Excel often are GBK."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not merely a character cut at the end of the head
            return "gb18030"
    return "utf-8-sig"


def _parse_content_type(value: str) -> tuple[str, str | None]:
    message = Message()
    message["content-type"] = value
    mime = message.get_content_type() if value else ""
    charset = message.get_param("charset")
    return mime.lower(), charset if isinstance(charset, str) else None


@dataclass(frozen=True)
class Piece:
    """A part of one big input file that a shard reads alone: JSONL lines from byte `start`
    (a line start) to `end`, WARC records that start from byte `start` (a record start) to
    `end`, or parquet row groups `start` to `end`. `first` is the number of its first line
    or row in the file, so ids and messages are those of reading it whole (0 for records,
    whose ids are their own). Written into the run's shard plan as
    `PATH#KIND=START-END:FIRST`."""

    path: str
    kind: str  # bytes | records | row_groups
    start: int
    end: int
    first: int

    PATTERN = re.compile(
        r"^(?P<path>.+)#(?P<kind>bytes|records|row_groups)=(?P<start>\d+)-(?P<end>\d+):(?P<first>\d+)$"
    )

    def __str__(self) -> str:
        return f"{self.path}#{self.kind}={self.start}-{self.end}:{self.first}"

    @classmethod
    def parse(cls, entry: str) -> Piece | None:
        match = cls.PATTERN.match(entry) if "#" in entry else None
        if match is None:
            return None
        numbers = (int(match[k]) for k in ("start", "end", "first"))
        return cls(match["path"], match["kind"], *numbers)

    def size(self) -> int:
        if self.kind in ("bytes", "records"):
            return self.end - self.start
        import pyarrow.parquet as pq

        metadata = pq.ParquetFile(open_input(self.path)).metadata
        groups = range(self.start, self.end)
        return sum(metadata.row_group(i).total_byte_size for i in groups)


def split_large_inputs(files: list[str], max_bytes: int) -> list[str]:
    """Files bigger than `max_bytes` as several pieces, so that several processes read them:
    plain JSONL by byte ranges cut at line starts, WARC by byte ranges cut at record starts
    (a .warc.gz whose records are gzip members, as Common Crawl writes them), parquet by row
    groups. Others stay whole, and a log line says why."""
    entries: list[str] = []
    for path in files:
        size = input_bytes(path)
        if size <= max_bytes or _is_member(path):
            entries.append(path)
            continue
        fmt = detect_format(path)
        why = None
        if fmt == "jsonl" and not _compressed(path):
            pieces = _jsonl_pieces(path, size, max_bytes)
        elif fmt == "parquet":
            pieces = _parquet_pieces(path, max_bytes)
        elif fmt == "warc" and not path.lower().endswith((".arc", ".arc.gz")):
            pieces = _warc_pieces(path, size, max_bytes)
            if len(pieces) == 1:
                why = "no record starts found to cut at (one gzip stream, not one per record?)"
        elif fmt == "jsonl":
            why = "compressed JSONL cannot be read from the middle"
        else:
            why = f"{fmt or 'its'} format is not cut into pieces"
        if why is not None:
            log.info("%s: %s MB read whole by one process: %s", path, f"{size / 1e6:,.1f}", why)
            entries.append(path)
            continue
        log.info("%s: %s MB split into %d shards", path, f"{size / 1e6:,.1f}", len(pieces))
        entries.extend(str(piece) for piece in pieces)
    return entries


def _compressed(path: str) -> bool:
    with open_input(path) as raw:
        magic = raw.read(4)
    return (
        magic[:2] == b"\x1f\x8b"
        or magic in (b"\x28\xb5\x2f\xfd", b"\xfd7zX")
        or (magic[:3] == b"BZh")
    )


def _jsonl_pieces(path: str, size: int, max_bytes: int) -> list[Piece]:
    """Byte ranges of about `max_bytes`, each starting at a line start; one pass over the file
    counts the lines before each, for the line numbers that ids and messages use."""
    count = -(-size // max_bytes)
    targets = [size * i // count for i in range(1, count)]
    starts, firsts = [0], [1]
    position = lines = 0  # bytes and lines before the chunk
    with open_input(path) as raw:
        while targets and (chunk := raw.read(1 << 22)):
            while targets:
                # the first line start at or after the target follows a newline at target - 1
                newline = chunk.find(b"\n", max(targets[0] - 1 - position, 0))
                if newline < 0:
                    break
                start = position + newline + 1
                if start < size:
                    starts.append(start)
                    firsts.append(lines + chunk.count(b"\n", 0, newline + 1) + 1)
                targets = [t for t in targets if t > start]
            lines += chunk.count(b"\n")
            position += len(chunk)
    ends = [*starts[1:], size]
    return [Piece(path, "bytes", s, e, f) for s, e, f in zip(starts, ends, firsts, strict=True)]


def _warc_pieces(path: str, size: int, max_bytes: int) -> list[Piece]:
    """Byte ranges of about `max_bytes`, each starting at a record: in a .warc.gz the next
    gzip member that holds a WARC record (as the reader resumes after damage); in a plain
    WARC the records' own offsets, since a payload may hold a line that reads ``WARC/1.``."""
    count = -(-size // max_bytes)
    targets = [size * i // count for i in range(1, count)]
    starts = [0]
    with open_input(path) as stream:
        if _warc_gzipped(path, stream):
            for target in targets:
                found = _next_warc_record(stream, max(target, starts[-1] + 1), True)
                if found is None:
                    break
                starts.append(found)
        else:
            for offset in _warc_record_offsets(stream):
                if not targets:
                    break
                if offset >= targets[0]:
                    starts.append(offset)
                    targets = [t for t in targets if t > offset]
    starts = [s for s in starts if s < size]
    ends = [*starts[1:], size]
    return [Piece(path, "records", s, e, 0) for s, e in zip(starts, ends, strict=True)]


def _warc_record_offsets(stream: IO[bytes]) -> Iterator[int]:
    """Where the records of a plain WARC start, past damage as the reader goes past it."""
    from fastwarc.warc import ArchiveIterator

    position: int | None = 0
    while position is not None:
        stream.seek(position)
        try:
            for record in ArchiveIterator(stream, parse_http=False):
                position = record.stream_pos
                yield position
            return
        except (ValueError, EOFError, OSError):
            position = _next_warc_record(stream, position + 1, False)


def _parquet_pieces(path: str, max_bytes: int) -> list[Piece]:
    import pyarrow.parquet as pq

    with open_input(path) as raw:
        metadata = pq.ParquetFile(raw).metadata
    pieces: list[Piece] = []
    start, first, rows, size = 0, 1, 0, 0
    for group in range(metadata.num_row_groups):
        size += metadata.row_group(group).total_byte_size
        rows += metadata.row_group(group).num_rows
        if size >= max_bytes or group == metadata.num_row_groups - 1:
            pieces.append(Piece(path, "row_groups", start, group + 1, first))
            start, first, size = group + 1, rows + 1, 0
    return pieces


def shard_inputs(files: list[str], max_bytes: int, max_files: int) -> list[list[str]]:
    """Group files into shards: a big file alone, small files together up to the limits."""
    shards: list[list[str]] = []
    current: list[str] = []
    size = 0
    for path in files:
        file_size = input_bytes(path)
        if current and (size + file_size > max_bytes or len(current) >= max_files):
            shards.append(current)
            current, size = [], 0
        current.append(path)
        size += file_size
    if current:
        shards.append(current)
    return shards
