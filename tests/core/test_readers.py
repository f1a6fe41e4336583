from __future__ import annotations

import gzip
import json
import os
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from mdfs.collect.readers import Reader, detect_format, expand_inputs, shard_inputs
from tests.conftest import FIXTURES, refuse_opening_under
from tests.core.warc_util import write_warc

PEOPLE = (FIXTURES / "pages" / "people_health.html").read_bytes()
NETEASE = (FIXTURES / "pages" / "163_dy.html").read_bytes()


def read_all(path: Path, **kwargs) -> tuple[list, Counter]:
    errors: Counter[str] = Counter()
    reader = Reader(lambda kind, message: errors.update([kind]), **kwargs)
    return list(reader.read(str(path))), errors


def gbk_page() -> bytes:
    text = PEOPLE.decode("utf-8").replace("charset=GB2312", "charset=gbk")
    return text.encode("gb18030")


def test_warc_responses_with_url_date_and_charsets(tmp_path: Path) -> None:
    path = write_warc(
        tmp_path / "crawl.warc.gz",
        [
            ("http://health.people.com.cn/a.html", PEOPLE, "text/html"),  # says gb2312, is UTF-8
            ("http://gbk.example.cn/b.html", gbk_page(), "text/html; charset=GBK"),
            ("http://www.163.com/c.html", NETEASE, "text/html; charset=utf-8"),
            ("http://img.example.cn/logo.png", b"\x89PNG\r\n\x1a\n" + os.urandom(200), "image/png"),
        ],
    )
    documents, errors = read_all(path)
    assert [d.url for d in documents] == [
        "http://health.people.com.cn/a.html",
        "http://gbk.example.cn/b.html",
        "http://www.163.com/c.html",
    ]
    assert errors == Counter({"non_html_payload": 1})
    assert all(d.meta["date"] and d.id.startswith("<urn:uuid:") for d in documents)
    assert all(d.meta["format"] == "html" for d in documents)
    # the GBK page and the mislabelled UTF-8 page decode to the same Chinese text
    assert "高血压" in documents[0].text or "健康" in documents[0].text
    assert documents[0].text.count("\ufffd") == 0
    assert documents[1].text.replace("charset=gbk", "charset=GB2312") == documents[0].text


def test_truncated_warc_keeps_records_before_the_damage(tmp_path: Path) -> None:
    whole = write_warc(
        tmp_path / "whole.warc.gz",
        [(f"http://example.cn/{i}", PEOPLE, "text/html") for i in range(3)],
    )
    data = whole.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    documents, errors = read_all(cut)
    assert 1 <= len(documents) < 3
    assert sum(errors.values()) == 1
    assert set(errors) <= {"corrupt_record", "corrupt_file", "truncated_record"}


def test_uncompressed_wet_conversion_records(tmp_path: Path) -> None:
    from io import BytesIO

    from warcio.warcwriter import WARCWriter

    path = tmp_path / "crawl.warc.wet"
    with open(path, "wb") as stream:
        writer = WARCWriter(stream, gzip=False)
        record = writer.create_warc_record(
            "http://example.cn/x", "conversion",
            payload=BytesIO("北京是中国的首都。".encode()),
            warc_content_type="text/plain",
        )  # fmt: skip
        writer.write_record(record)
    documents, errors = read_all(path)
    assert [d.text for d in documents] == ["北京是中国的首都。"]
    assert documents[0].meta["format"] == "text" and not errors


def test_jsonl_variants_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": "第一篇", "url": "http://x.cn/a"}, ensure_ascii=False),
        "{not json",
        json.dumps({"title": "no text field"}),
        json.dumps({"text": "第二篇"}, ensure_ascii=False),
    ]
    payload = ("\n".join(lines) + "\n").encode()
    (tmp_path / "a.jsonl").write_bytes(payload)
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(payload))
    (tmp_path / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(payload))
    for name in ("a.jsonl", "b.jsonl.gz", "c.jsonl.zst"):
        documents, errors = read_all(tmp_path / name)
        assert [d.text for d in documents] == ["第一篇", "第二篇"], name
        assert documents[0].id == "a" and documents[0].url == "http://x.cn/a"
        assert documents[1].id == f"{tmp_path / name}#4"
        assert errors == Counter({"bad_json": 1, "bad_record": 1})


def test_parquet(tmp_path: Path) -> None:
    table = pa.table({"id": ["p1", "p2"], "text": ["甲", "乙"], "lang": ["zh", "zh"]})
    pq.write_table(table, tmp_path / "dump.parquet")
    documents, errors = read_all(tmp_path / "dump.parquet")
    assert [(d.id, d.text) for d in documents] == [("p1", "甲"), ("p2", "乙")] and not errors


