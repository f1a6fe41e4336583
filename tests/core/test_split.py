"""One big input file split into several shards: `--workers 2` reads it in two processes, with
the same documents, ids and accounting as reading it whole; the default plan cuts a few MB
into shards whatever the workers, so a run resumes with another --workers; and progress
lines in a log file while it runs."""

from __future__ import annotations

import codecs
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mdfs.cli import main
from mdfs.collect.readers import Piece, Reader, split_large_inputs
from mdfs.report.build import check_accounting
from tests.conftest import FIXTURES, REPO
from tests.core.warc_util import write_warc

# A step from a user's module (the recipe's `modules:`): it notes the process that ran it.
PID_STEP = """
import os
from mdfs.pipeline import Mapper, register

@register
class NotePid(Mapper):
    name = "note_pid"

    def apply(self, document):
        if document.id == os.environ.get("MDFS_TEST_DIE_AT"):
            os._exit(9)  # a worker killed in the middle of its shard
        document.meta["pid"] = os.getpid()
        return document
"""

RECIPE = """
collect:
  shard_max_bytes: {max_bytes}
modules: [pid_step]
steps:
  - note_pid: {{}}
  - normalize: {{}}
  - quality_rules: {{min_chars: 30}}
  - exact_dedup: {{}}
"""


@pytest.fixture(scope="module")
def big_jsonl(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """People's Daily, one line a document: every third without an id (its id is then its
    line number), a few copies, blank and broken lines (counted skips)."""
    root = tmp_path_factory.mktemp("big")
    text = (shared / "data" / "text" / "peoples_daily_199801_pos_tagged.txt").read_text()
    lines = [re.sub(r"/[A-Za-z]+\s*", "", ln).replace(" ", "") for ln in text.splitlines()]
    path = root / "peoples_daily.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for number, line in enumerate(lines[:3000]):
            record = {"text": line} if number % 3 == 0 else {"id": f"pd-{number}", "text": line}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if number % 500 == 7:
                out.write("\n{broken json\n")
            if number % 250 == 3:
                out.write(json.dumps({"id": f"copy-{number}", "text": line}, ensure_ascii=False))
                out.write("\n")
    (root / "pid_step.py").write_text(PID_STEP)
    return path


def records(folder: Path) -> list[dict]:
    found = []
    for part in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(part) as lines:
            found.extend(json.loads(line) for line in lines)
    return found


def without_pid(items: list[dict]) -> list[dict]:
    return [{**r, "meta": {k: v for k, v in r["meta"].items() if k != "pid"}} for r in items]


def counts(report: dict) -> dict:
    check_accounting(report)
    return {
        "steps": [(s["name"], s["in"], s["kept"], s["removed"]) for s in report["steps"]],
        "errors": report["errors"],
        "sources": report["sources"],
    }


def write_recipe(folder: Path, max_bytes: int) -> Path:
    recipe = folder / f"recipe-{max_bytes}.yaml"
    recipe.write_text(RECIPE.format(max_bytes=max_bytes))
    return recipe


def test_jsonl_pieces_read_as_the_whole_file(big_jsonl: Path) -> None:
    size = big_jsonl.stat().st_size
    pieces = [Piece.parse(entry) for entry in split_large_inputs([str(big_jsonl)], -(-size // 5))]
    assert len(pieces) == 5 and all(p is not None for p in pieces)
    errors: list[str] = []

    def on_error(kind: str, message: str) -> None:
        errors.append(message)

    whole = [(d.id, d.text) for d in Reader(on_error).read(str(big_jsonl))]
    whole_errors, errors[:] = list(errors), []
    reader = Reader(on_error)  # a fresh one: a reader makes the ids it has yielded unique
    split = [(d.id, d.text) for p in pieces for d in reader.read(str(p))]
    assert split == whole and errors == whole_errors  # line numbers in ids and messages too
    assert f"{big_jsonl}#1" in dict(whole)  # a record without an id is named by its line


@pytest.mark.parametrize("compressed", [True, False], ids=["warc.gz", "warc"])
def test_warc_pieces_read_as_the_whole_file(tmp_path: Path, compressed: bool) -> None:
    """Pieces start at records (gzip members, or the records' own offsets in a plain WARC,
    where a page may hold a line that reads WARC/1.); a damaged record is counted once."""
    pages = [
        (FIXTURES / "pages" / name).read_bytes() for name in ("people_health.html", "163_dy.html")
    ]
    pages.append(b"<html><body><pre>\nWARC/1.0\nWARC-Type: response\n</pre></body></html>")
    records = [(f"http://e.cn/{i}", pages[i % 3], "text/html") for i in range(30)]
    path = write_warc(tmp_path / f"pages.warc{'.gz' if compressed else ''}", records, compressed)
    if not compressed:  # a wrong Content-Length in the middle: that record only is lost
        data = path.read_bytes()
        response = rb"WARC-Type: response.*?Content-Length: (\d+)"
        length = list(re.finditer(response, data, re.S))[10]
        path.write_bytes(data[: length.start(1)] + b"9" + data[length.end(1) :])
    entries = split_large_inputs([str(path)], path.stat().st_size // 6)
    assert len(entries) >= 5 and all(Piece.parse(e).kind == "records" for e in entries)

    def read(paths: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
        errors: list[str] = []
        documents = []
        for entry in paths:  # a reader per piece, as shards have
            reader = Reader(lambda kind, message: errors.append(kind))
            documents += [(d.id, d.text) for d in reader.read(entry)]
        return documents, errors

    whole, whole_errors = read([str(path)])
    assert len(whole) == 30 - (not compressed)
    assert whole_errors == ([] if compressed else ["corrupt_record"])
    assert read(entries) == (whole, whole_errors)


def test_parquet_pieces_are_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    texts = [f"第{i}行的文字" for i in range(1000)]
    pq.write_table(pa.table({"text": texts}), path, row_group_size=100)
    entries = split_large_inputs([str(path)], path.stat().st_size // 4)
    assert len(entries) >= 4
    reader = Reader(lambda kind, message: None)
    split = [(d.id, d.text) for entry in entries for d in reader.read(entry)]
    whole = Reader(lambda kind, message: None).read(str(path))
    assert split == [(d.id, d.text) for d in whole]


def test_big_jsonl_runs_in_two_processes_like_one_shard(big_jsonl: Path, tmp_path: Path) -> None:
    size = big_jsonl.stat().st_size
    whole = tmp_path / "whole"
    recipe = write_recipe(tmp_path, size * 2)
    sys.path.insert(0, str(big_jsonl.parent))  # the recipe's module
    try:
        assert main(["run", str(big_jsonl), "-o", str(whole), "--recipe", str(recipe),
                     "--workers", "1"]) == 0  # fmt: skip
    finally:
        sys.path.remove(str(big_jsonl.parent))

    split = tmp_path / "split"
    log = tmp_path / "stderr.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(big_jsonl.parent)])}
    command = [
        sys.executable, "-m", "mdfs.cli", "run", str(big_jsonl), "-o", str(split), "--recipe",
        str(write_recipe(tmp_path, size // 2 + 1)), "--workers", "2", "--progress-every", "0.05",
    ]  # fmt: skip
    with log.open("w") as stderr:  # not a terminal: progress comes as log lines
        subprocess.run(command, env=env, stderr=stderr, stdout=subprocess.DEVNULL, check=True)

    kept = records(split / "corpus")
    assert len({r["meta"]["pid"] for r in kept}) == 2  # two worker processes read the file
    assert os.getpid() not in {r["meta"]["pid"] for r in kept}
    assert without_pid(kept) == without_pid(records(whole / "corpus"))
    assert without_pid(records(split / "removed")) == without_pid(records(whole / "removed"))
    whole_report = json.loads((whole / "report.json").read_text())
    split_report = json.loads((split / "report.json").read_text())
    assert counts(split_report) == counts(whole_report)
    assert (split_report["inputs"]["shards"], whole_report["inputs"]["shards"]) == (2, 1)

    # a worker killed inside the second piece, then the same command: the same corpus
    resumed = tmp_path / "resumed"
    command[command.index(str(split))] = str(resumed)
    crash = {**env, "MDFS_TEST_DIE_AT": "pd-2900"}
    assert subprocess.run(command, env=crash, capture_output=True).returncode != 0
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert "resuming the run" in rerun.stderr
    assert without_pid(records(resumed / "corpus")) == without_pid(kept)
    assert without_pid(records(resumed / "removed")) == without_pid(records(split / "removed"))

    written = log.read_text()
    assert "split into 2 shards" in written
    progress = [ln for ln in written.splitlines() if "mdfs.progress: phase 0:" in ln]
    assert len(progress) >= 3 and progress[-1].endswith("done")
    total = whole_report["documents_in"]
    assert f"{total:,} documents" in progress[-1]
    # within the shards, before either ended: documents, a rate, an ETA from the bytes read
    moving = [ln for ln in progress if "0 of 2 shards" in ln and "(from input bytes read)" in ln]
    assert moving and "documents/s" in moving[0]
    phase_1 = [ln for ln in written.splitlines() if "mdfs.progress: phase 1:" in ln]
    handed_on = next(s["kept"] for s in whole_report["steps"] if s["name"] == "quality_rules")
    assert phase_1 and f"of {handed_on:,} documents" in phase_1[-1]


def test_a_few_mb_of_jsonl_give_two_workers_work_whatever_the_workers(
    big_jsonl: Path, tmp_path: Path
) -> None:
    """The default plan cuts ~1 MB shards from a few MB of JSONL: `--workers 2` reads them in
    two processes and keeps what one shard keeps (near duplicates across pieces included). The
    plan does not depend on --workers: a run killed with 2 workers resumes with 1."""
    path = tmp_path / "peoples_daily_x4.jsonl"
    lines = big_jsonl.read_text().splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.startswith('{"')]
    with path.open("w", encoding="utf-8") as out:
        for copy in range(4):  # 4 copies, the later ones edited: near duplicates across shards
            for number, text in enumerate(texts):
                edited = text if copy == 0 else f"{text}（第{copy}版）"
                record = {"id": f"c{copy}-{number}", "text": edited}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    steps = RECIPE.split("steps:")[1].replace("{{", "{").replace("}}", "}") + "  - near_dedup: {}\n"
    (tmp_path / "default.yaml").write_text(f"modules: [pid_step]\nsteps:{steps}")
    (tmp_path / "one_shard.yaml").write_text(
        f"collect: {{shard_min_bytes: 1000000000}}\nmodules: [pid_step]\nsteps:{steps}"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(big_jsonl.parent)])}

    def run(output: str, recipe: str, workers: int, **extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "mdfs.cli", "run", str(path), "-o", str(tmp_path / output),
                   "--recipe", str(tmp_path / recipe), "--workers", str(workers)]  # fmt: skip
        return subprocess.run(command, env={**env, **extra}, capture_output=True, text=True)

    assert run("one", "one_shard.yaml", 1).returncode == 0
    two = run("two", "default.yaml", 2)
    assert two.returncode == 0, two.stderr
    shards = json.loads((tmp_path / "two" / "report.json").read_text())["inputs"]["shards"]
    assert shards == -(-path.stat().st_size // 1_000_000) and "split into" in two.stderr
    kept = records(tmp_path / "two" / "corpus")
    assert len({r["meta"]["pid"] for r in kept}) == 2
    one = records(tmp_path / "one" / "corpus")
    assert [r["id"] for r in kept] == [r["id"] for r in one] and without_pid(kept) == without_pid(
        one
    )
    near = [r for r in records(tmp_path / "two" / "removed") if r["removed_by"] == "near_dedup"]
    assert len(near) > 1000

    assert run("resumed", "default.yaml", 2, MDFS_TEST_DIE_AT="c3-10").returncode != 0
    resumed = run("resumed", "default.yaml", 1)
    assert resumed.returncode == 0 and "resuming the run" in resumed.stderr
    assert without_pid(records(tmp_path / "resumed" / "corpus")) == without_pid(kept)


def test_jsonl_pieces_share_the_whole_file_line_path(tmp_path: Path) -> None:
    """BOM, GBK lines, over-long lines and bad JSON read the same in pieces as whole."""
    path = tmp_path / "mixed.jsonl"
    lines = [codecs.BOM_UTF8 + orjson.dumps({"id": "a", "text": "第一行"})]
    for i in range(300):
        if i % 50 == 7:
            lines.append(b'{"text": broken')
        elif i % 50 == 21:
            lines.append(orjson.dumps({"text": "长" * 400}))  # over max_document_bytes below
        elif i % 3 == 0:
            text = f"国标编码的第{i}行，中文新闻稿件的正文在这里继续写下去。"
            lines.append(orjson.dumps({"text": text}).decode().encode("gbk"))
        else:
            lines.append(orjson.dumps({"id": "dup" if i % 7 == 0 else None, "text": f"第{i}行"}))
    path.write_bytes(b"\n".join(lines) + b"\n")
    entries = split_large_inputs([str(path)], path.stat().st_size // 4)
    assert len(entries) >= 4

    def read(paths: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        errors: list[tuple[str, str]] = []
        reader = Reader(lambda kind, message: errors.append((kind, message)), 1000)
        return [(d.id, d.text) for p in paths for d in reader.read(p)], errors

    whole, whole_errors = read([str(path)])
    assert whole[0] == ("a", "第一行")  # the BOM is gone
    assert (f"{path}#5", "国标编码的第3行，中文新闻稿件的正文在这里继续写下去。") in whole
    assert {kind for kind, _ in whole_errors} == {"bad_json", "document_too_large"}
    assert read(entries) == (whole, whole_errors)


def test_what_cannot_be_split_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lines = "".join(
        json.dumps({"text": f"第{i}行的文字，写得长一些。"}) + "\n" for i in range(3000)
    )
    compressed = tmp_path / "lines.jsonl.gz"
    compressed.write_bytes(gzip.compress(lines.encode(), mtime=0))
    one_stream = tmp_path / "pages.warc.gz"  # a WARC gzipped whole: no member to start at
    plain = write_warc(
        tmp_path / "pages.warc", [("http://e.cn/", b"<p>x</p>" * 3000, "text/html")] * 8, gzip=False
    )
    one_stream.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    with caplog.at_level("INFO"):
        entries = split_large_inputs([str(compressed), str(one_stream)], 1000)
    assert entries == [str(compressed), str(one_stream)]
    assert (
        "read whole by one process: compressed JSONL cannot be read from the middle" in caplog.text
    )
    assert "pages.warc.gz" in caplog.text and "no record starts found" in caplog.text
