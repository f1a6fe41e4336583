"""What one shard task writes and reports (`mdfs.tasks`), worked out by hand on a small run:
per-source, per-domain and per-step counts, examples, errors, skipped files, tokens, resume
of a finished task, and a step's exception. The run is in this process (an in-order engine),
so each check takes a second."""

from __future__ import annotations

import json
import math
import os
import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from mdfs.document import Document, Removed
from mdfs.layout import Layout
from mdfs.pipeline import Filter, register
from mdfs.progress import LiveCounts
from mdfs.recipe import parse_recipe
from mdfs.run import run_pipeline
from mdfs.tasks import (
    EXAMPLE_CHARS,
    Engine,
    ShardJob,
    ShardTask,
    TaskOutcome,
    run_shard,
    run_task,
)
from mdfs.tokens import estimate_tokens
from tests.conftest import read_parts


@register
class MarkedForRemoval(Filter):
    """Removes what carries the mark: the test decides every verdict."""

    name = "marked_test"

    def keep(self, document: Document) -> bool | str:
        return "【删】" not in document.text or "marked"


@register
class TooShortForTest(Filter):
    name = "short_test"
    min_chars: int = 20

    def keep(self, document: Document) -> bool | str:
        return len(document.text) >= self.min_chars or "too_short"


@register
class Exploding(Filter):
    """Fails as a whole (a model that does not load), not on one document."""

    name = "exploding_test"

    def run(self, documents: Iterable[Document]) -> Iterator[Document | Removed]:
        raise RuntimeError("no model to load")
        yield from documents


class InOrder(Engine):
    def run_tasks(self, job: ShardJob, tasks: list[ShardTask]) -> list[TaskOutcome]:
        return [run_task(job, task) for task in tasks]


# Two phases: marked_test (phase 0), then exact_dedup's decision, exact_dedup and short_test
RECIPE = {
    "collect": {"shard_max_files": 1},
    "steps": [{"marked_test": {}}, {"exact_dedup": {}}, {"short_test": {}}],
}


@pytest.fixture(scope="module")
def paragraphs(shared: Path) -> list[str]:
    text = (shared / "data" / "text" / "peoples_daily_199801_pos_tagged.txt").read_text()
    lines = [re.sub(r"/[A-Za-z]+\s*", "", ln).replace(" ", "") for ln in text.splitlines()]
    return [ln for ln in lines if len(ln) > 60][:12]


