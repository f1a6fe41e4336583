"""Each input format read in this process, on small real files built here: the documents,
ids, URLs and metadata a user gets, and every skip with the kind and message the report
shows. The formats' paths also run inside worker processes in the end-to-end tests; here
they run where a failure names the line at fault."""

from __future__ import annotations

import gzip
import io
import itertools
import logging
import os
import re
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from mdfs.collect.readers import (
    Piece,
    Reader,
    detect_format,
    expand_inputs,
    split_large_inputs,
    unsupported_extension,
)
from mdfs.document import Document
from mdfs.storage import RUN_MARKER
from tests.conftest import FIXTURES, refuse_opening_under
from tests.core.warc_util import write_warc

PEOPLE = (FIXTURES / "pages" / "people_health.html").read_bytes()  # 16.7 KB, UTF-8
NETEASE = (FIXTURES / "pages" / "163_dy.html").read_bytes()  # 98 KB, UTF-8
SHORT_PAGE = "<html><body><p>国务院新闻办公室今天举行发布会。</p></body></html>".encode()


class Collected:
    """A reader and everything it reported, in order."""

    def __init__(self, **kwargs) -> None:
        self.errors: list[tuple[str, str]] = []
        self.reader = Reader(lambda kind, message: self.errors.append((kind, message)), **kwargs)

    def read(self, path: Path | str) -> list[Document]:
        return list(self.reader.read(str(path)))


def read(path: Path | str, **kwargs) -> tuple[list[Document], list[tuple[str, str]]]:
    collected = Collected(**kwargs)
    return collected.read(path), collected.errors


# -- CSV and TSV -----------------------------------------------------------------------------


