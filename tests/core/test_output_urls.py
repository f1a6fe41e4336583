"""`mdfs run --output URL`: a `file://` or `memory://` output holds the same corpus and report
as a plain local path, with every global step, and a run into a URL resumes."""

from __future__ import annotations

import gzip
import json
import random
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import fsspec
import orjson
import pytest

from mdfs.cli import main
from mdfs.document import Document, Removed
from mdfs.engines.local import LocalEngine
from mdfs.pipeline import GlobalStep
from mdfs.recipe import load_recipe
from mdfs.report.build import check_accounting
from mdfs.run import run_pipeline

# Every global step, so each one's files must cross the URL between observe, decide and filter.
RECIPE = """
collect:
  shard_max_files: 1
steps:
  - normalize: {}
  - exact_dedup: {}
  - near_dedup: {}
  - paragraph_dedup: {min_chars: 20}
"""
BOILERPLATE = "本报讯：欢迎订阅人民日报，邮发代号一至一，全国各地邮局均可订阅。"


@pytest.fixture(scope="module")
def inputs(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """People's Daily articles in three JSONL files: exact copies, edited copies (near
    duplicates) and a paragraph that most articles end with; and an empty file."""
    root = tmp_path_factory.mktemp("url-inputs")
    text = (shared / "data" / "text" / "peoples_daily_199801_pos_tagged.txt").read_text()
    lines = [re.sub(r"/[A-Za-z]+\s*", "", ln).replace(" ", "") for ln in text.splitlines()]
    lines = [ln for ln in lines if len(ln) > 20][:600]
    rng = random.Random(7)
    documents = []
    for number, start in enumerate(range(0, len(lines), 20)):
        article = "\n".join(lines[start : start + 20])
        if number % 2:
            article += "\n" + BOILERPLATE
        documents.append((f"a{number}", article))
        if number % 3 == 0:
            documents.append((f"a{number}-copy", article))
        if number % 3 == 1:
            edited = article.split("\n")
            edited[rng.randrange(len(edited))] = "编者按：本文有改动。"
            documents.append((f"a{number}-edit", "\n".join(edited)))
    rng.shuffle(documents)
    for index in range(3):
        with (root / f"part-{index}.jsonl").open("w", encoding="utf-8") as out:
            for doc_id, body in documents[index::3]:
                out.write(json.dumps({"id": doc_id, "text": body}, ensure_ascii=False) + "\n")
    (root / "part-3-empty.jsonl").write_bytes(b"")
    (root / "recipe.yaml").write_text(RECIPE)
    return root


def read_output(url: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]], dict]:
    """(kept (id, text), removed (id, step, reason), report) of a run's output, by URL."""
    fs, root = fsspec.core.url_to_fs(url)

    def records(folder: str) -> Iterator[dict]:
        for part in sorted(fs.glob(f"{root}/{folder}/*.jsonl.gz")):
            yield from (orjson.loads(ln) for ln in gzip.decompress(fs.cat_file(part)).splitlines())

    kept = sorted((r["id"], r["text"]) for r in records("corpus"))
    removed = sorted((r["id"], r["removed_by"], r["reason"]) for r in records("removed"))
    report = orjson.loads(fs.cat_file(f"{root}/report.json"))
    assert not [p for p in fs.find(root) if ".tmp-" in p], "no attempt file is left behind"
    return kept, removed, report


def counts(report: dict) -> dict:
    """What a report says about the documents, without how long anything took."""
    check_accounting(report)
    return {
        "documents": (report["documents_in"], report["documents_kept"]),
        "steps": [(s["name"], s["in"], s["kept"], s["removed"]) for s in report["steps"]],
        "sources": report["sources"],
        "errors": report["errors"],
        "global_steps": {
            name: {k: v for k, v in figures.items() if k != "seconds"}
            for name, figures in report["global_steps"].items()
        },
    }


@pytest.fixture(scope="module")
def local_run(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    output = tmp_path_factory.mktemp("url-reference") / "out"
    args = ["run", str(inputs), "-o", str(output), "--recipe", str(inputs / "recipe.yaml")]
    assert main([*args, "--workers", "1"]) == 0
    kept, removed, report = read_output(str(output))
    figures = report["global_steps"]
    # the comparisons below mean something only if every global step removed or changed text
    assert figures["exact_dedup"]["duplicates"] >= 5
    assert figures["near_dedup"]["near_duplicates"] >= 5
    assert figures["paragraph_dedup"]["frequent_paragraphs"] >= 1
    assert any(BOILERPLATE in text for _, text in kept)  # the first of the paragraph's copies
    assert sum(BOILERPLATE in text for _, text in kept) == 1
    return kept, removed, counts(report)


@pytest.fixture
def memory_url(tmp_path: Path) -> Iterator[str]:
    """A memory:// output of its own, emptied afterwards."""
    memory = fsspec.filesystem("memory")
    root = f"/mdfs-test-{tmp_path.name}"
    yield f"memory://{root}/out"
    if memory.exists(root):
        memory.rm(root, recursive=True)


@pytest.fixture
def scratch_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the run's scratch goes to, to see that the run empties it."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_file_url_output_equals_local_path(
    inputs: Path, local_run: tuple, tmp_path: Path, scratch_root: Path
) -> None:
    url = (tmp_path / "out").as_uri()  # file:///…; two worker processes share it
    args = ["run", str(inputs), "-o", url, "--recipe", str(inputs / "recipe.yaml")]
    assert main([*args, "--workers", "2"]) == 0
    kept, removed, report = read_output(url)
    assert (kept, removed, counts(report)) == local_run
    # global steps' files are under the URL (a resume needs them), scratch is gone
    assert (tmp_path / "out" / ".mdfs" / "global" / "near_dedup" / "00000.near.json").exists()
    assert list(scratch_root.iterdir()) == []


