"""End to end: `mdfs run` over real pages wrapped into WARC, plus broken input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdfs.cli import main
from mdfs.report.build import check_accounting
from tests.conftest import COARSE_SMALL_SHARDS, read_parts
from tests.core.warc_util import write_warc


def article_pages(shared: Path) -> list[Path]:
    return sorted((shared / "data" / "web" / "news_pages" / "article_pages").glob("*/*.html"))


@pytest.fixture(scope="module")
def inputs(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three WARC files of real pages (one page twice), the seed page as .txt, broken files."""
    root = tmp_path_factory.mktemp("inputs")
    pages = article_pages(shared)[:24]
    for index in range(3):
        chunk = pages[index * 8 : (index + 1) * 8]
        records = [
            (f"http://example.cn/{p.parent.name}/{p.name}", p.read_bytes(), "text/html")
            for p in chunk
        ]
        if index == 2:
            records.append((records[0][0] + "?copy", records[0][1], "text/html"))
        write_warc(root / f"crawl-{index}.warc.gz", records)
    (root / "seed_page.txt").write_text((shared / "samples" / "seed_page.txt").read_text())
    (root / "empty.txt").write_bytes(b"")
    (root / "junk.warc.gz").write_bytes(os.urandom(3000))
    good = (root / "crawl-0.warc.gz").read_bytes()
    (root / "truncated.warc.gz").write_bytes(good[: len(good) // 2])
    return root


def read_corpus(output: Path) -> list[dict]:
    return read_parts(output / "corpus")


def run(args: list[str]) -> int:
    return main(["run", *args])


def test_run_end_to_end(inputs: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    assert run([str(inputs), "--output", str(output), "--workers", "2"]) == 0
    report = json.loads((output / "report.json").read_text())
    check_accounting(report)
    assert report["documents_in"] >= 25
    assert 0 < report["documents_kept"] < report["documents_in"]
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["exact_dedup"]["removed"].get("exact_duplicate", 0) >= 1
    assert {"empty_file", "truncated_record"} <= set(report["errors"])
    assert report["errors"].get("corrupt_record", 0) + report["errors"].get("corrupt_file", 0) >= 1
    corpus = read_corpus(output)
    assert len(corpus) == report["documents_kept"]
    assert all({"id", "text", "source", "url"} <= set(r) for r in corpus)
    assert len({r["id"] for r in corpus}) == len(corpus)
    seed = next(r for r in corpus if r["source"].endswith("seed_page.txt"))
    assert "宜春榆林" not in seed["text"] and "友情链接" not in seed["text"]
    assert "源1.0只用了2128张GPU，并在短短的16天就完成了训练。" in seed["text"]
    removed = read_parts(output / "removed")
    assert len(removed) == report["documents_in"] - report["documents_kept"]
    assert all(r["removed_by"] and r["reason"] for r in removed)
    html = (output / "report.html").read_text()
    assert "Funnel by step" in html and "exact_duplicate" in html
    assert sum(s["in"] for s in report["sources"].values()) == report["documents_in"]


def test_same_result_for_any_worker_count(inputs: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(COARSE_SMALL_SHARDS)
    outputs = []
    for workers in (1, 2):
        output = tmp_path / f"w{workers}"
        assert (
            run(
                [str(inputs), "-o", str(output), "--recipe", str(recipe), "--workers", str(workers)]
            )
            == 0
        )
        outputs.append(output)
    first, second = (sorted((r["id"], r["text"]) for r in read_corpus(o)) for o in outputs)
    assert first == second


def counts(report: dict) -> list:
    return [(s["name"], s["in"], s["kept"], s["removed"]) for s in report["steps"]]


def stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_ino, status.st_mtime_ns


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_resume_after_kill_9(fmt: str, inputs: Path, tmp_path: Path) -> None:
    """Killed at any moment, a rerun finishes the run to the same corpus, in either format
    (a Parquet part is committed whole, like a JSON lines one)."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(COARSE_SMALL_SHARDS)
    reference = tmp_path / "reference"
    fmt_args = ["--format", fmt]
    assert run([str(inputs), "-o", str(reference), "--recipe", str(recipe), "--workers", "1",
                *fmt_args]) == 0  # fmt: skip

    output = tmp_path / "killed"
    command = [sys.executable, "-m", "mdfs.cli", "run", str(inputs), "-o", str(output),
               "--recipe", str(recipe), "--workers", "2", *fmt_args]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    markers = output / ".mdfs" / "stats" / "phase-0"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(markers.glob("*.json"))) < 2:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (output / "report.json").exists(), "the run finished before it could be killed"
    finished = {path: stamp(path) for path in (output / ".mdfs" / "stats").rglob("*.json")}
    assert finished

    assert run([str(inputs), "-o", str(output), "--recipe", str(recipe), "--workers", "2",
                *fmt_args]) == 0  # fmt: skip
    parts = list((output / "corpus").iterdir())
    assert parts and all(p.name.endswith(".parquet" if fmt == "parquet" else ".jsonl.gz")
                         for p in parts)  # fmt: skip
    # a finished shard is not run again: its committed marker is the very same file
    assert {path: stamp(path) for path in finished} == finished
    expected = json.loads((reference / "report.json").read_text())
    resumed = json.loads((output / "report.json").read_text())
    assert counts(resumed) == counts(expected)
    assert resumed["errors"] == expected["errors"]
    assert sorted((r["id"], r["text"]) for r in read_corpus(output)) == sorted(
        (r["id"], r["text"]) for r in read_corpus(reference)
    )


def test_user_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "a.txt"
    page.write_text("北京是中国的首都。" * 40)
    cases = {
        "unknown step 'no_such_step'": "steps:\n  - no_such_step: {}\n",
        "min_score": "steps:\n  - language: {min_score: lots}\n",
        "not valid YAML": "steps: [\n",
        "unknown section": "stages: []\nsteps: []\n",
    }
    for expected, text in cases.items():
        recipe = tmp_path / "bad.yaml"
        recipe.write_text(text)
        assert run([str(page), "-o", str(tmp_path / "o"), "--recipe", str(recipe)]) == 2
        error = capsys.readouterr().err.strip()
        assert expected in error and "\n" not in error and "Traceback" not in error
    assert run([str(tmp_path / "missing"), "-o", str(tmp_path / "o2")]) == 2
    assert "no input files" in capsys.readouterr().err


def test_other_run_in_same_output_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("北京是中国的首都，有三千多年的建城史。" * 20)
    b.write_text("上海是中国的经济中心，位于长江入海口。" * 20)
    assert run([str(a), "-o", str(tmp_path / "o"), "--workers", "1"]) == 0
    assert run([str(b), "-o", str(tmp_path / "o"), "--workers", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert run([str(b), "-o", str(tmp_path / "o"), "--workers", "1", "--overwrite"]) == 0


def test_corpus_loads_with_datasets(inputs: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    output = tmp_path / "out"
    assert run([str(inputs), "--output", str(output), "--workers", "1"]) == 0
    corpus = datasets.load_dataset(
        "json", data_files=str(output / "corpus" / "*.jsonl.gz"), split="train",
        cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    report = json.loads((output / "report.json").read_text())
    assert corpus.num_rows == report["documents_kept"]
    assert {"id", "text", "source", "url"} <= set(corpus.column_names)


def test_inputs_through_fsspec_urls(inputs: Path, tmp_path: Path) -> None:
    """Inputs may be any fsspec URL (s3://, hdfs://… with their backends); memory:// here."""
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    for name in ("crawl-0.warc.gz", "seed_page.txt"):
        memory.pipe(f"/mdfs-test/{name}", (inputs / name).read_bytes())
    local, remote = tmp_path / "local", tmp_path / "remote"
    for source, output in (
        ([str(inputs / "crawl-0.warc.gz"), str(inputs / "seed_page.txt")], local),
        (["memory://mdfs-test/"], remote),
    ):
        assert run([*source, "-o", str(output), "--workers", "1"]) == 0
    expected = sorted(r["text"] for r in read_corpus(local))
    assert expected and sorted(r["text"] for r in read_corpus(remote)) == expected
    report = json.loads((remote / "report.json").read_text())
    assert all(source.startswith("memory://") for source in report["sources"])
    assert run(["memory://mdfs-test/nothing-here", "-o", str(tmp_path / "x")]) == 2


def test_shipped_recipes_load() -> None:
    from mdfs.recipe import default_recipe_path, load_recipe

    for path in sorted(default_recipe_path().parent.glob("*.yaml")):
        assert load_recipe(path).steps, path
