"""The engine contract (`mdfs.tasks.Engine`): an engine only runs shard tasks, and the run
loop keeps resume and the accounting right whatever an engine does with them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdfs.engines.local import LocalEngine
from mdfs.errors import UserError
from mdfs.recipe import parse_recipe
from mdfs.run import run_pipeline
from mdfs.tasks import Engine, ShardJob, ShardTask, TaskOutcome, run_task
from tests.conftest import read_parts

# Two global steps: three phases, each with a decide between them.
RECIPE = {
    "collect": {"shard_max_files": 1},
    "steps": [{"normalize": {}}, {"exact_dedup": {}}, {"paragraph_dedup": {}}],
}


class InOrder(Engine):
    """The shortest engine there is: every task here, one after the other."""

    def run_tasks(self, job: ShardJob, tasks: list[ShardTask]) -> list[TaskOutcome]:
        return [run_task(job, task) for task in tasks]


class Speculative(Engine):
    """Runs every task twice and reports both, as a cluster with speculation might."""

    def run_tasks(self, job: ShardJob, tasks: list[ShardTask]) -> Iterator[TaskOutcome]:
        for task in reversed(tasks):  # any order
            yield run_task(job, task)
            yield run_task(job, task)


class Losing(Engine):
    """Never reports the last task of a phase (its worker vanished)."""

    def run_tasks(self, job: ShardJob, tasks: list[ShardTask]) -> list[TaskOutcome]:
        return [run_task(job, task) for task in tasks[:-1]]


@pytest.fixture(scope="module")
def inputs(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """People's Daily paragraphs in four JSONL files, some documents twice, one sentence in
    several documents (for paragraph_dedup)."""
    root = tmp_path_factory.mktemp("engine-inputs")
    text = (shared / "data" / "text" / "peoples_daily_199801_pos_tagged.txt").read_text()
    lines = [re.sub(r"/[A-Za-z]+\s*", "", ln).replace(" ", "") for ln in text.splitlines()]
    lines = [ln for ln in lines if len(ln) > 30][:160]
    repeated = "本报记者从有关部门获悉，这项工作将在全国范围内展开。"
    documents = ["\n".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]
    documents = [d + "\n" + repeated if n % 5 == 0 else d for n, d in enumerate(documents)]
    documents += documents[:6]  # exact duplicates, in other files
    for index in range(4):
        with (root / f"part-{index}.jsonl").open("w", encoding="utf-8") as out:
            for number, body in enumerate(documents[index::4]):
                record = {"id": f"p{index}-{number}", "text": body}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return root


def outcome(output: Path) -> tuple[list, list, dict]:
    report = json.loads((output / "report.json").read_text())
    kept = sorted((r["id"], r["text"]) for r in read_parts(output / "corpus"))
    removed = sorted(
        (r["id"], r["removed_by"], r["reason"]) for r in read_parts(output / "removed")
    )
    counts = {k: report[k] for k in ("documents_in", "documents_kept", "sources", "errors")}
    counts["steps"] = [(s["name"], s["in"], s["kept"], s["removed"]) for s in report["steps"]]
    return kept, removed, counts


@pytest.fixture(scope="module")
def reference(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    output = tmp_path_factory.mktemp("engine-reference") / "out"
    report = run_pipeline([str(inputs)], output, parse_recipe(RECIPE), LocalEngine(2))
    assert report["steps"][1]["removed"]["exact_duplicate"] == 6
    assert report["global_steps"]["paragraph_dedup"]["frequent_paragraphs"] >= 1
    return outcome(output)


@pytest.mark.parametrize("engine", [InOrder(), Speculative()], ids=["in-order", "speculative"])
def test_any_engine_gives_the_local_engines_run(
    engine: Engine, inputs: Path, reference: tuple, tmp_path: Path
) -> None:
    run_pipeline([str(inputs)], tmp_path / "out", parse_recipe(RECIPE), engine)
    assert outcome(tmp_path / "out") == reference


def test_a_lost_task_stops_the_run_and_the_rerun_finishes_it(
    inputs: Path, reference: tuple, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    with pytest.raises(UserError, match=r"1 shard.* of phase 0 failed .*returned no outcome"):
        run_pipeline([str(inputs)], output, parse_recipe(RECIPE), Losing())
    assert len(list((output / ".mdfs" / "stats" / "phase-0").glob("*.json"))) == 3
    run_pipeline([str(inputs)], output, parse_recipe(RECIPE), InOrder())
    assert outcome(output) == reference
