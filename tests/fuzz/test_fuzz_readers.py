"""Fuzzing every reader and decoder with damaged real inputs (hypothesis).

Seeds are the real pages and their human-marked main text in tests/fixtures/pages, as WARC
(plain, gzip, WET), JSONL (plain, gzip, zstd), parquet, txt, HTML in UTF-8, GBK, Big5 and
UTF-16, and the shipped recipes. Properties, for every damaged input:
- no exception escapes, and nothing hangs (an alarm fails an example after 60 s);
- every record is read or counted: a file yields documents or errors, never nothing, and a
  JSONL file counts each non-blank line exactly once;
- good records mixed with damaged ones all come through, unchanged;
- memory stays bounded: an endless line costs max_document_bytes plus a constant;
- a flipped byte in a UTF-8 page costs at most that character.

The default run tries a few dozen examples per property; `pytest -m slow tests/fuzz` runs
10,000 per reader (see `LONG`).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import signal
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import opencc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdfs.collect.encoding import DecodeError, decode_html
from mdfs.collect.readers import LINE_CHUNK_BYTES, Reader
from mdfs.errors import UserError
from mdfs.recipe import load_recipe
from tests.collect.test_encoding import lost_characters
from tests.conftest import FIXTURES, REPO
from tests.core.warc_util import write_warc
from tests.fuzz.mutations import damaged

SHORT = 25  # examples per property in the default test run
LONG = 10_000  # examples per property with -m slow
MAX_DOCUMENT_BYTES = 50_000  # small, so that damage can cross it
HANG_SECONDS = 60

PEOPLE = (FIXTURES / "pages" / "people_health.html").read_bytes()
NETEASE = (FIXTURES / "pages" / "163_dy.html").read_bytes()[:30_000]  # cut in a tag: still a page
GOLD = [
    paragraph
    for name in ("people_health.gold.txt", "163_dy.gold.txt")
    for paragraph in (FIXTURES / "pages" / name).read_text(encoding="utf-8").split("\n")
    if paragraph.strip()
]


def fuzz(strategy: st.SearchStrategy, examples: int) -> Callable:
    """`check(workdir, sample)` as a hypothesis test over `strategy` with `examples` examples."""

    def decorate(check: Callable) -> Callable:
        test = given(sample=strategy)(check)
        return settings(
            max_examples=examples, deadline=None, database=None, derandomize=examples == SHORT,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                   HealthCheck.function_scoped_fixture],
        )(test)  # fmt: skip

    return decorate


# name -> (strategy, check), for `scripts/fuzz_readers.py` to run at any length
PROPERTIES: dict[str, tuple[st.SearchStrategy, Callable]] = {}


def both(name: str, strategy: st.SearchStrategy, check: Callable) -> tuple[Callable, Callable]:
    """A short test for the default run and a long one for -m slow, of one property."""
    PROPERTIES[name] = (strategy, check)
    return fuzz(strategy, SHORT)(check), pytest.mark.slow(fuzz(strategy, LONG)(check))


@contextlib.contextmanager
def no_hang() -> Iterator[None]:
    def hung(signum, frame):
        raise TimeoutError(f"a reader took over {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read(workdir: Path, name: str, data: bytes) -> tuple[list, Counter]:
    path = workdir / name
    path.write_bytes(data)
    errors: Counter[str] = Counter()
    reader = Reader(lambda kind, message: errors.update([kind]), MAX_DOCUMENT_BYTES)
    with no_hang():
        documents = list(reader.read(str(path)))
    return documents, errors


def is_subsequence(wanted: list, found: list) -> bool:
    remaining = iter(found)
    return all(any(item == seen for seen in remaining) for item in wanted)


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# -- JSONL: damaged lines among good ones, in every container ----------------------------

RECORDS = [
    json.dumps({"id": f"g{i}", "text": t}, ensure_ascii=False).encode() for i, t in enumerate(GOLD)
]


@st.composite
def jsonl_files(draw: st.DrawFn) -> tuple[str, list[bytes], list[bool]]:
    lines, is_damaged = [], []
    for record in RECORDS:
        hit = draw(st.integers(0, 3)) == 0
        line = draw(damaged(record, huge=2 * MAX_DOCUMENT_BYTES, cut=False)) if hit else record
        if hit and draw(st.booleans()):  # another encoding, as in mixed dumps
            line = line.decode("utf-8", "replace").encode(
                draw(st.sampled_from(["gb18030", "big5"])), "replace"
            )
        lines.append(line.replace(b"\n", b" "))
        is_damaged.append(hit)
    return draw(st.sampled_from(["a.jsonl", "a.jsonl.gz", "a.jsonl.zst"])), lines, is_damaged


def compress(name: str, data: bytes) -> bytes:
    if name.endswith(".gz"):
        return gzip.compress(data, mtime=0)
    if name.endswith(".zst"):
        return zstandard.ZstdCompressor().compress(data)
    return data


def check_jsonl_lines(workdir: Path, sample: tuple[str, list[bytes], list[bool]]) -> None:
    name, lines, is_damaged = sample
    endless = any(len(line) > MAX_DOCUMENT_BYTES for line in lines)
    if endless:  # measured only then: tracemalloc makes reading several times slower
        tracemalloc.start()
    try:
        documents, errors = read(workdir, name, compress(name, b"\n".join(lines) + b"\n"))
        peak = tracemalloc.get_traced_memory()[1] if endless else 0
    finally:
        tracemalloc.stop()
    good = [
        json.loads(line)["text"] for line, hit in zip(lines, is_damaged, strict=True) if not hit
    ]
    assert is_subsequence(good, [d.text for d in documents])
    first = lines[0].removeprefix(b"\xef\xbb\xbf")
    records = sum(1 for line in [first, *lines[1:]] if line.strip())
    if records:
        assert len(documents) + errors.total() == records, errors
    else:
        assert errors == Counter({"empty_file": 1})
    # a line over the limit is never held whole (zstd may inflate 16 MB in one step)
    assert peak < 3 * MAX_DOCUMENT_BYTES + 4 * LINE_CHUNK_BYTES + 20_000_000


test_jsonl_damaged_lines, test_jsonl_damaged_lines_many = both(
    "jsonl_damaged_lines", jsonl_files(), check_jsonl_lines
)


@st.composite
def damaged_jsonl_files(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(["a.jsonl", "a.jsonl.gz", "a.jsonl.zst"]))
    whole = compress(name, b"\n".join(RECORDS) + b"\n")
    return name, draw(damaged(whole, huge=2 * MAX_DOCUMENT_BYTES))


def check_damaged_file(workdir: Path, sample: tuple[str, bytes]) -> None:
    name, data = sample
    documents, errors = read(workdir, name, data)
    assert documents or errors  # every file is read or counted
    assert all(len(d.text.encode()) <= MAX_DOCUMENT_BYTES * 4 for d in documents)


test_jsonl_damaged_file, test_jsonl_damaged_file_many = both(
    "jsonl_damaged_file", damaged_jsonl_files(), check_damaged_file
)


# -- WARC / WET --------------------------------------------------------------------------

WARC_PAGES = [
    ("http://health.people.com.cn/a.html", PEOPLE, "text/html"),
    ("http://www.163.com/b.html", NETEASE, "text/html; charset=utf-8"),
    ("http://gbk.example.cn/c.html", PEOPLE.decode().replace("GB2312", "gbk").encode("gb18030"), "text/html; charset=GBK"),
    ("http://example.cn/d.html", PEOPLE, "text/html"),
]  # fmt: skip


def warc_seed(workdir: Path, name: str) -> tuple[bytes, list[int]]:
    """A WARC of the pages and where each of its records starts."""
    from fastwarc.warc import ArchiveIterator

    data = write_warc(workdir / name, WARC_PAGES, gzip=name.endswith(".gz")).read_bytes()
    starts = [r.stream_pos for r in ArchiveIterator(io.BytesIO(data), parse_http=False)]
    return data, [*starts, len(data)]


def wet_seed() -> bytes:
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False)
    for i, text in enumerate(GOLD):
        writer.write_record(writer.create_warc_record(
            f"http://example.cn/{i}", "conversion", payload=io.BytesIO(text.encode()),
            warc_content_type="text/plain",
        ))  # fmt: skip
    return out.getvalue()


_SEEDS: dict[str, tuple[bytes, list[int]]] = {}


def seed(workdir: Path, name: str) -> tuple[bytes, list[int]]:
    if name not in _SEEDS:
        _SEEDS[name] = warc_seed(workdir, name)
    return _SEEDS[name]


@st.composite
def warc_with_one_damaged_record(draw: st.DrawFn) -> tuple[str, int, st.DataObject]:
    name = draw(st.sampled_from(["a.warc", "a.warc.gz"]))
    return name, draw(st.integers(0, 8)), draw(st.data())


def check_warc_one_damaged_record(workdir: Path, sample) -> None:
    name, record, data = sample
    whole, starts = seed(workdir, name)
    start, end = starts[record], starts[record + 1]
    broken = data.draw(damaged(whole[start:end], huge=2 * MAX_DOCUMENT_BYTES, cut=False))
    documents, errors = read(workdir, "in-" + name, whole[:start] + broken + whole[end:])
    # records: warcinfo, then (request, response) per page; responses are 2, 4, 6, 8
    good = [WARC_PAGES[i][0] for i in range(len(WARC_PAGES)) if 2 * (i + 1) != record]
    found = {d.url: d.text for d in documents}
    for url in good:
        assert url in found, (url, errors)
    assert documents or errors


test_warc_one_damaged_record, test_warc_one_damaged_record_many = both(
    "warc_one_damaged_record", warc_with_one_damaged_record(), check_warc_one_damaged_record
)


@st.composite
def damaged_warc_files(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(["a.warc", "a.warc.gz", "a.wet"]))
    whole = wet_seed() if name == "a.wet" else write_warc_bytes(name)
    return name, draw(damaged(whole, huge=2 * MAX_DOCUMENT_BYTES))


_WHOLE: dict[str, bytes] = {}


def write_warc_bytes(name: str) -> bytes:
    if name not in _WHOLE:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            _WHOLE[name] = write_warc(
                Path(folder) / name, WARC_PAGES, gzip=name.endswith(".gz")
            ).read_bytes()
    return _WHOLE[name]


test_warc_damaged_file, test_warc_damaged_file_many = both(
    "warc_damaged_file", damaged_warc_files(), check_damaged_file
)


# -- parquet, txt, HTML in every charset -------------------------------------------------


def parquet_seed() -> bytes:
    out = io.BytesIO()
    table = pa.table({"id": [f"p{i}" for i in range(len(GOLD))], "text": GOLD})
    pq.write_table(table, out, row_group_size=4)
    return out.getvalue()


PARQUET = parquet_seed()
test_parquet_damaged, test_parquet_damaged_many = both(
    "parquet_damaged", damaged(PARQUET).map(lambda data: ("a.parquet", data)), check_damaged_file
)

BIG5 = (
    opencc.OpenCC("s2t")
    .convert(PEOPLE.decode())
    .replace("GB2312", "big5")
    .encode("big5", "replace")
)
PAGES_BY_CHARSET = {
    "utf-8": PEOPLE,
    "gbk": PEOPLE.decode().replace("GB2312", "gbk").encode("gb18030"),
    "big5": BIG5,
    "utf-16": PEOPLE.decode().encode("utf-16"),
    "none": PEOPLE.decode().replace("charset=GB2312", "").encode("gb18030"),
}


@st.composite
def damaged_pages(draw: st.DrawFn) -> tuple[str, bytes]:
    charset = draw(st.sampled_from(sorted(PAGES_BY_CHARSET)))
    name = draw(st.sampled_from(["a.html", "a.txt", "a"]))
    return name, draw(damaged(PAGES_BY_CHARSET[charset], huge=2 * MAX_DOCUMENT_BYTES))


def check_damaged_page(workdir: Path, sample: tuple[str, bytes]) -> None:
    name, data = sample
    documents, errors = read(workdir, name, data)
    assert len(documents) + errors.total() == 1  # one file, one record: read or counted


test_page_damaged, test_page_damaged_many = both(
    "page_damaged", damaged_pages(), check_damaged_page
)


@st.composite
def flipped_utf8_pages(draw: st.DrawFn) -> tuple[bytes, bytes]:
    page = draw(st.sampled_from([PEOPLE, NETEASE]))
    data = bytearray(page)
    at = draw(st.integers(0, len(data) - 1))
    data[at] = (
        draw(st.integers(0, 255))
        if draw(st.booleans())
        else data[at] ^ (1 << draw(st.integers(0, 7)))
    )
    return page, bytes(data)


def check_flipped_utf8_page(workdir: Path, sample: tuple[bytes, bytes]) -> None:
    page, data = sample
    with no_hang():
        lost, standing = lost_characters(decode_html(page), decode_html(data))
    assert lost <= 1 and len(standing) <= 2


test_utf8_flip, test_utf8_flip_many = both(
    "utf8_flip", flipped_utf8_pages(), check_flipped_utf8_page
)


def check_decoder(workdir: Path, sample: tuple[str, bytes]) -> None:
    _, data = sample
    with no_hang(), contextlib.suppress(DecodeError):
        assert isinstance(decode_html(data, declared="gbk"), str)


test_decoder_declared, test_decoder_declared_many = both(
    "decoder_declared", damaged_pages(), check_decoder
)


# -- recipes -----------------------------------------------------------------------------

RECIPES = sorted((REPO / "src" / "mdfs" / "recipes").glob("*.yaml"))


@st.composite
def damaged_recipes(draw: st.DrawFn) -> bytes:
    return draw(damaged(draw(st.sampled_from(RECIPES)).read_bytes(), huge=1000))


def check_recipe(workdir: Path, sample: bytes) -> None:
    path = workdir / "recipe.yaml"
    path.write_bytes(sample)
    with no_hang(), contextlib.suppress(UserError):  # a one-line error, or a recipe
        load_recipe(path)


test_recipe_damaged, test_recipe_damaged_many = both(
    "recipe_damaged", damaged_recipes(), check_recipe
)