def test_memory_url_output_equals_local_path(
    inputs: Path, local_run: tuple, memory_url: str, scratch_root: Path
) -> None:
    args = ["run", str(inputs), "-o", memory_url, "--recipe", str(inputs / "recipe.yaml")]
    assert main([*args, "--workers", "1"]) == 0
    kept, removed, report = read_output(memory_url)
    assert (kept, removed, counts(report)) == local_run
    html = fsspec.open(f"{memory_url}/report.html", "rt", encoding="utf-8").open().read()
    assert "near_duplicate" in html
    assert list(scratch_root.iterdir()) == []


class FailOnce(GlobalStep):
    """Passes every document through; its observe fails once on one shard, as a crash would.
    Its decide and filter need files that observe and decide wrote, so a resumed run that
    lost them fails."""

    name = "fail_once"
    marker: str
    shard: str = "00001"

    def observe(self, shard: str, documents: Iterable[Document]) -> None:
        count = sum(1 for _ in documents)
        if shard == self.shard and not Path(self.marker).exists():
            Path(self.marker).write_text("failed")
            raise RuntimeError("interrupted")
        (self.workdir / f"{shard}.count.json").write_bytes(orjson.dumps(count))

    def decide(self, shards: list[str]) -> dict[str, int]:
        paths = [self.workdir / f"{shard}.count.json" for shard in shards]
        total = sum(orjson.loads(path.read_bytes()) for path in paths)
        (self.workdir / "total.json").write_bytes(orjson.dumps(total))
        return {"documents": total}

    def filter_shard(
        self, shard: str, documents: Iterable[Document]
    ) -> Iterator[Document | Removed]:
        orjson.loads((self.workdir / "total.json").read_bytes())
        yield from documents


def test_url_output_resumes_after_interruption(
    inputs: Path, local_run: tuple, memory_url: str, tmp_path: Path
) -> None:
    from mdfs.errors import UserError

    recipe = load_recipe(str(inputs / "recipe.yaml"))
    # after exact_dedup: its decision must come back from the URL for the shard rerun
    recipe.steps.insert(2, FailOnce(marker=str(tmp_path / "failed")))
    with pytest.raises(UserError, match="interrupted"):
        run_pipeline([str(inputs)], memory_url, recipe, LocalEngine(1))
    fs, root = fsspec.core.url_to_fs(memory_url)
    assert fs.exists(f"{root}/.mdfs/global/exact_dedup.done.json")
    assert not fs.exists(f"{root}/report.json")

    report = run_pipeline([str(inputs)], memory_url, recipe, LocalEngine(1))
    kept, removed, _ = read_output(memory_url)
    assert report["global_steps"]["fail_once"] == {"documents": local_run[2]["steps"][1][2]}
    expected = local_run[2]
    resumed = counts(report)
    resumed["steps"] = [s for s in resumed["steps"] if s[0] != "fail_once"]
    resumed["global_steps"].pop("fail_once")
    assert (kept, removed, resumed) == (local_run[0], local_run[1], expected)


# -- `mdfs dedup` and `mdfs classify` into a URL ------------------------------------------


def test_dedup_url_output_equals_local_path(
    inputs: Path, memory_url: str, tmp_path: Path, scratch_root: Path
) -> None:
    """`mdfs dedup` writes through run_pipeline, so a URL holds what a plain path holds."""
    plain = tmp_path / "dedup"
    files = str(inputs / "*.jsonl")
    assert main(["dedup", files, "-o", str(plain), "--workers", "1"]) == 0
    assert main(["dedup", files, "-o", memory_url, "--workers", "1"]) == 0
    expected = read_output(str(plain))
    assert expected[2]["global_steps"]["near_dedup"]["near_duplicates"] >= 5
    kept, removed, report = read_output(memory_url)
    assert (kept, removed, counts(report)) == (expected[0], expected[1], counts(expected[2]))
    assert list(scratch_root.iterdir()) == []


