"""Taking the user's data as it is: the text and id fields a run names, every other field kept
in `meta`, files that cannot be read reported as skipped inputs, and a run folder as the
input of `dedup`, `classify` and `pack`/`train`.

The records are ChineseWebText pages (../shared/data/web/ccnet_labelled) rewritten here the
way other dumps store them: the text under `content`, with `domain`, `date` and `doc_id`.
"""

from __future__ import annotations

import datetime
import decimal
import gzip
import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mdfs.cli import main
from tests.conftest import read_parts


@pytest.fixture(scope="module")
def pages(shared: Path) -> list[dict]:
    """Ten clean and ten dirty pages as a lab's dump holds them."""
    folder = shared / "data" / "web" / "ccnet_labelled"
    records = []
    for name in ("clean", "dirty"):
        with (folder / f"{name}.jsonl").open(encoding="utf-8") as lines:
            for number, line in zip(range(10), lines, strict=False):
                records.append(
                    {
                        "doc_id": f"{name}-{number}",
                        "content": json.loads(line)["text"],
                        "url": f"http://{name}{number}.example.cn/page.html",
                        "domain": f"{name}{number}.example.cn",
                        "date": f"2021-10-{number + 1:02d}",
                    }
                )
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    lines = (json.dumps(record, ensure_ascii=False) for record in records)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(inputs: list[Path], output: Path, *options: str, recipe: str = "steps: []\n") -> int:
    recipe_file = output.parent / f"{output.name}.yaml"
    recipe_file.write_text(recipe)
    arguments = ["run", *map(str, inputs), "-o", str(output), "--recipe", str(recipe_file)]
    return main([*arguments, "--workers", "1", *options])


def test_text_and_id_fields_from_the_command_line_and_every_other_field_in_meta(
    pages: list[dict], tmp_path: Path
) -> None:
    data = write_jsonl(tmp_path / "dump.jsonl", pages)
    output = tmp_path / "out"
    assert run([data], output, "--text-field", "content", "--id-field", "doc_id") == 0
    corpus = read_parts(output / "corpus")
    assert [d["id"] for d in corpus] == [p["doc_id"] for p in pages]
    assert [d["text"] for d in corpus] == [p["content"] for p in pages]
    assert [d["url"] for d in corpus] == [p["url"] for p in pages]
    for document, page in zip(corpus, pages, strict=True):
        assert document["meta"] == {
            "domain": page["domain"],
            "date": page["date"],
            "format": "text",
        }
    report = json.loads((output / "report.json").read_text())
    assert "text_field: content" in report["run"]["recipe"]  # the resolved recipe says so


def test_fields_from_the_recipe_for_parquet_with_typed_columns(
    pages: list[dict], tmp_path: Path
) -> None:
    table = pa.table(
        {
            "content": [p["content"] for p in pages],
            "doc_id": [p["doc_id"] for p in pages],
            "domain": [p["domain"] for p in pages],
            "date": [datetime.date.fromisoformat(p["date"]) for p in pages],
            "words": [len(p["content"]) for p in pages],
            "price": pa.array([decimal.Decimal("1.50")] * len(pages), pa.decimal128(5, 2)),
            "tags": [[{"name": "wiki", "weight": 0.5}] for _ in pages],
        }
    )
    pq.write_table(table, tmp_path / "dump.parquet")
    recipe = "collect:\n  text_field: content\n  id_field: doc_id\nsteps: []\n"
    assert run([tmp_path / "dump.parquet"], tmp_path / "out", recipe=recipe) == 0
    corpus = read_parts(tmp_path / "out" / "corpus")
    assert [d["id"] for d in corpus] == [p["doc_id"] for p in pages]
    assert corpus[0]["meta"] == {
        "domain": pages[0]["domain"], "date": pages[0]["date"],  # a date column as ISO text
        "words": len(pages[0]["content"]), "price": "1.50",
        "tags": [{"name": "wiki", "weight": 0.5}], "format": "text",
    }  # fmt: skip