def test_bad_files_are_counted_not_raised(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    noise = random.Random(7).randbytes
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01" + noise(4096))
    corrupt = gzip.compress(b'{"text": "x"}\n' * 1000)
    (tmp_path / "corrupt.jsonl.gz").write_bytes(corrupt[:40] + b"\xff" * 40 + corrupt[80:])
    (tmp_path / "binary.txt").write_bytes(noise(10_000))
    (tmp_path / "huge.txt").write_bytes("很长的文档。".encode() * 3_000_000)  # ~54 MB
    totals: Counter[str] = Counter()
    for name in ("empty.txt", "junk.bin", "corrupt.jsonl.gz", "binary.txt", "huge.txt"):
        _, errors = read_all(tmp_path / name, max_document_bytes=10_000_000)
        assert sum(errors.values()) >= 1, name
        totals.update(errors)
    assert totals["empty_file"] == 1
    assert totals["unknown_format"] == 1
    assert totals["corrupt_file"] == 1
    assert totals["undecodable"] == 1
    assert totals["document_too_large"] == 1


def test_formats_by_name_and_content(tmp_path: Path) -> None:
    (tmp_path / "page").write_bytes(b"<!DOCTYPE html><html><body>x</body></html>")
    (tmp_path / "records").write_bytes(b'{"text": "x"}\n')
    assert detect_format(str(tmp_path / "page")) == "html"
    assert detect_format(str(tmp_path / "records")) == "jsonl"
    assert detect_format("x.warc.gz") == "warc" and detect_format("y.wet") == "warc"


def test_expand_inputs_and_shards(tmp_path: Path) -> None:
    for name in ("b.html", "a.html", ".hidden", "sub/c.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    missing: list[str] = []
    files = expand_inputs(
        [str(tmp_path), str(tmp_path / "*.html"), str(tmp_path / "nope")],
        lambda kind, message: missing.append(kind),
    )
    names = [Path(f).name for f in files]
    assert names == ["a.html", "b.html", "c.txt"]
    assert missing == ["missing_path"]
    assert shard_inputs(files, max_bytes=10**9, max_files=2) == [files[:2], files[2:]]


def jsonl_records(count: int) -> bytes:
    lines = (
        json.dumps({"id": f"r{i}", "text": f"第{i}篇。" * 40}, ensure_ascii=False)
        for i in range(count)
    )
    return ("\n".join(lines) + "\n").encode()


def test_truncated_zstd_is_counted_with_its_lost_tail(tmp_path: Path) -> None:
    # zstandard's stream reader ends silently inside a frame: a cut file read as a short one
    payload = jsonl_records(800)
    compressed = zstandard.ZstdCompressor().compress(payload)
    for fraction in (0.05, 0.5, 0.95):
        path = tmp_path / f"cut-{fraction}.jsonl.zst"
        path.write_bytes(compressed[: int(len(compressed) * fraction)])
        documents, errors = read_all(path)
        assert errors == Counter({"corrupt_file": 1}), fraction
        assert [d.id for d in documents] == [f"r{i}" for i in range(len(documents))]
        assert len(documents) < 800
    whole = tmp_path / "two-frames.jsonl.zst"
    whole.write_bytes(compressed + zstandard.ZstdCompressor().compress(jsonl_records(3)))
    documents, errors = read_all(whole)
    assert len(documents) == 803 and not errors


def test_an_endless_jsonl_line_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(tmp_path / "bomb.jsonl.gz", "wb") as out:
        out.write(compressor.compress(b'{"text": "first"}\n{"text": "'))
        for _ in range(64):  # one 64 MiB line in a ~64 KB file
            out.write(compressor.compress(b"a" * (1 << 20)))
        out.write(compressor.compress(b'"}\n{"text": "after"}\n'))
        out.write(compressor.flush())
    tracemalloc.start()
    try:
        documents, errors = read_all(tmp_path / "bomb.jsonl.gz", max_document_bytes=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [d.text for d in documents] == ["first", "after"]
    assert errors == Counter({"document_too_large": 1})
    assert peak < 1_000_000 + 8 * (1 << 20)  # the limit plus a few read chunks, not the line


def test_jsonl_with_a_bom_or_in_gbk_loses_no_record(tmp_path: Path, shared: Path) -> None:
    clean = (shared / "data/web/ccnet_labelled/clean.jsonl").read_bytes()
    expected = [json.loads(line)["text"] for line in clean.splitlines() if line.strip()]
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + clean)
    (tmp_path / "gbk.jsonl").write_bytes(clean.decode("utf-8").encode("gb18030"))
    for name in ("bom.jsonl", "gbk.jsonl"):
        documents, errors = read_all(tmp_path / name)
        assert [d.text for d in documents] == expected, name
        assert not errors, name


def test_one_junk_file_logs_a_few_warnings_and_counts_every_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [b"{broken json %d" % i for i in range(500)] + [b'{"text": "\xe5\xa5\xbd"}']
    (tmp_path / "junk.jsonl").write_bytes(b"\n".join(lines))
    with caplog.at_level("WARNING"):
        documents, errors = read_all(tmp_path / "junk.jsonl")
    assert [d.text for d in documents] == ["好"]
    assert errors == Counter({"bad_json": 500})
    assert len(caplog.records) == Reader.WARNINGS_PER_FILE + 1
    assert "495 more" in caplog.records[-1].getMessage()


def test_compressed_empty_and_blank_files_are_counted_empty(tmp_path: Path) -> None:
    files = {
        "nothing.jsonl.gz": gzip.compress(b""),
        "nothing.jsonl.zst": zstandard.ZstdCompressor().compress(b""),
        "blank.jsonl": b"\n\n  \n",
        "blank.html": b" \r\n\t ",
        "blank.warc.gz": gzip.compress(b"\n"),
    }
    for name, payload in files.items():
        (tmp_path / name).write_bytes(payload)
        documents, errors = read_all(tmp_path / name)
        assert not documents and errors == Counter({"empty_file": 1}), name


def test_repeated_ids_are_made_unique_in_reading_order(tmp_path: Path) -> None:
    records = [{"id": "x", "text": f"第{i}篇"} for i in range(4)] + [{"id": "x#2", "text": "末"}]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    warc = write_warc(tmp_path / "b.warc.gz", [("http://e.cn/1", PEOPLE, "text/html")])
    errors: Counter[str] = Counter()
    reader = Reader(lambda kind, message: errors.update([kind]))
    documents = [d for path in (tmp_path / "a.jsonl", warc, warc) for d in reader.read(str(path))]
    ids = [d.id for d in documents]
    assert ids[:5] == ["x", "x#2", "x#3", "x#4", "x#2#2"]
    assert len(set(ids)) == len(ids) == 7 and ids[6] == f"{ids[5]}#2"
    assert [d.meta.get("original_id") for d in documents[:2]] == [None, "x"]
    assert documents[6].meta["original_id"] == ids[5]


def test_fifo_and_unreadable_paths_are_named_for_what_they_are(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "sub" / "pipe2")
    (tmp_path / "sub" / "ok.txt").write_text("正文")
    seen: list[tuple[str, str]] = []
    files = expand_inputs(
        [str(tmp_path / "pipe"), str(tmp_path / "sub"), "/dev/zero"],
        lambda kind, message: seen.append((kind, message)),
    )
    assert files == [str(tmp_path / "sub" / "ok.txt")]
    assert [kind for kind, _ in seen] == ["not_a_file"] * 3
    assert all("not a regular file" in message for _, message in seen)


def test_permission_error_is_its_own_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.jsonl").write_text('{"text": "x"}\n')
    (tmp_path / "secret").write_text('{"text": "x"}\n')  # no suffix: the format is sniffed
    refuse_opening_under(tmp_path, monkeypatch)
    for name in ("secret.jsonl", "secret"):
        documents, errors = read_all(tmp_path / name)
        assert not documents and errors == Counter({"permission_denied": 1}), name


def damage_content_length(data: bytes, record: int, change) -> bytes:
    """The WARC `data` with the Content-Length of response `record` (0-based) changed."""
    import re

    match = list(re.finditer(rb"WARC-Type: response.*?Content-Length: (\d+)", data, re.S))[record]
    return data[: match.start(1)] + change(match.group(1)) + data[match.end(1) :]


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (lambda n: str(int(n) - 4000).encode(), "corrupt_record"),
        (lambda n: str(int(n) + 5000).encode(), "corrupt_record"),
        (lambda n: b"abc", "corrupt_record"),
        (lambda n: b"999999999999", "document_too_large"),
    ],
    ids=["shorter", "longer", "not-a-number", "huge"],
)
def test_a_wrong_warc_content_length_costs_that_record_only(
    tmp_path: Path, change, kind: str
) -> None:
    pages = [
        (f"http://e.cn/{i}", page, "text/html") for i, page in enumerate([PEOPLE, NETEASE, PEOPLE])
    ]
    whole = write_warc(tmp_path / "whole.warc", pages, gzip=False).read_bytes()
    damaged = tmp_path / "damaged.warc"
    damaged.write_bytes(damage_content_length(whole, 0, change))
    documents, errors = read_all(damaged)
    assert [d.url for d in documents] == ["http://e.cn/1", "http://e.cn/2"]
    assert documents[0].text == NETEASE.decode("utf-8")
    assert errors == Counter({kind: 1})


