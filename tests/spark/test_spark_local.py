"""The Spark engine on local[2]: the same corpus and report as the local engine, for the
coarse steps, near-duplicate removal and the fine filter."""

from __future__ import annotations

import contextlib
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdfs.cli import main
from mdfs.recipe import load_recipe, parse_recipe
from mdfs.run import run_pipeline
from tests.spark.conftest import SPARK_TEST_CONF, assert_same_run, helper_steps, read_parts

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
    recipe = load_recipe(str(recipe_file))
    marker = tmp_path / "killed"
    recipe.steps.insert(3, helper_steps.KillOnce(marker=str(marker)))
    output = tmp_path / "spark"
    run_pipeline([str(spark_inputs)], output, recipe, engine)
    assert marker.read_text() == "killed attempt 0"
    assert_same_run(output, local_reference, skip_steps=("kill_once",))
    assert not list(output.rglob(".*.tmp-*")), "a killed attempt's partial files are replaced"


def test_step_bug_is_reported_not_retried(spark_inputs: Path, engine, tmp_path: Path) -> None:
    from mdfs.errors import UserError

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
    from mdfs.coarse.near_dedup_spark import connected_components

    spark = engine.start()
    spark.sparkContext.setCheckpointDir(str(tmp_path / "checkpoints"))
    rng = random.Random(5)
    edges = [(rng.randrange(200), rng.randrange(200)) for _ in range(120)]
    edges += [(1000 + i, 1000 + i + 1) for i in range(30)]  # a long path: the slowest case
    edges += [(1 << 32 | 7, 3), (5 << 32, 1 << 32 | 7)]  # ids above 32 bits
    frame = spark.createDataFrame(edges, "x long, y long")
    found = {row.node: row.root for row in connected_components(frame).collect()}
    assert found == union_find_roots(edges)


def test_near_dedup_step_on_spark_equals_local(
    engine, near_duplicate_inputs: Path, tmp_path: Path
) -> None:
    pytest.importorskip("mdfs.coarse.near_dedup")
    from mdfs.engines.local import LocalEngine

    recipe = {
        "collect": {"shard_max_files": 1},
        "steps": [{"normalize": {}}, {"exact_dedup": {}}, {"near_dedup": {}}],
    }
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


def test_near_dedup_near_the_threshold_on_spark_equals_local(
    engine, shared: Path, tmp_path: Path
) -> None:
    """Pairs whose exact Jaccard straddles the threshold, some with a MinHash estimate on the
    other side of it: Spark keeps the local engine's documents with either `verify`, and the
    two modes keep different sets (so a Spark decide verifying the wrong way would fail)."""
    from mdfs.coarse.near_dedup import NearDedup
    from mdfs.engines.local import LocalEngine
    from tests.dedup import near_threshold

    pairs = near_threshold.near_threshold_pairs(
        near_threshold.wikipedia_paragraphs(shared), 60, seed=3
    )
    exact, estimate, _ = near_threshold.similarities(pairs, NearDedup())
    assert ((exact >= 0.8) != (estimate >= 0.8)).sum() >= 10
    near_threshold.write_inputs(
        tmp_path / "in", near_threshold.pair_documents(pairs), files=3, seed=3
    )
    inputs = [str(tmp_path / "in")]
    kept = {}
    for verify in ("exact", "signature"):
        recipe = {"collect": {"shard_max_files": 1}, "steps": [{"near_dedup": {"verify": verify}}]}
        local, spark = tmp_path / f"local-{verify}", tmp_path / f"spark-{verify}"
        run_pipeline(inputs, local, parse_recipe(recipe), LocalEngine(2))
        report = run_pipeline(inputs, spark, parse_recipe(recipe), engine)
        assert report["global_steps"]["near_dedup"]["decided_on"] == "spark"
        assert_same_run(spark, local)
        kept[verify] = {r["id"] for r in read_parts(spark / "corpus")}
    assert kept["exact"] != kept["signature"]


def test_url_output_equals_local_engine(
    engine, near_duplicate_inputs: Path, tmp_path: Path
) -> None:
    """An output given as a URL: tasks write through fsspec, global steps work in scratch and
    exchange files through the URL; near_dedup's Spark decide reads and writes the URL."""
    pytest.importorskip("mdfs.coarse.near_dedup")
    from mdfs.engines.local import LocalEngine

    recipe = {
        "collect": {"shard_max_files": 1},
        "steps": [{"normalize": {}}, {"exact_dedup": {}}, {"near_dedup": {}},
                  {"paragraph_dedup": {}}],
    }  # fmt: skip
    inputs = [str(near_duplicate_inputs)]
    run_pipeline(inputs, tmp_path / "local", parse_recipe(recipe), LocalEngine(2))
    url = (tmp_path / "spark").as_uri()
    report = run_pipeline(inputs, url, parse_recipe(recipe), engine)
    assert_same_run(tmp_path / "spark", tmp_path / "local")
    assert report["global_steps"]["near_dedup"]["decided_on"] == "spark"
    assert report["global_steps"]["near_dedup"]["near_duplicates"] >= 40
    decisions = json.loads(
        (tmp_path / "spark" / ".mdfs" / "global" / "near_dedup.outputs.json").read_text()
    )
    assert decisions["shards"]["00000"] == ["00000.near.json"]  # written by executors
    assert not list((tmp_path / "spark").rglob(".*.tmp-*"))