def test_csv_with_a_header_is_a_table_like_jsonl(shared: Path, tmp_path: Path) -> None:
    # the SMS spam set as it ships: label,content, texts with line breaks inside quotes
    source = shared / "data" / "spam" / "sample1.csv"
    head = source.read_text(encoding="utf-8").split("\n0,", 40)[:-1]
    (tmp_path / "sms.csv").write_text("\n0,".join(head) + "\n", encoding="utf-8")
    gbk = tmp_path / "sms-gbk.csv"
    gbk.write_bytes((tmp_path / "sms.csv").read_text("utf-8").encode("gb18030"))
    output = tmp_path / "out"
    assert run([tmp_path / "sms.csv", gbk], output, "--text-field", "content") == 0
    corpus = read_parts(output / "corpus")
    utf8 = [d for d in corpus if d["source"].endswith("sms.csv")]
    assert len(utf8) == len(corpus) // 2 >= 30
    assert [d["text"] for d in utf8] == [d["text"] for d in corpus if d not in utf8]
    assert {d["meta"]["label"] for d in corpus} == {"0", "1"}
    assert utf8[0]["id"] == f"{tmp_path / 'sms.csv'}#1"


def test_a_file_without_the_text_field_is_one_line_and_a_run_that_reads_nothing_fails(
    pages: list[dict], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    data = write_jsonl(tmp_path / "data.jsonl", pages)
    table = tmp_path / "data.parquet"
    pq.write_table(pa.table({"content": [p["content"] for p in pages]}), table)
    output = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        assert run([data, table], output) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("mdfs run: error: no document was read from the inputs")
    assert "no field 'text' in record 1; fields found: doc_id, content, url, domain, date" in error
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "data.jsonl" in w]) == 1  # not one per record
    report = json.loads((output / "report.json").read_text())
    assert report["errors"] == {"missing_text_field": 2}
    assert set(report["skipped_inputs"]) == {str(data), str(table)}
    assert (
        "no column 'text' in its schema; columns found: content"
        in report["skipped_inputs"][str(table)]
    )