def test_csv_rows_become_documents_with_their_other_columns_as_meta(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_text(
        "id,text,url,channel\n"
        'n1,"北京今天发布暴雨预警，市民出行请注意安全。",http://news.cn/1,本地\n'
        "n2,上海地铁十四号线全线开通。,http://news.cn/2,交通\n"
        "n3,只有两格\n"
        ',"第四行没有编号，它的编号是文件名和行号。",http://news.cn/4,社会\n',
        encoding="utf-8",
    )
    documents, errors = read(path)
    assert [(d.id, d.text, d.url, d.meta, d.source) for d in documents] == [
        ("n1", "北京今天发布暴雨预警，市民出行请注意安全。", "http://news.cn/1",
         {"channel": "本地", "format": "text"}, str(path)),
        ("n2", "上海地铁十四号线全线开通。", "http://news.cn/2",
         {"channel": "交通", "format": "text"}, str(path)),
        (f"{path}#4", "第四行没有编号，它的编号是文件名和行号。", "http://news.cn/4",
         {"channel": "社会", "format": "text"}, str(path)),
    ]  # fmt: skip
    assert errors == [("bad_record", f"{path}: row 3: 2 cells under 4 columns")]


def test_an_empty_url_cell_is_no_url(tmp_path: Path) -> None:
    # a CSV has a cell for every column: a row without a URL has an empty one, not a URL ""
    path = tmp_path / "news.csv"
    path.write_text("text,url\n上海地铁十四号线全线开通。,\n杭州亚运会开幕。, \n", encoding="utf-8")
    documents, _ = read(path)
    assert [d.url for d in documents] == [None, None]
    lines = tmp_path / "records.jsonl"
    lines.write_text('{"text": "上海地铁十四号线全线开通。", "url": ""}\n', encoding="utf-8")
    assert [d.url for d in read(lines)[0]] == [None]


def test_tsv_in_gzip_and_a_gbk_csv_from_excel(tmp_path: Path) -> None:
    rows = "text\tlang\n中文正文一\tzh\n中文正文二\tzh\n"
    (tmp_path / "rows.tsv.gz").write_bytes(gzip.compress(rows.encode()))
    (tmp_path / "excel.csv").write_bytes(rows.replace("\t", ",").encode("gbk"))
    for name in ("rows.tsv.gz", "excel.csv"):
        documents, errors = read(tmp_path / name)
        assert [(d.text, d.meta) for d in documents] == [
            ("中文正文一", {"lang": "zh", "format": "text"}),
            ("中文正文二", {"lang": "zh", "format": "text"}),
        ], name
        assert errors == [], name


def test_a_gbk_csv_that_opens_with_10_kb_of_ascii_is_read_as_gbk(tmp_path: Path) -> None:
    # ids and English column values first: the Chinese that says GBK comes after what a
    # buffered stream's peek returns (4-8 KiB)
    rows = [f"{n},Breaking news {n} from the wire service,en" for n in range(250)]
    rows.append("250,上海地铁十四号线全线开通。,zh")
    data = ("id,text,lang\n" + "\n".join(rows) + "\n").encode("gbk")
    assert data.index("上海".encode("gbk")) > 10_000
    for name, payload in (("plain.csv", data), ("packed.csv.gz", gzip.compress(data))):
        (tmp_path / name).write_bytes(payload)
        documents, errors = read(tmp_path / name)
        assert documents[-1].text == "上海地铁十四号线全线开通。" and len(documents) == 251
        assert errors == []


def test_a_truncated_csv_gz_keeps_the_rows_before_the_cut(tmp_path: Path) -> None:
    # the encoding check reads ahead; the damage must still surface where reading reaches it,
    # after the rows the head holds, not lose them
    rows = "".join(
        f"{n},第{n}条新闻：北京今天发布暴雨预警，编号{n * 7919 % 10007}。\n" for n in range(500)
    )
    packed = gzip.compress(("id,text\n" + rows).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    assert len(gzip.decompress(packed)) // 2 < 1 << 16  # the cut lies inside the read-ahead
    documents, errors = read(path)
    assert len(documents) > 100
    assert [d.id for d in documents] == [str(n) for n in range(len(documents))]
    assert [kind for kind, _ in errors] == ["corrupt_file"]


def test_a_csv_cell_keeps_its_own_line_breaks(tmp_path: Path) -> None:
    """Excel writes CRLF rows and may hold a paragraph break inside a quoted cell."""
    (tmp_path / "excel.csv").write_bytes(
        'id,text\r\na,"第一段。\r\n第二段。"\r\nb,第三段。\r\n'.encode()
    )
    documents, errors = read(tmp_path / "excel.csv")
    assert [(d.id, d.text) for d in documents] == [("a", "第一段。\r\n第二段。"), ("b", "第三段。")]
    assert errors == []


def test_a_csv_cell_over_the_field_limit_ends_the_file_with_a_count(tmp_path: Path) -> None:
    """csv's field limit is global and only raised (to max_document_bytes), so 11 MB is over
    it whatever ran before."""
    path = tmp_path / "huge.csv"
    path.write_text("x" * 11_000_000 + ",text\n1,正文\n")
    documents, errors = read(path, max_document_bytes=1000)
    assert documents == []
    assert [kind for kind, _ in errors] == ["corrupt_file"]
    assert errors[0][1].startswith(f"{path}: field larger than field limit")
    assert errors[0][1].endswith("; lost everything after row 0")


def test_a_csv_cut_inside_a_character_keeps_its_last_row(tmp_path: Path) -> None:
    """A table cut short by a copy that stopped: the broken character is replaced, the row
    is read."""
    data = "text\n第一行\n第二行\n".encode()
    (tmp_path / "cut.csv").write_bytes(data[:-2])  # the last character loses its last byte
    documents, errors = read(tmp_path / "cut.csv")
    assert [d.text for d in documents] == ["第一行", "第二\ufffd"]
    assert errors == []


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        (",".join(f"c{i}" for i in range(20)), ", ".join(f"c{i}" for i in range(20))),
        (",".join(f"c{i}" for i in range(21)), ", ".join(f"c{i}" for i in range(20)) + ", …"),
        ("", "none"),
    ],
    ids=["20-columns", "21-columns", "blank-header"],
)
def test_a_table_without_the_text_column_is_skipped_naming_its_columns(
    tmp_path: Path, header: str, shown: str
) -> None:
    path = tmp_path / "table.csv"
    path.write_text(f"{header}\n{','.join('x' * 21)}\n")
    collected = Collected()
    assert collected.read(path) == []
    message = (
        f"{path}: no column 'text' in its header; columns found: {shown}; "
        "use --text-field (or collect.text_field in the recipe); file skipped"
    )
    assert collected.errors == [("missing_text_field", message)]
    assert collected.reader.skipped == {str(path): message}


# -- JSON lines and parquet ------------------------------------------------------------------


def test_jsonl_meta_of_an_mdfs_corpus_and_of_chinesewebtext(tmp_path: Path) -> None:
    """An MDFS corpus record's `meta` mapping is merged into the document's meta;
    ChineseWebText's `info` gives the URL and the title."""
    path = tmp_path / "records.jsonl"
    path.write_text(
        '{"id": "a", "text": "正文一", "meta": {"lang": "zh", "format": "html"}, "score": 0.9}\n'
        '{"text": "正文二", "info": {"url": "http://cwt.cn/2", "title": "标题二"}}\n',
        encoding="utf-8",
    )
    documents, errors = read(path)
    assert [(d.id, d.url, d.meta) for d in documents] == [
        ("a", None, {"lang": "zh", "format": "text", "score": 0.9}),
        (f"{path}#2", "http://cwt.cn/2",
         {"info": {"url": "http://cwt.cn/2", "title": "标题二"}, "format": "text",
          "title": "标题二"}),
    ]  # fmt: skip
    assert errors == []