@pytest.mark.parametrize("command", ["run", "classify"])
def test_output_url_of_an_unknown_scheme_is_a_one_line_error(
    command: str, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, str(inputs), "--output", "nosuchscheme://bucket/run"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith(f"mdfs {command}: error: nosuchscheme://bucket/run")
    assert not any("Traceback" in line for line in error)


def test_dedup_reference_url_is_a_one_line_error(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--reference reads a local index only; a URL is refused with a message, not a traceback."""
    reference = "s3://bucket/earlier-run"
    args = ["dedup", str(inputs), "-o", str(tmp_path / "out"), "--reference", reference]
    assert main(args) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("mdfs dedup: error:") and reference in error
    assert len(error.splitlines()) == 1


def test_classify_url_output_equals_local_path(
    inputs: Path, memory_url: str, tmp_path: Path, scratch_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """predictions.jsonl through fsspec: the same lines as in a local folder, one per input
    document in input order, and no attempt file or scratch left."""
    pytest.importorskip("fasttext")
    common = [
        "classify",
        str(inputs / "*.jsonl"),
        "--backend",
        "fasttext",
    ]  # the shipped model, fast
    assert main([*common, "--output", str(tmp_path / "plain")]) == 0
    assert main([*common, "--output", memory_url]) == 0
    assert f"-> {memory_url}/predictions.jsonl" in capsys.readouterr().out
    expected = (tmp_path / "plain" / "predictions.jsonl").read_bytes()
    fs, root = fsspec.core.url_to_fs(memory_url)
    assert fs.cat_file(f"{root}/predictions.jsonl") == expected
    assert read_output(memory_url)[0] == read_output(str(tmp_path / "plain"))[0]
    assert list(scratch_root.iterdir()) == []
    ids = [
        json.loads(line)["id"]
        for part in sorted(inputs.glob("*.jsonl"))
        for line in part.read_text(encoding="utf-8").splitlines()
    ]
    predictions = [orjson.loads(line) for line in expected.splitlines()]
    assert [p["id"] for p in predictions] == ids
    assert {p["label"] for p in predictions} <= {"high", "low", "ad"}
    assert all(set(p["scores"]) == {"high", "low", "ad"} for p in predictions)


# -- scratch of a killed run ----------------------------------------------------------------


def test_scratch_a_killed_run_left_goes_with_the_next_run(
    inputs: Path, memory_url: str, scratch_root: Path
) -> None:
    """kill -9 skips every cleanup: the next run into the same output removes that scratch
    when it starts, and the scratch of another output is left alone."""
    from mdfs.layout import Layout, UrlLayout
    from mdfs.storage import scratch_for

    killed = Path(scratch_for(memory_url))  # as a run that was killed after it started
    (killed / "exact_dedup").mkdir()
    (killed / "exact_dedup" / "00000.hashes.npy").write_bytes(b"left behind")
    other = Path(scratch_for(f"{memory_url}-other"))
    assert killed.parent != other.parent  # one folder per output

    layout = Layout.for_output(memory_url)  # the next run starts
    assert isinstance(layout, UrlLayout) and Path(layout.scratch).is_dir()
    assert not killed.exists() and other.is_dir()
    layout.close()

    args = ["run", str(inputs), "-o", memory_url, "--recipe", str(inputs / "recipe.yaml")]
    assert main([*args, "--workers", "1"]) == 0  # and a whole run leaves nothing behind
    assert list(scratch_root.iterdir()) == [other.parent]


def test_pushing_a_shards_files_skips_those_other_workers_are_writing(tmp_path: Path) -> None:
    """Worker processes observe their shards into one scratch folder at the same time. A
    task pushing its shard's files must not look at another shard's file still being written
    (its writer renames it away at any moment: the task failed with FileNotFoundError)."""
    from mdfs.coarse.near_dedup_index import NearDedupIndex
    from mdfs.layout import GlobalFiles

    local = tmp_path / "near_dedup"
    local.mkdir()
    memory = fsspec.filesystem("memory")
    remote = f"/mdfs-test-{tmp_path.name}-push/near_dedup"
    files = GlobalFiles(local, memory, remote, f"{remote}.outputs.json")
    with NearDedupIndex(str(local)).shard_writer("00000"):
        pass
    done = sorted(p.name for p in local.iterdir())
    with NearDedupIndex(str(local)).shard_writer("00001"):  # another worker's, unfinished
        writing = sorted(p.name for p in local.iterdir() if p.name.startswith(".00001."))
        assert writing  # hidden while written
        assert sorted(files.snapshot()) == done
        files.push_observation("00000")
    pushed = sorted(p.rsplit("/", 1)[-1] for p in memory.ls(remote, detail=False))
    assert pushed == done
    memory.rm(remote.rsplit("/", 1)[0], recursive=True)