def test_damaged_records_in_a_warc_gz_are_counted_and_reading_goes_on(tmp_path: Path) -> None:
    import re

    pages = [(f"http://e.cn/{i}", page, "text/html") for i, page in enumerate([PEOPLE] * 5)]
    whole = write_warc(tmp_path / "whole.warc.gz", pages).read_bytes()
    members = [m.start() for m in re.finditer(rb"\x1f\x8b\x08", whole)]
    # members: warcinfo, then request and response per page; spoil the 2nd response's bytes
    response = members[4]
    spoiled = bytearray(whole)
    spoiled[response + 500 : response + 700] = bytes(200)
    (tmp_path / "spoiled.warc.gz").write_bytes(bytes(spoiled))
    documents, errors = read_all(tmp_path / "spoiled.warc.gz")
    assert [d.url for d in documents] == [
        "http://e.cn/0",
        "http://e.cn/2",
        "http://e.cn/3",
        "http://e.cn/4",
    ]
    assert errors == Counter({"corrupt_record": 1})


def test_parquet_rows_with_invalid_utf8_are_counted_and_the_rest_read(tmp_path: Path) -> None:
    # found by the fuzz suite: pyarrow raised UnicodeDecodeError for the whole batch
    texts = ["第一篇正文", "第二篇正文", "第三篇正文"]
    pq.write_table(
        pa.table({"text": texts}), tmp_path / "clean.parquet", compression="NONE",
        use_dictionary=False,
    )  # fmt: skip
    data = (tmp_path / "clean.parquet").read_bytes()  # the text in the page and its statistics
    damaged = data.replace("第二篇".encode(), b"\xff" + "第二篇".encode()[1:])
    (tmp_path / "damaged.parquet").write_bytes(damaged)
    documents, errors = read_all(tmp_path / "damaged.parquet")
    assert [d.text for d in documents] == ["第一篇正文", "第三篇正文"]
    assert errors == Counter({"bad_record": 1})