def test_a_jsonl_file_damaged_in_its_first_line_says_what_was_lost(tmp_path: Path) -> None:
    import zstandard

    records = "".join(f'{{"text": "第{i}行"}}\n' for i in range(2000)).encode()
    packed = gzip.compress(records, mtime=0)
    (tmp_path / "spoiled.jsonl.gz").write_bytes(packed[:30] + b"\xff" * 40 + packed[70:])
    documents, errors = read(tmp_path / "spoiled.jsonl.gz")
    assert documents == [] and [kind for kind, _ in errors] == ["corrupt_file"]
    assert errors[0][1].startswith(f"{tmp_path / 'spoiled.jsonl.gz'}: ")
    assert errors[0][1].endswith("; lost everything after line 0")
    packed = zstandard.ZstdCompressor().compress(records)
    (tmp_path / "cut.jsonl.zst").write_bytes(packed[: len(packed) // 2])
    documents, errors = read(tmp_path / "cut.jsonl.zst")
    assert [d.text for d in documents] == [f"第{i}行" for i in range(len(documents))]
    assert len(documents) < 2000
    assert errors == [
        ("corrupt_file", f"{tmp_path / 'cut.jsonl.zst'}: EOFError: zstd stream ends inside a "
         f"frame: the file is truncated; lost everything after line {len(documents)}"),
    ]  # fmt: skip


def test_a_plain_jsonl_file_tells_every_byte_it_reads(tmp_path: Path) -> None:
    """For the progress line: what the reader told is what the run counts as read."""
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(f'{{"text": "第{i}行"}}\n' for i in range(3000)), encoding="utf-8")
    told: list[int] = []
    reader = Reader(lambda kind, message: None, on_bytes=told.append)
    assert len(list(reader.read(str(path)))) == 3000
    assert sum(told) == reader.bytes_told == path.stat().st_size


def test_jsonl_bad_records_are_named_by_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text(
        '{"id": "a", "text": "第一篇"}\n{"id": "b", "text": 42}\n{"id": "c", "title": "无正文"}\n'
        '["not", "an", "object"]\n{"id": "e", "text": "第五篇"}\n',
        encoding="utf-8",
    )
    documents, errors = read(path)
    assert [(d.id, d.text) for d in documents] == [("a", "第一篇"), ("e", "第五篇")]
    assert errors == [
        ("bad_record", f"{path}: record 2: 'text' is int"),
        ("bad_record", f"{path}: record 3: no field 'text'"),
        ("bad_record", f"{path}:4: not a JSON object"),
    ]


def test_parquet_rows_are_numbered_as_in_the_file_whole_or_in_pieces(tmp_path: Path) -> None:
    """Rows without an id are named by their row number, counted across row groups and from
    a piece's first row, as reading the whole file numbers them."""
    path = tmp_path / "rows.parquet"
    texts = [f"第{i}行的正文。" for i in range(1, 8)]
    pq.write_table(pa.table({"text": texts, "source": ["wiki"] * 7}), path, row_group_size=3)
    whole, errors = read(path)
    assert [(d.id, d.text, d.meta) for d in whole] == [
        (f"{path}#{i}", f"第{i}行的正文。", {"source": "wiki", "format": "text"})
        for i in range(1, 8)
    ]
    assert errors == []
    piece = Piece(str(path), "row_groups", 1, 3, 4)  # the second and third row groups
    assert [d.id for d in read(str(piece))[0]] == [f"{path}#{i}" for i in range(4, 8)]


def test_a_parquet_file_or_piece_without_the_text_column_is_skipped_by_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "articles.parquet"
    pq.write_table(pa.table({"title": ["标题"], "body": ["正文"]}), path)
    message = (
        f"{path}: no column 'text' in its schema; columns found: title, body; "
        "use --text-field (or collect.text_field in the recipe); file skipped"
    )
    for entry in (str(path), str(Piece(str(path), "row_groups", 0, 1, 1))):
        collected = Collected()
        assert collected.read(entry) == []
        assert collected.errors == [("missing_text_field", message)]
        assert collected.reader.skipped == {str(path): message}  # the file, not the piece


def test_parquet_pieces_cover_every_row_group(tmp_path: Path) -> None:
    """Four row groups of one size cut at three groups' worth: the fourth is a piece of its
    own, not lost."""
    path = tmp_path / "groups.parquet"
    texts = [f"第{i:03d}行，每个行组的大小一样。" for i in range(400)]
    pq.write_table(
        pa.table({"text": texts}), path, row_group_size=100, compression="NONE",
        use_dictionary=False,
    )  # fmt: skip
    group_bytes = pq.ParquetFile(path).metadata.row_group(0).total_byte_size
    entries = split_large_inputs([str(path)], 3 * group_bytes)
    assert [Piece.parse(e) for e in entries] == [
        Piece(str(path), "row_groups", 0, 3, 1),
        Piece(str(path), "row_groups", 3, 4, 301),
    ]
    reader = Reader(lambda kind, message: None)
    assert [d.text for e in entries for d in reader.read(e)] == texts


# -- plain JSONL cut into byte ranges --------------------------------------------------------


def test_jsonl_pieces_start_at_lines_numbered_as_in_the_file_in_bounded_memory(
    tmp_path: Path,
) -> None:
    """A 24 MB file cut in three: each piece starts at a line start, its first line numbered
    as in the file, and planning holds a few read chunks, never the file."""
    line = '{"text": "%s"}\n' % ("人民日报一九九八年一月的新闻。" * 20)
    data = (line * (24_000_000 // len(line.encode()))).encode()
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        entries = split_large_inputs([str(path)], len(data) // 3 + 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    pieces = [Piece.parse(e) for e in entries]
    assert len(pieces) == 3 and pieces[0].start == 0 and pieces[-1].end == len(data)
    for before, after in itertools.pairwise(pieces):
        assert before.end == after.start and data[after.start - 1 : after.start] == b"\n"
    assert [p.first for p in pieces] == [data[: p.start].count(b"\n") + 1 for p in pieces]
    assert peak < 12_000_000  # the file is 24 MB


def test_a_line_that_ends_exactly_where_a_read_chunk_ends(tmp_path: Path) -> None:
    """The newline after the cut target is the first byte of the planner's second 4 MiB read."""
    first = b'{"text": "' + b"a" * ((1 << 22) - 12) + b'"}'
    assert len(first) == 1 << 22
    data = first + b'\n{"text": "second line"}\n'
    path = tmp_path / "long.jsonl"
    path.write_bytes(data)
    entries = split_large_inputs([str(path)], len(data) // 2 + 1)
    assert entries == [
        f"{path}#bytes=0-{(1 << 22) + 1}:1",
        f"{path}#bytes={(1 << 22) + 1}-{len(data)}:2",
    ]
    assert [d.text for d in read(entries[1])[0]] == ["second line"]


def test_split_log_lines_say_what_was_cut_and_what_was_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = tmp_path / "lines.jsonl"
    lines.write_text("".join(f'{{"text": "第{i}行"}}\n' for i in range(400)))
    arc = tmp_path / "crawl.arc"
    arc.write_bytes(_arc_file([("http://example.cn/a", _http(200) + SHORT_PAGE)] * 40))
    with caplog.at_level(logging.INFO, logger="mdfs.collect.readers"):
        entries = split_large_inputs([str(lines), str(arc)], 2000)
    assert entries[-1] == str(arc)
    assert [r.getMessage() for r in caplog.records] == [
        f"{lines}: 0.0 MB split into {len(entries) - 1} shards",
        f"{arc}: 0.0 MB read whole by one process: warc format is not cut into pieces",
    ]


# -- WARC ------------------------------------------------------------------------------------


def test_a_warc_record_starting_exactly_at_the_cut_starts_the_second_piece(
    tmp_path: Path,
) -> None:
    path = tmp_path / "two.warc"
    with open(path, "wb") as stream:
        writer = WARCWriter(stream, gzip=False)
        for url in ("http://e.cn/1", "http://e.cn/2"):  # two records of the same length
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], "HTTP/1.1")
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(PEOPLE), http_headers=headers,
                warc_headers_dict={"WARC-Date": "2020-01-01T00:00:00Z"},
            )  # fmt: skip
            writer.write_record(record)
    size = path.stat().st_size
    half = path.read_bytes().index(b"WARC/1.0", 1)
    assert half * 2 == size
    entries = split_large_inputs([str(path)], half + 1)
    assert entries == [f"{path}#records=0-{half}:0", f"{path}#records={half}-{size}:0"]
    assert [[d.url for d in read(e)[0]] for e in entries] == [["http://e.cn/1"], ["http://e.cn/2"]]


def test_junk_between_and_after_warc_records_is_counted_once_each(tmp_path: Path) -> None:
    pages = [("http://e.cn/0", SHORT_PAGE, "text/html"), ("http://e.cn/1", PEOPLE, "text/html")]
    data = write_warc(tmp_path / "whole.warc", pages, gzip=False).read_bytes()
    second_request = data.index(b"WARC/1.0", data.index(b"http://e.cn/0") + len(SHORT_PAGE))
    last_response = data.rindex(b"WARC/1.0", 0, second_request)
    junk = b"a line that is no WARC header\r\n\r\n"
    (tmp_path / "junk.warc").write_bytes(data[:second_request] + junk + data[second_request:])
    (tmp_path / "tail.warc").write_bytes(data + junk)
    documents, errors = read(tmp_path / "junk.warc")
    assert [d.url for d in documents] == ["http://e.cn/0", "http://e.cn/1"]
    assert errors == [
        ("corrupt_record", f"{tmp_path / 'junk.warc'}: at byte {last_response}: "
         "OSError: Invalid WARC header"),
    ]  # fmt: skip
    # damage longer than the 1 MiB window in which the next record start is looked for
    (tmp_path / "long.warc").write_bytes(
        data[:second_request] + junk * (1_500_000 // len(junk)) + data[second_request:]
    )
    documents, errors = read(tmp_path / "long.warc")
    assert [d.url for d in documents] == ["http://e.cn/0", "http://e.cn/1"]
    assert [kind for kind, _ in errors] == ["corrupt_record"]
    documents, errors = read(tmp_path / "tail.warc")
    assert [d.url for d in documents] == ["http://e.cn/0", "http://e.cn/1"]
    assert errors == [
        ("corrupt_record", f"{tmp_path / 'tail.warc'}: at byte {data.rindex(b'WARC/1.0')}: "
         "OSError: Invalid WARC header"),
    ]  # fmt: skip


def test_warc_records_that_are_no_documents_are_counted_by_kind(tmp_path: Path) -> None:
    """A 404 page, a record over max_document_bytes (its size from its Content-Length, less
    room for HTTP headers) and a conversion record without a text content type."""
    path = tmp_path / "crawl.warc.gz"
    with open(path, "wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for url, status, payload in [
            ("http://e.cn/gone", "404 Not Found", SHORT_PAGE),
            ("http://e.cn/big", "200 OK", NETEASE),
            ("http://e.cn/ok", "200 OK", SHORT_PAGE),
            ("http://e.cn/logo.png", "200 OK", b"\x89PNG\r\n\x1a\n" + bytes(64)),
        ]:
            kind = "image/png" if url.endswith(".png") else "text/html"
            headers = StatusAndHeaders(status, [("Content-Type", kind)], "HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(payload), http_headers=headers
                )
            )
        text = "北京是中国的首都。".encode()
        writer.write_record(
            writer.create_warc_record(
                "http://e.cn/ok", "conversion", payload=io.BytesIO(text), warc_content_type=None
            )
        )
    documents, errors = read(path, max_document_bytes=20_000)
    assert [(d.url, d.meta["format"], d.text) for d in documents] == [
        ("http://e.cn/ok", "html", SHORT_PAGE.decode()),
        ("http://e.cn/ok", "text", "北京是中国的首都。"),
    ]
    block = len(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n") + len(NETEASE)
    assert errors == [
        ("non_200_response", f"{path}: http://e.cn/gone: HTTP status not 200"),
        ("document_too_large", f"{path}: record http://e.cn/big is {block - 65_536:,} bytes, "
         "over max_document_bytes=20,000"),
        ("non_html_payload", f"{path}: http://e.cn/logo.png: image/png"),
    ]  # fmt: skip
    # under the limit with room for HTTP headers, over it without them: the payload's size
    documents, errors = read(path, max_document_bytes=50_000)
    assert ("document_too_large", f"{path}: record http://e.cn/big is {len(NETEASE):,} bytes, "
            "over max_document_bytes=50,000") in errors  # fmt: skip


def test_a_charset_in_rfc_2231_form_is_left_to_the_page(tmp_path: Path) -> None:
    page = PEOPLE.decode("utf-8").encode("gb18030")  # says gb2312 in its <meta>
    path = write_warc(
        tmp_path / "crawl.warc.gz",
        [("http://e.cn/gbk", page, "text/html; charset*=utf-8''gbk")],
    )
    documents, errors = read(path)
    assert [d.text for d in documents] == [PEOPLE.decode("utf-8")]
    assert errors == []


def test_a_gzipped_warc_without_gz_in_its_name_resumes_after_damage(tmp_path: Path) -> None:
    """The damage holds bytes that look like a gzip header: resuming skips that false start
    and goes on at the next member that holds a WARC record."""
    pages = [(f"http://e.cn/{i}", PEOPLE, "text/html") for i in range(5)]
    whole = write_warc(tmp_path / "whole.warc.gz", pages).read_bytes()
    members = [m.start() for m in re.finditer(rb"\x1f\x8b\x08", whole)]
    assert len(members) == 11  # warcinfo, then a request and a response per page
    spoiled = bytearray(whole)
    response = members[4]
    spoiled[response + 500 : response + 700] = b"\x1f\x8b\x08" + bytes(197)
    (tmp_path / "spoiled.warc").write_bytes(bytes(spoiled))
    documents, errors = read(tmp_path / "spoiled.warc")
    assert [d.url for d in documents] == [f"http://e.cn/{i}" for i in (0, 2, 3, 4)]
    assert [kind for kind, _ in errors] == ["corrupt_record"]


# -- ARC -------------------------------------------------------------------------------------


def _http(status: int) -> bytes:
    reason = {200: "OK", 404: "Not Found"}[status]
    return f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n".encode()


def _arc_file(records: list[tuple[str, bytes]]) -> bytes:
    """An ARC v1 file: its version block, then one record a (url, HTTP response)."""

    def record(header: str, body: bytes) -> bytes:
        return f"{header} {len(body)}\n".encode() + body + b"\n"

    version = b"1 0 MDFS\nURL IP-address Archive-date Content-type Archive-length\n"
    data = record("filedesc://crawl.arc 0.0.0.0 20200101000000 text/plain", version)
    for url, body in records:
        data += record(f"{url} 1.2.3.4 20200101000000 text/html", body)
    return data


def test_an_arc_page_that_is_not_200_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "crawl.arc"
    path.write_bytes(
        _arc_file(
            [("http://example.cn/gone", _http(404) + SHORT_PAGE),
             ("http://example.cn/a", _http(200) + SHORT_PAGE)]
        )
    )  # fmt: skip
    documents, errors = read(path)
    assert [(d.url, d.text) for d in documents] == [("http://example.cn/a", SHORT_PAGE.decode())]
    assert errors == [("non_200_response", f"{path}: http://example.cn/gone: HTTP status not 200")]


def test_arc_records_without_http_and_ids_that_do_not_change_between_reads(
    tmp_path: Path,
) -> None:
    """A text file fetched by FTP is read by the type in its ARC header, a DNS record is
    counted by its own; ids are the file and URL (ARC records have none), the same on every
    read, a repeated URL numbered as any repeated id."""
    version = b"1 0 MDFS\nURL IP-address Archive-date Content-type Archive-length\n"
    readme = "北京是中国的首都。".encode()
    records = [
        ("filedesc://crawl.arc 0.0.0.0 20200101000000 text/plain", version),
        ("ftp://ftp.example.cn/readme.txt 1.2.3.4 20200102000000 text/plain", readme),
        ("dns:example.cn 1.2.3.4 20200103000000 text/dns", b"example.cn. 3600 IN A 1.2.3.4\n"),
        ("http://example.cn/a 1.2.3.4 20200104000000 text/html", _http(200) + SHORT_PAGE),
        ("http://example.cn/a 1.2.3.4 20200105000000 text/html", _http(200) + SHORT_PAGE),
    ]
    path = tmp_path / "crawl.arc"
    path.write_bytes(b"".join(f"{h} {len(b)}\n".encode() + b + b"\n" for h, b in records))
    documents, errors = read(path)
    assert [(d.id, d.url, d.meta, d.text) for d in documents] == [
        (f"{path}#ftp://ftp.example.cn/readme.txt", "ftp://ftp.example.cn/readme.txt",
         {"format": "text", "date": "2020-01-02T00:00:00Z"}, "北京是中国的首都。"),
        (f"{path}#http://example.cn/a", "http://example.cn/a",
         {"format": "html", "date": "2020-01-04T00:00:00Z"}, SHORT_PAGE.decode()),
        (f"{path}#http://example.cn/a#2", "http://example.cn/a",
         {"format": "html", "date": "2020-01-05T00:00:00Z",
          "original_id": f"{path}#http://example.cn/a"}, SHORT_PAGE.decode()),
    ]  # fmt: skip
    assert errors == [("non_html_payload", f"{path}: dns:example.cn: text/dns")]
    assert [d.id for d in read(path)[0]] == [d.id for d in documents]


def test_an_arc_file_inside_a_zip_archive(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "crawls.zip", "w") as archive:
        archive.writestr("2001/crawl.arc", _arc_file([("http://e.cn/a", _http(200) + SHORT_PAGE)]))
    errors: list[tuple[str, str]] = []
    [member] = expand_inputs([str(tmp_path)], lambda kind, message: errors.append((kind, message)))
    assert member == f"zip://2001/crawl.arc::{tmp_path / 'crawls.zip'}"
    documents, read_errors = read(member)
    assert [(d.id, d.text) for d in documents] == [(f"{member}#http://e.cn/a", SHORT_PAGE.decode())]
    assert errors == read_errors == []


def test_an_archive_url_with_a_pattern_lists_its_members_in_that_archive(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "dump.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("a.jsonl", '{"text": "北京今天发布暴雨预警。"}\n')
        zipped.writestr("b.jsonl", '{"text": "上海地铁十四号线全线开通。"}\n')
        zipped.writestr("notes.txt", "不是数据")
    errors: list[tuple[str, str]] = []
    members = expand_inputs([f"zip://*.jsonl::{archive}"], lambda *error: errors.append(error))
    assert members == [f"zip://a.jsonl::{archive}", f"zip://b.jsonl::{archive}"]
    assert [d.text for m in members for d in read(m)[0]] == [
        "北京今天发布暴雨预警。",
        "上海地铁十四号线全线开通。",
    ]
    assert errors == []


def test_a_folder_named_with_two_colons_is_a_folder(tmp_path: Path) -> None:
    import zipfile

    folder = tmp_path / "crawl::2024"
    folder.mkdir()
    (folder / "news.jsonl").write_text('{"text": "杭州亚运会开幕。"}\n', encoding="utf-8")
    with zipfile.ZipFile(folder / "more.zip", "w") as zipped:
        zipped.writestr("page.txt", "北京今天发布暴雨预警。")
    errors: list[tuple[str, str]] = []
    paths = expand_inputs([str(folder)], lambda *error: errors.append(error))
    assert paths == [f"zip://page.txt::{folder / 'more.zip'}", str(folder / "news.jsonl")]
    texts = [d.text for path in paths for d in read(path)[0]]
    assert texts == ["北京今天发布暴雨预警。", "杭州亚运会开幕。"] and errors == []


# -- whole files: HTML, text, skips ----------------------------------------------------------


def test_an_html_file_is_one_document_named_by_its_path(tmp_path: Path) -> None:
    """Whatever its length: a page of 86,590 characters is not cut as a book would be."""
    (tmp_path / "page.html").write_bytes(NETEASE)
    (tmp_path / "saved").write_bytes(b"<meta charset=utf-8>\n" + SHORT_PAGE)  # no extension
    (tmp_path / "head").write_bytes(b"<HEAD><title>t</title></HEAD>" + SHORT_PAGE)
    (tmp_path / "page.txt").write_bytes(b"\n\n  " + SHORT_PAGE)  # a page saved as .txt
    for name in ("page.html", "saved", "head", "page.txt"):
        path = str(tmp_path / name)
        payload = (tmp_path / name).read_bytes()
        documents, errors = read(path)
        assert documents == [
            Document(id=path, text=payload.decode(), source=path, url=None, meta={"format": "html"})
        ]
        assert errors == []


def test_whole_files_skipped_say_why_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "blob").write_bytes(b"\x00\x01\x02binary" * 100)
    (tmp_path / "big.txt").write_text("很长的文档。" * 1000, encoding="utf-8")
    (tmp_path / "noise.txt").write_bytes(bytes(range(128, 256)) * 40)
    big = tmp_path / "big.txt"
    cases = {
        "blob": ("unknown_format", f"{tmp_path / 'blob'}: not a format MDFS reads; skipped"),
        "big.txt": (
            "document_too_large",
            f"{big}: file is {big.stat().st_size:,} bytes, over max_document_bytes=10,000",
        ),
    }
    for name, error in cases.items():
        collected = Collected(max_document_bytes=10_000)
        assert collected.read(tmp_path / name) == []
        assert collected.errors == [error], name
    documents, errors = read(tmp_path / "noise.txt")
    assert documents == [] and [kind for kind, _ in errors] == ["undecodable"]
    assert errors[0][1].startswith(f"{tmp_path / 'noise.txt'}: file: ")

    (tmp_path / "secret.jsonl").write_text('{"text": "x"}\n')
    refuse_opening_under(tmp_path, monkeypatch)
    collected = Collected()
    assert collected.read(tmp_path / "secret.jsonl") == []
    message = f"{tmp_path / 'secret.jsonl'}: Permission denied"
    assert collected.errors == [("permission_denied", message)]
    assert collected.reader.skipped == {str(tmp_path / "secret.jsonl"): message}


def test_the_summary_after_a_files_first_warnings_counts_each_kind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_text("{broken\n" * 6 + '{"text": 1}\n' * 2 + '{"text": "好"}\n')
    with caplog.at_level(logging.WARNING, logger="mdfs.collect.readers"):
        documents, _ = read(path)
    assert [d.text for d in documents] == ["好"]
    assert caplog.records[-1].getMessage() == (
        f"{path}: 3 more unreadable records not shown (in all: bad_json 6, bad_record 2)"
    )


def test_formats_of_compressed_and_sniffed_names() -> None:
    assert [
        detect_format(name)
        for name in ("page.html.gz", "rows.csv.gz", "rows.tsv.bz2", "dump.parquet.zst")
    ] == ["html", "csv", "csv", "parquet"]
    assert [unsupported_extension(n) for n in ("a.parquet", "b.epub", "c.docx.gz", "LICENSE")] == [
        None,
        None,
        ".docx",
        None,
    ]


def test_a_local_file_whose_folder_holds_a_double_colon_is_read_as_itself(
    tmp_path: Path,
) -> None:
    """Only `zip://` and `tar://` names are archive members (`zip://a.txt::b.zip`)."""
    folder = tmp_path / "v1::v2"
    folder.mkdir()
    (folder / "rows.jsonl").write_text('{"id": "r", "text": "正文"}\n')
    errors: list[tuple[str, str]] = []
    files = expand_inputs([str(folder)], lambda kind, message: errors.append((kind, message)))
    assert files == [str(folder / "rows.jsonl")]
    documents, read_errors = read(files[0])
    assert [(d.id, d.text) for d in documents] == [("r", "正文")]
    assert errors == read_errors == []


# -- listing inputs --------------------------------------------------------------------------


def test_a_run_folder_as_input_is_its_kept_documents_and_its_output_is_excluded(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    for name in ("corpus/part-0.jsonl", "removed/part-0.jsonl", RUN_MARKER):
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("{}\n")
    errors: list[tuple[str, str]] = []
    on_error = lambda kind, message: errors.append((kind, message))  # noqa: E731
    assert expand_inputs([str(run)], on_error) == [str(run / "corpus" / "part-0.jsonl")]
    data = tmp_path / "data"
    for name in ("a.jsonl", "out/corpus/part-0.jsonl", "sub/b.jsonl"):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text("{}\n")
    listed = [str(data), str(data / "**" / "*.jsonl")]
    files = expand_inputs(listed, on_error, exclude=str(data / "out"))
    assert files == [str(data / "a.jsonl"), str(data / "sub" / "b.jsonl")]
    assert errors == []


def test_a_folder_that_cannot_be_listed_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.txt").write_text("正文")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "b.txt").write_text("看不到")
    real_scandir = os.scandir

    def refusing_scandir(path="."):
        if os.fspath(path) == str(tmp_path / "locked"):  # root lists any folder: refuse
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    errors: list[tuple[str, str]] = []
    files = expand_inputs([str(tmp_path)], lambda kind, message: errors.append((kind, message)))
    assert files == [str(tmp_path / "ok" / "a.txt")]
    assert errors == [("permission_denied", f"{tmp_path / 'locked'}: Permission denied")]


def test_urls_are_listed_through_fsspec() -> None:
    import fsspec

    memory = fsspec.filesystem("memory")
    root = "/mdfs-test-reader-formats"
    for name in ("run/corpus/part-0.jsonl", "run/removed/part-0.jsonl", "data/a.jsonl",
                 "data/.hidden.jsonl", "data/sub/b.jsonl"):  # fmt: skip
        memory.pipe(f"{root}/{name}", b'{"text": "x"}\n')
    memory.pipe(f"{root}/run/{RUN_MARKER}", b"{}")
    try:
        errors: list[tuple[str, str]] = []
        files = expand_inputs(
            [f"memory:/{root}/data", f"memory:/{root}/run", f"memory:/{root}/nothing",
             "nosuch://bucket/x"],
            lambda kind, message: errors.append((kind, message)),
        )  # fmt: skip
        assert files == [
            f"memory://{root}/data/a.jsonl",
            f"memory://{root}/data/sub/b.jsonl",
            f"memory://{root}/run/corpus/part-0.jsonl",
        ]
        assert errors == [
            ("missing_path", f"memory:/{root}/nothing: no such file or directory"),
            ("missing_path", "nosuch://bucket/x: Protocol not known: nosuch"),
        ]
    finally:
        memory.rm(root, recursive=True)