@pytest.fixture(scope="module")
def inputs(paragraphs: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("task-inputs")
    p = paragraphs
    long_marked = "【删】" + "".join(p[5:12])  # longer than an example keeps
    assert len(long_marked) > EXAMPLE_CHARS
    a = [
        {"id": "a1", "text": p[0], "url": "http://news.cn/1"},
        {"id": "a2", "text": long_marked, "url": "http://news.cn/2"},
        {"id": "a3", "text": "短文一篇", "url": "http://blog.cn/3"},
        {"id": "a4", "text": "【删】" + p[1], "url": "https://news.cn/4"},
        {"id": "a5", "text": "【删】" + p[2]},
    ]
    b = [
        {"id": "b1", "text": p[0], "url": "http://blog.cn/5"},  # a1's text
        {"id": "b2", "text": p[3]},
        {"id": "b3", "text": "【删】" + p[4], "url": "http://blog.cn/6"},
    ]
    for name, rows in (("a", a), ("b", b)):
        lines = [json.dumps(r, ensure_ascii=False) for r in rows]
        if name == "a":
            lines += ["{not json"] * 25  # more than a shard keeps examples of
        (root / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "c.xyz").write_bytes(b"\x00\x01 not a format")
    return root


@pytest.fixture
def run(inputs: Path, tmp_path: Path) -> tuple[Path, dict]:
    """A run for each test (a second in this process), so that a tool that maps functions to
    the tests reaching them (mutmut) sees every test that checks a run."""
    output = tmp_path / "run"
    report = run_pipeline([str(inputs)], output, parse_recipe(RECIPE), InOrder())
    return output, report


def test_counts_by_source_step_and_domain(inputs: Path, run: tuple[Path, dict]) -> None:
    output, report = run
    a, b = str(inputs / "a.jsonl"), str(inputs / "b.jsonl")
    assert (report["documents_in"], report["documents_kept"]) == (8, 2)
    assert [(s["name"], s["in"], s["kept"], s["removed"]) for s in report["steps"]] == [
        ("marked_test", 8, 4, {"marked": 4}),
        ("exact_dedup", 4, 3, {"exact_duplicate": 1}),
        ("short_test", 3, 2, {"too_short": 1}),
    ]
    assert report["sources"] == {a: {"in": 5, "kept": 1}, b: {"in": 3, "kept": 1}}
    assert report["removed_by_source"] == {
        a: {"marked_test": 3, "short_test": 1},
        b: {"marked_test": 1, "exact_dedup": 1},
    }
    assert report["domains"] == {
        "news.cn": {"in": 3, "kept": 1, "marked_test/marked": 2},
        "blog.cn": {"in": 3, "marked_test/marked": 1, "exact_dedup/exact_duplicate": 1,
                    "short_test/too_short": 1},
        "(no url)": {"in": 2, "kept": 1, "marked_test/marked": 1},
    }  # fmt: skip
    # each shard's marker (c.xyz makes a shard of no documents): what entered the phase, and
    # kept per source in the last phase only
    markers = [json.loads(p.read_bytes()) for p in (output / ".mdfs" / "stats").rglob("*.json")]
    figures = [(m["phase"], m["documents_in"], sum(m["sources_kept"].values())) for m in markers]
    assert sorted(figures) == [(0, 0, 0), (0, 3, 0), (0, 5, 0), (1, 0, 0), (1, 2, 1), (1, 2, 1)]
    kept = sorted(r["id"] for r in read_parts(output / "corpus"))
    assert kept == ["a1", "b2"]
    removed = sorted(
        (r["id"], r["removed_by"], r["reason"]) for r in read_parts(output / "removed")
    )
    assert removed == [
        ("a2", "marked_test", "marked"), ("a3", "short_test", "too_short"),
        ("a4", "marked_test", "marked"), ("a5", "marked_test", "marked"),
        ("b1", "exact_dedup", "exact_duplicate"), ("b3", "marked_test", "marked"),
    ]  # fmt: skip


def test_examples_are_capped_and_cut(run: tuple[Path, dict], paragraphs: list[str]) -> None:
    _, report = run
    examples = report["removed_examples"]
    assert sorted(examples) == [
        "exact_dedup/exact_duplicate", "marked_test/marked", "short_test/too_short"
    ]  # fmt: skip
    marked = examples["marked_test/marked"]
    assert len(marked) == 3  # of 4
    long = next(e for e in marked if e["id"] == "a2")
    assert long["text"] == ("【删】" + "".join(paragraphs[5:12]))[:EXAMPLE_CHARS]
    assert (long["url"], long["source"].endswith("a.jsonl"), long["scores"]) == (
        "http://news.cn/2",
        True,
        {},
    )
    assert examples["short_test/too_short"] == [
        {"id": "a3", "url": "http://blog.cn/3", "source": long["source"], "text": "短文一篇",
         "scores": {}}
    ]  # fmt: skip


def test_errors_and_skipped_files(inputs: Path, run: tuple[Path, dict]) -> None:
    output, report = run
    assert report["errors"] == {"bad_json": 25, "unknown_format": 1}
    assert report["skipped_inputs"] == {
        str(inputs / "c.xyz"): f"{inputs / 'c.xyz'}: '.xyz' files are not a format MDFS reads; "
        "skipped"
    }
    # a shard keeps its first 20, and so does the report
    where = [example.split(": ")[0] for example in report["error_examples"]]
    assert where == [f"{inputs / 'a.jsonl'}:{line}" for line in range(6, 26)]
    markers = [json.loads(p.read_bytes()) for p in (output / ".mdfs" / "stats").rglob("*.json")]
    shard_a = next(m for m in markers if m["phase"] == 0 and m["documents_in"] == 5)
    assert shard_a["errors"] == {"bad_json": 25}
    assert shard_a["error_examples"] == report["error_examples"]


def test_tokens_are_counted_in_and_kept(run: tuple[Path, dict]) -> None:
    """Without a tokenizer, the estimate: 1.5 characters a token, a started token counted."""
    output, report = run
    assert report["tokens_counted_with"] == "estimate: 1.5 characters per token"
    kept = read_parts(output / "corpus")
    documents = kept + read_parts(output / "removed")
    assert report["tokens_in"] == sum(math.ceil(len(d["text"]) * 2 / 3) for d in documents)
    assert report["tokens_kept"] == sum(math.ceil(len(d["text"]) * 2 / 3) for d in kept)
    assert report["steps"][0]["tokens_in"] == report["tokens_in"]
    assert estimate_tokens("短文一篇") == 3 and estimate_tokens("短文一") == 2


def test_a_finished_task_is_not_run_again(inputs: Path, run: tuple[Path, dict]) -> None:
    output, _ = run
    job = ShardJob(parse_recipe(RECIPE), Layout.for_output(output))
    markers = sorted((output / ".mdfs" / "stats" / "phase-1").glob("*.json"))
    parts = sorted((output / "corpus").iterdir())
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in markers + parts]
    shard = markers[0].name.removesuffix(".json")
    files = [str(inputs / "a.jsonl")]
    outcome = run_task(job, ShardTask(1, shard, files))
    assert outcome.failure is None and outcome.result is not None
    assert outcome.result.to_json() == markers[0].read_bytes()
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in markers + parts] == before