def test_unknown_extensions_are_reported_not_read_as_text(
    pages: list[dict], shared: Path, tmp_path: Path
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_jsonl(inputs / "dump.jsonl", pages[:3])
    (inputs / "notes.docx").write_bytes(b"PK\x03\x04" + "报告".encode() * 100)
    (inputs / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (inputs / "LICENSE.repo").write_text("MIT License\n\nPermission is hereby granted ...\n")
    (inputs / "page.txt").write_text(pages[3]["content"], encoding="utf-8")
    output = tmp_path / "out"
    assert run([inputs], output, "--text-field", "content") == 0
    report = json.loads((output / "report.json").read_text())
    assert report["documents_in"] == 4  # three records and the .txt page
    assert sorted(Path(p).name for p in report["skipped_inputs"]) == [
        "LICENSE.repo", "chart.png", "notes.docx"
    ]  # fmt: skip
    assert report["errors"] == {"unknown_format": 3}
    assert (
        "'.docx' files are not a format MDFS reads"
        in report["skipped_inputs"][str(inputs / "notes.docx")]
    )


def test_a_bad_field_name_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    data = tmp_path / "a.jsonl"
    data.write_text('{"text": "正文"}\n')
    assert run([data], tmp_path / "out", "--text-field", " ") == 2
    assert "--text-field is empty" in capsys.readouterr().err
    bad = "collect:\n  text_field: ''\nsteps: []\n"
    assert run([data], tmp_path / "out2", recipe=bad) == 2
    assert "collect.text_field" in capsys.readouterr().err


# -- a run folder as the input of the other commands ----------------------------------------

RULES = "steps:\n  - quality_rules: {}\n"


@pytest.fixture(scope="module")
def run_folder(pages: list[dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run that kept some pages and removed others (quality rules on clean and dirty)."""
    root = tmp_path_factory.mktemp("fields-run")
    data = write_jsonl(root / "dump.jsonl", pages)
    assert run([data], root / "run", "--text-field", "content", recipe=RULES) == 0
    report = json.loads((root / "run" / "report.json").read_text())
    assert 0 < report["documents_kept"] < report["documents_in"]  # both folders hold pages
    return root / "run"


def test_dedup_reads_a_run_folders_corpus_and_keeps_its_meta(
    run_folder: Path, tmp_path: Path
) -> None:
    kept = read_parts(run_folder / "corpus")
    output = tmp_path / "dedup"
    assert main(["dedup", str(run_folder), "-o", str(output), "--workers", "1"]) == 0
    report = json.loads((output / "report.json").read_text())
    assert report["documents_in"] == len(kept) and report["errors"] == {}
    assert all("/corpus/" in source for source in report["sources"])
    again = read_parts(output / "corpus")
    assert {d["id"] for d in again} <= {d["id"] for d in kept}
    # the dump's own fields survive both runs; the first run's input file is in meta.source
    assert {d["meta"]["domain"] for d in again} <= {d["meta"]["domain"] for d in kept}
    assert all(d["meta"]["source"].endswith("dump.jsonl") for d in again)


def test_classify_reads_a_run_folders_corpus(run_folder: Path, tmp_path: Path) -> None:
    kept = read_parts(run_folder / "corpus")
    output = tmp_path / "classify"
    arguments = ["classify", str(run_folder), "-o", str(output), "--workers", "1"]
    assert main([*arguments, "--backend", "fasttext"]) == 0
    predictions = [json.loads(line) for line in (output / "predictions.jsonl").open()]
    assert [p["id"] for p in predictions] == [d["id"] for d in kept]


def test_pack_and_train_read_a_run_folders_corpus(run_folder: Path, tmp_path: Path) -> None:
    from mdfs.train.corpus import corpus_files, iter_texts
    from mdfs.train.tokenizer import train_tokenizer

    kept = read_parts(run_folder / "corpus")
    files = corpus_files(run_folder)  # what `train`, `pack` and `train-tokenizer` read
    assert files and all(f.parent == run_folder / "corpus" for f in files)
    assert list(iter_texts(files)) == [d["text"] for d in kept]
    tokenizer = train_tokenizer([d["text"] for d in kept], tmp_path / "tok", vocab_size=600)
    packed = tmp_path / "packed"
    arguments = ["pack", "--corpus", str(run_folder), "--tokenizer", str(tokenizer)]
    assert main([*arguments, "--output", str(packed)]) == 0
    index = json.loads((packed / "index.json").read_text())
    assert sum(shard["documents"] for shard in index["shards"]) == len(kept)


def test_removed_records_of_the_run_keep_their_text(run_folder: Path) -> None:
    removed = read_parts(run_folder / "removed")
    assert removed and all(r["text"].strip() for r in removed)
    with gzip.open(next((run_folder / "corpus").glob("*.jsonl.gz"))) as lines:
        assert json.loads(next(lines))["meta"]["date"].startswith("2021-10-")


def test_a_big_file_read_in_pieces_is_skipped_under_its_own_name(
    pages: list[dict], tmp_path: Path
) -> None:
    data = write_jsonl(tmp_path / "big.jsonl", pages)
    recipe = "collect:\n  shard_max_bytes: 20000\nsteps: []\n"
    assert run([data], tmp_path / "out", recipe=recipe) == 2
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["inputs"]["shards"] > 1  # each piece stops at its first record
    assert list(report["skipped_inputs"]) == [str(data)]
    assert report["errors"] == {"missing_text_field": report["inputs"]["shards"]}


def test_chinesewebtext_records_give_their_url_and_title(shared: Path, tmp_path: Path) -> None:
    """ChineseWebText keeps a page's URL and title under `info`: they become the document's
    URL (for the URL signals) and `meta.title` (for the title-body check)."""
    dirty = shared / "data" / "web" / "ccnet_labelled" / "dirty.jsonl"
    output = tmp_path / "out"
    assert run([dirty], output) == 0
    corpus = read_parts(output / "corpus")
    infos = [json.loads(line)["info"] for line in dirty.open(encoding="utf-8")]
    assert [d["url"] for d in corpus] == [info["url"] for info in infos]
    assert [d["meta"]["title"] for d in corpus] == [info["title"] for info in infos]
    assert corpus[0]["meta"]["info"]["source_domain"] == infos[0]["source_domain"]