def test_reading_resumes_past_a_second_damaged_record(tmp_path: Path) -> None:
    """Record offsets are the file's, not the resumed reading's: after a first resume, a second
    damaged record still costs that record only."""
    pages = [(f"http://e.cn/{i}", page, "text/html") for i, page in enumerate([PEOPLE] * 6)]
    data = write_warc(tmp_path / "whole.warc", pages, gzip=False).read_bytes()
    for record in (1, 3):
        data = damage_content_length(data, record, lambda n: str(int(n) - 4000).encode())
    (tmp_path / "damaged.warc").write_bytes(data)
    documents, errors = read_all(tmp_path / "damaged.warc")
    assert [d.url for d in documents] == [f"http://e.cn/{i}" for i in (0, 2, 4, 5)]
    assert errors == Counter({"corrupt_record": 2})


def _arc_record(header: str, body: bytes) -> bytes:
    """One ARC v1 record: a header line ending in the body's length, the body, a newline."""
    return f"{header} {len(body)}\n".encode() + body + b"\n"


def test_arc_records_and_their_errors(tmp_path: Path) -> None:
    """An ARC v1 file (the format before WARC) written by hand: a page, a page whose server
    sent no content type (HTML by its first byte), an image (counted, not read), and a
    record cut short by the end of the file (counted; the rest is lost)."""
    page = "<html><body><p>国务院新闻办公室今天举行发布会。</p></body></html>".encode()
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    untyped = b"HTTP/1.1 200 OK\r\nServer: old\r\n\r\n"
    image = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG"
    version = b"1 0 MDFS\nURL IP-address Archive-date Content-type Archive-length\n"
    data = _arc_record("filedesc://crawl.arc 0.0.0.0 20200101000000 text/plain", version)
    data += _arc_record("http://example.cn/a 1.2.3.4 20200101000000 text/html", ok + page)
    data += _arc_record("http://example.cn/b 1.2.3.4 20200102000000 text/html", untyped + page)
    data += _arc_record("http://example.cn/c.png 1.2.3.4 20200103000000 image/png", image)
    cut = _arc_record("http://example.cn/d 1.2.3.4 20200104000000 text/html", ok + page)
    (tmp_path / "crawl.arc").write_bytes(data + cut[: len(cut) // 2])
    errors: list[tuple[str, str]] = []
    reader = Reader(lambda kind, message: errors.append((kind, message)))
    documents = list(reader.read(str(tmp_path / "crawl.arc")))
    assert [(d.url, d.meta["format"], d.meta["date"]) for d in documents] == [
        ("http://example.cn/a", "html", "2020-01-01T00:00:00Z"),
        ("http://example.cn/b", "html", "2020-01-02T00:00:00Z"),
    ]
    assert "国务院新闻办公室" in documents[0].text
    kinds = [kind for kind, _ in errors]
    assert kinds[0] == "non_html_payload" and "image/png" in errors[0][1]
    assert errors[1:] == [
        ("truncated_record", f"{tmp_path / 'crawl.arc'}: http://example.cn/d: record cut short")
    ]
    assert all(message.startswith(str(tmp_path / "crawl.arc")) for _, message in errors)