def test_a_steps_exception_is_the_tasks_failure(inputs: Path, tmp_path: Path) -> None:
    recipe = parse_recipe({"steps": [{"exploding_test": {}}]})
    output = tmp_path / "out"
    layout = Layout.for_output(output)
    Path(layout.manifest).parent.mkdir(parents=True)
    Path(layout.manifest).write_text("{}")  # what the run loop writes before any task
    job = ShardJob(recipe, layout)
    outcome = run_task(job, ShardTask(0, "00000", [str(inputs / "b.jsonl")]))
    assert outcome.result is None
    assert outcome.failure is not None
    assert outcome.failure.startswith("RuntimeError: no model to load\nTraceback")
    assert not (output / ".mdfs" / "stats").exists() or not any(
        (output / ".mdfs" / "stats").rglob("*.json")
    )


def test_an_output_the_worker_cannot_see_is_the_tasks_failure(inputs: Path, tmp_path: Path) -> None:
    job = ShardJob(parse_recipe(RECIPE), Layout.for_output(tmp_path / "elsewhere"))
    outcome = run_task(job, ShardTask(0, "00000", [str(inputs / "b.jsonl")]))
    assert outcome.result is None
    assert outcome.failure is not None
    assert outcome.failure.startswith(f"the output {tmp_path / 'elsewhere'} is not visible")


def test_an_annotated_run_removes_nothing_and_counts_the_same(
    inputs: Path, run: tuple[Path, dict], tmp_path: Path
) -> None:
    _, normal = run
    recipe = parse_recipe({**RECIPE, "output": {"annotate": True}})
    output = tmp_path / "out"
    report = run_pipeline([str(inputs)], output, recipe, InOrder())
    assert read_parts(output / "removed") == []
    corpus = {r["id"]: r for r in read_parts(output / "corpus")}
    assert sorted(corpus) == ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3"]
    assert (corpus["a2"]["meta"]["removed_by"], corpus["a2"]["meta"]["reason"]) == (
        "marked_test", "marked"
    )  # fmt: skip
    assert corpus["a1"]["meta"]["removed_by"] is None
    assert report["domains"] == normal["domains"]
    assert report["removed_by_source"] == normal["removed_by_source"]
    assert report["documents_flagged"] == 6