def test_resources_load_once_per_python_worker(
    engine, spark_inputs: Path, recipe_file: Path, local_reference: Path, tmp_path: Path
) -> None:
    recipe = load_recipe(str(recipe_file))
    log = tmp_path / "setups.log"
    recipe.steps.insert(1, helper_steps.RecordSetup(log=str(log)))
    output = tmp_path / "spark"
    report = run_pipeline([str(spark_inputs)], output, recipe, engine)
    pids = log.read_text().split()
    assert len(pids) == len(set(pids)), "a worker process loaded the step twice"
    assert len(pids) < report["inputs"]["shards"], "tasks in one worker share its resources"
    assert_same_run(output, local_reference, skip_steps=("record_setup",))


# -- the fine filter: the classifier runs in executors, batched per task ---------------


@pytest.fixture(scope="module")
def tiny_model(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classifier trained in seconds on real texts (Wikipedia high, SMS low and ads)."""
    pytest.importorskip("transformers")
    pytest.importorskip("mdfs.fine.step")

    import csv

    wiki = json.loads(
        (shared / "data" / "text" / "cmrc2018_wikipedia" / "cmrc2018_trial.json").read_text()
    )["data"]
    rows = [{"text": p["context"][:200], "label": "high"} for a in wiki for p in a["paragraphs"]]
    rows = rows[:40]
    with (shared / "data" / "spam" / "sample2.csv").open(encoding="utf-8") as stream:
        sms = [r for r in csv.DictReader(stream) if len(r["content"]) > 8]
    rows += [{"text": r["content"], "label": "low"} for r in sms if r["label"] == "0"][:40]
    rows += [{"text": r["content"], "label": "ad"} for r in sms if r["label"] == "1"][:40]
    root = tmp_path_factory.mktemp("model")
    data = root / "labelled.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    args = ["train-classifier", "--data", str(data), "--output", str(root / "tiny")]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*args, "--pretrain-steps", "3", "--epochs", "1", "--threads", "1"]) == 0
    return root / "tiny"


def test_quality_classifier_step_on_spark_equals_local(
    engine, tiny_model: Path, spark_inputs: Path, tmp_path: Path
) -> None:
    from mdfs.engines.local import LocalEngine

    recipe = {
        "collect": {"shard_max_files": 1},
        "steps": [
            {"extract": {}},
            {"normalize": {}},
            # one thread: the same floating-point sums in every process
            {"quality_classifier": {"model": str(tiny_model), "threads": 1, "batch_size": 8}},
        ],
    }
    run_pipeline([str(spark_inputs)], tmp_path / "local", parse_recipe(recipe), LocalEngine(2))
    run_pipeline([str(spark_inputs)], tmp_path / "spark", parse_recipe(recipe), engine)
    assert_same_run(tmp_path / "spark", tmp_path / "local")
    report = json.loads((tmp_path / "spark" / "report.json").read_text())
    assert report["steps"][-1]["in"] > 20  # the classifier judged real pages in executors


def test_classify_command_on_spark_equals_local(
    engine, tiny_model: Path, spark_inputs: Path, tmp_path: Path, monkeypatch
) -> None:
    """Classify is a recipe run: one Spark task per input file, documents and predictions
    written through fsspec (a file:// URL), predictions in input order."""
    import mdfs.cli.fine

    monkeypatch.setattr(mdfs.cli.fine, "CLASSIFY_COLLECT", {"shard_max_files": 1})
    files = [str(spark_inputs / "crawl-0.warc.gz"), str(spark_inputs / "seed_page.txt")]
    common = ["classify", *files, "--model", str(tiny_model)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*common, "--output", str(tmp_path / "local")]) == 0
        spark = ["--engine", "spark", "--master", "local[2]"]
        assert main([*common, "--output", (tmp_path / "spark").as_uri(), *spark]) == 0

    def predictions(folder: Path) -> list[dict]:
        return [json.loads(line) for line in (folder / "predictions.jsonl").open()]

    local, on_spark = predictions(tmp_path / "local"), predictions(tmp_path / "spark")
    assert len(local) >= 5  # the pages of one WARC file and the seed page
    assert [(p["id"], p["label"]) for p in on_spark] == [(p["id"], p["label"]) for p in local]
    for a, b in zip(local, on_spark, strict=True):
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-4)
    assert_same_run(tmp_path / "spark", tmp_path / "local")  # documents, texts, report
    assert not list((tmp_path / "spark").rglob(".*.tmp-*")), "no attempt file is left"


def test_annotated_parquet_run_equals_the_local_engines(
    engine: object, spark_inputs: Path, recipe_file: Path, tmp_path: Path
) -> None:
    """An annotated run with Parquet parts on Spark: the local engine's files, row for row."""
    runs = {}
    for name, extra in (("local", ["--workers", "2"]), ("spark", ["--engine", "spark",
                        "--master", "local[2]"])):  # fmt: skip
        output = tmp_path / name
        args = ["run", str(spark_inputs), "-o", str(output), "--recipe", str(recipe_file)]
        assert main([*args, "--annotate", "--format", "parquet", *extra]) == 0
        assert list((output / "corpus").glob("*.parquet"))
        runs[name] = sorted(
            (r["id"], r["text"], json.dumps(r["meta"], sort_keys=True))
            for r in read_parts(output / "corpus")
        )
    assert runs["spark"] == runs["local"]
    assert any(json.loads(meta)["removed_by"] for _, _, meta in runs["spark"])


def test_decontaminate_on_spark_removes_the_planted_documents(engine, tmp_path: Path) -> None:
    from tests.core.test_decontaminate import (
        assert_planted_removed,
        planted_corpus,
        write_run_inputs,
    )

    documents, planted = planted_corpus()
    inputs, recipe = write_run_inputs(documents, tmp_path)
    output = tmp_path / "spark"
    args = ["run", str(inputs), "--output", str(output), "--recipe", str(recipe)]
    assert main([*args, "--engine", "spark", "--master", "local[2]"]) == 0
    assert_planted_removed(output, documents, planted)
