"""The Spark engine on local[2]: the same corpus and report as the local engine."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdfs.cli import main
from mdfs.recipe import load_recipe
from mdfs.run import run_pipeline
from tests.spark.conftest import SPARK_TEST_CONF, assert_same_run, read_parts

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def engine() -> Iterator[object]:
    from mdfs.engines.spark import SparkEngine

    engine = SparkEngine(master="local[2]", conf=SPARK_TEST_CONF)
    engine.start()  # one application for the module; each run joins it
    yield engine
    engine.stop()


def test_local2_equals_local_engine(
    engine: object, spark_inputs: Path, recipe_file: Path, local_reference: Path, tmp_path: Path
) -> None:
    output = tmp_path / "spark"
    args = ["run", str(spark_inputs), "-o", str(output), "--recipe", str(recipe_file)]
    assert main([*args, "--engine", "spark", "--master", "local[2]"]) == 0
    assert_same_run(output, local_reference)
    report = json.loads((output / "report.json").read_text())
    assert report["global_steps"]["exact_dedup"]["duplicates"] >= 1
    assert report["inputs"]["shards"] >= 5  # several tasks, so two run at once
    assert not list((output / ".mdfs").glob("stage-*")), "staged phases are cleaned up"


def test_killed_python_worker_is_retried(
    engine, spark_inputs: Path, recipe_file: Path, local_reference: Path, tmp_path: Path
) -> None:
    from pyspark import cloudpickle

    import tests.spark.helper_steps as helper_steps

    # The step is not in an installed package: ship its code with the recipe.
    cloudpickle.register_pickle_by_value(helper_steps)
    recipe = load_recipe(str(recipe_file))
    marker = tmp_path / "killed"
    recipe.steps.insert(3, helper_steps.KillOnce(marker=str(marker)))
    output = tmp_path / "spark"
    run_pipeline([str(spark_inputs)], output, recipe, engine)
    assert marker.read_text() == "killed attempt 0"
    assert_same_run(output, local_reference, skip_steps=("kill_once",))
    assert not list(output.rglob(".*.tmp-*")), "a killed attempt's partial files are replaced"


def test_step_bug_is_reported_not_retried(spark_inputs: Path, engine, tmp_path: Path) -> None:
    from pyspark import cloudpickle

    import tests.spark.helper_steps as helper_steps
    from mdfs.errors import UserError

    cloudpickle.register_pickle_by_value(helper_steps)
    recipe = load_recipe(None)
    recipe.steps = [*recipe.steps[:2], helper_steps.BrokenObserve()]
    with pytest.raises(UserError, match="observe is broken"):
        run_pipeline([str(spark_inputs / "seed_page.txt")], tmp_path / "o", recipe, engine)
    assert "ValueError" in (tmp_path / "o" / ".mdfs" / "failures.log").read_text()


def union_find_roots(edges: list[tuple[int, int]]) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for x, y in edges:
        a, b = find(x), find(y)
        parent[max(a, b)] = min(a, b)
    return {node: find(node) for node in parent if find(node) != node}


def test_connected_components_match_union_find(engine, tmp_path: Path) -> None:
    from mdfs.engines.spark_near_dedup import connected_components

    spark = engine.start()
    spark.sparkContext.setCheckpointDir(str(tmp_path / "checkpoints"))
    rng = random.Random(5)
    edges = [(rng.randrange(400), rng.randrange(400)) for _ in range(260)]
    edges += [(1000 + i, 1000 + i + 1) for i in range(60)]  # a long path: the slowest case
    edges += [(1 << 32 | 7, 3), (5 << 32, 1 << 32 | 7)]  # ids above 32 bits
    frame = spark.createDataFrame(edges, "x long, y long")
    found = {row.node: row.root for row in connected_components(frame).collect()}
    assert found == union_find_roots(edges)


@pytest.fixture(scope="module")
def near_duplicate_inputs(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """People's Daily articles in three JSONL files, with edited copies spread over the files:
    one-sentence edits (near duplicates), chains of edits (A~B~C, clusters by transitivity)."""
    import re

    root = tmp_path_factory.mktemp("near")
    text = (shared / "data" / "text" / "peoples_daily_199801_pos_tagged.txt").read_text()
    lines = [re.sub(r"/[A-Za-z]+\s*", "", ln).replace(" ", "") for ln in text.splitlines()]
    lines = [ln for ln in lines if len(ln) > 20][:1200]
    articles = ["\n".join(lines[i : i + 30]) for i in range(0, len(lines), 30)]
    rng = random.Random(11)
    documents = []
    for number, article in enumerate(articles):
        documents.append((f"a{number}", article))
        version = article
        for copy in range(number % 4):  # 0-3 edited copies, each edited from the previous
            sentences = version.split("\n")
            sentences[rng.randrange(len(sentences))] = "编者按：本文有改动。"
            version = "\n".join(sentences)
            documents.append((f"a{number}-edit{copy}", version))
    rng.shuffle(documents)
    for index in range(3):
        with (root / f"part-{index}.jsonl").open("w", encoding="utf-8") as out:
            for doc_id, body in documents[index::3]:
                out.write(json.dumps({"id": doc_id, "text": body}, ensure_ascii=False) + "\n")
    return root


@pytest.mark.parametrize("keep", ["longest"])
def test_near_dedup_step_on_spark_equals_local(
    engine, near_duplicate_inputs: Path, tmp_path: Path, keep: str
) -> None:
    pytest.importorskip("mdfs.coarse.near_dedup")
    from mdfs.engines.local import LocalEngine
    from mdfs.engines.spark import spark_decider
    from mdfs.engines.spark_near_dedup import decide_near_dedup
    from mdfs.recipe import parse_recipe

    recipe = {
        "collect": {"shard_max_files": 1},
        "steps": [{"normalize": {}}, {"exact_dedup": {}}, {"near_dedup": {"keep": keep}}],
    }
    assert spark_decider(parse_recipe(recipe).steps[2]) is decide_near_dedup
    inputs = [str(near_duplicate_inputs)]
    run_pipeline(inputs, tmp_path / "local", parse_recipe(recipe), LocalEngine(2))
    run_pipeline(inputs, tmp_path / "spark", parse_recipe(recipe), engine)
    assert_same_run(tmp_path / "spark", tmp_path / "local")
    report = json.loads((tmp_path / "spark" / "report.json").read_text())
    figures = report["global_steps"]["near_dedup"]
    assert figures["decided_on"] == "spark"
    assert figures["near_duplicates"] >= 40 and figures["largest_cluster"] >= 4
    kept = {r["id"]: r for r in read_parts(tmp_path / "spark" / "corpus")}
    assert sum(r["meta"]["duplicate_cluster_size"] > 1 for r in kept.values()) >= 20


def test_resources_load_once_per_python_worker(
    engine, spark_inputs: Path, recipe_file: Path, local_reference: Path, tmp_path: Path
) -> None:
    from pyspark import cloudpickle

    import tests.spark.helper_steps as helper_steps

    cloudpickle.register_pickle_by_value(helper_steps)
    recipe = load_recipe(str(recipe_file))
    log = tmp_path / "setups.log"
    recipe.steps.insert(1, helper_steps.RecordSetup(log=str(log)))
    output = tmp_path / "spark"
    report = run_pipeline([str(spark_inputs)], output, recipe, engine)
    pids = log.read_text().split()
    assert len(pids) == len(set(pids)), "a worker process loaded the step twice"
    assert len(pids) < report["inputs"]["shards"], "tasks in one worker share its resources"
    assert_same_run(output, local_reference, skip_steps=("record_setup",))