def test_a_replay_of_the_annotated_run_is_the_normal_run(
    inputs: Path, run: tuple[Path, dict], tmp_path: Path
) -> None:
    """`mdfs filter` with the same recipe: every stored verdict taken, the annotations
    stripped, the same corpus, removals and counts as the normal run."""
    from mdfs.replay import annotated_run, plan_replay

    normal_output, normal = run
    annotated = tmp_path / "annotated"
    recipe = parse_recipe({**RECIPE, "output": {"annotate": True}})
    run_pipeline([str(inputs)], annotated, recipe, InOrder())
    stored, parts = annotated_run(annotated)
    replay = plan_replay(stored, parse_recipe(RECIPE))
    output = tmp_path / "replayed"
    report = run_pipeline(parts, output, parse_recipe(RECIPE), InOrder(), replay=replay)
    for folder in ("corpus", "removed"):
        again = sorted(read_parts(output / folder), key=lambda r: r["id"])
        assert again == sorted(read_parts(normal_output / folder), key=lambda r: r["id"])
    assert not any("verdicts" in r["meta"] for r in read_parts(output / "corpus"))
    counts = ("documents_in", "documents_kept", "domains", "removed_by_source")
    assert {k: report[k] for k in counts} == {k: normal[k] for k in counts}
    assert report["removed_examples"].keys() == normal["removed_examples"].keys()


def test_a_running_shard_counts_its_documents_and_bytes_live(inputs: Path, tmp_path: Path) -> None:
    """What the progress line shows while a shard runs: every document read, and the whole
    input file's bytes; taken back when the shard ends (its stats then speak for it)."""
    from mdfs import progress

    live = progress.LiveCounts()
    progress.attach(live)
    try:
        job = ShardJob(parse_recipe(RECIPE), Layout.for_output(tmp_path / "out"))
        counter = progress.ShardCounter()
        path = inputs / "a.jsonl"
        result = run_shard(job, ShardTask(0, "00000", [str(path)]), counter)
        assert result.documents_in == 5
        assert live.read() == (5, path.stat().st_size)
        counter.close()
        assert live.read() == (0, 0)
    finally:
        progress.attach(None)


def _die_holding_the_lock(live: LiveCounts) -> None:
    live._documents.get_lock().acquire()
    os._exit(9)  # as the OOM killer leaves it: no release, no cleanup


def test_live_counts_survive_a_worker_killed_holding_their_lock() -> None:
    """A worker killed inside `add` left the lock taken; the progress thread then waited on it
    for ever, and the run with it, instead of failing so that it could be resumed."""
    import multiprocessing

    live = LiveCounts()
    live.add(documents=5, read_bytes=100)
    worker = multiprocessing.get_context().Process(target=_die_holding_the_lock, args=(live,))
    worker.start()
    worker.join(timeout=30)
    assert worker.exitcode == 9
    seen: list[tuple[int, int]] = []

    def progress_line_and_another_worker() -> None:
        seen.append(live.read())
        live.add(documents=1, read_bytes=10)  # the documents' update is dropped
        seen.append(live.read())

    # in a thread: on a lock held for ever the test fails instead of hanging the suite
    thread = threading.Thread(target=progress_line_and_another_worker, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert seen == [(5, 100), (5, 110)]


def test_each_task_pushes_its_observations_to_a_url_output(inputs: Path) -> None:
    """A run into a URL: the files a global step observed for each shard go to the URL (where
    a resume or another host finds them), not only to this host's scratch."""
    import fsspec

    url = f"memory://mdfs-test-{uuid.uuid4().hex}/out"
    run_pipeline([str(inputs)], url, parse_recipe(RECIPE), InOrder())
    fs, root = fsspec.core.url_to_fs(url)
    names = [p.rsplit("/", 1)[-1] for p in fs.find(f"{root}/.mdfs/global/exact_dedup")]
    observed = sorted(name for name in names if name.endswith(".hashes.npy"))  # not decided
    assert observed == ["00000.hashes.npy", "00001.hashes.npy", "00002.hashes.npy"]
    fs.rm(root.rsplit("/", 1)[0], recursive=True)
