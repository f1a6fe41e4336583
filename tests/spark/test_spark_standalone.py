"""The Spark engine on a real standalone cluster (master + worker on loopback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdfs.cli import main
from mdfs.recipe import load_recipe
from mdfs.run import run_pipeline
from tests.spark.cluster import standalone_cluster
from tests.spark.conftest import SPARK_TEST_CONF, assert_same_run, helper_steps

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with standalone_cluster(tmp_path_factory.mktemp("cluster")) as master:
        yield master


@pytest.fixture(scope="module")
def engine(cluster: str) -> Iterator[object]:
    from mdfs.engines.spark import SparkEngine

    engine = SparkEngine(master=cluster, conf=SPARK_TEST_CONF)
    engine.start()
    yield engine
    engine.stop()


def test_standalone_equals_local_engine(
    engine, cluster: str, spark_inputs: Path, recipe_file: Path, local_reference: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    output = tmp_path / "spark"
    args = ["run", str(spark_inputs), "-o", str(output), "--recipe", str(recipe_file)]
    assert main([*args, "--engine", "spark", "--master", cluster]) == 0
    assert_same_run(output, local_reference)
    # the tasks ran in the cluster's executor, not in the driver
    context = engine.start().sparkContext
    assert context.master == cluster
    assert context._jsc.sc().getExecutorIds().size() >= 1


def test_killed_executor_is_replaced(
    engine, spark_inputs: Path, recipe_file: Path, local_reference: Path, tmp_path: Path
) -> None:
    recipe = load_recipe(str(recipe_file))
    marker = tmp_path / "killed"
    recipe.steps.insert(3, helper_steps.KillOnce(marker=str(marker), target="executor"))
    output = tmp_path / "spark"
    run_pipeline([str(spark_inputs)], output, recipe, engine)
    assert marker.read_text() == "killed attempt 0"
    assert_same_run(output, local_reference, skip_steps=("kill_once",))
    assert not list(output.rglob(".*.tmp-*"))


def test_dedup_command_on_standalone_equals_local(
    engine, cluster: str, near_duplicate_inputs: Path, tmp_path: Path
) -> None:
    pytest.importorskip("mdfs.coarse.near_dedup")
    common = ["dedup", str(near_duplicate_inputs)]
    assert main([*common, "-o", str(tmp_path / "local"), "--workers", "2"]) == 0
    spark = ["--engine", "spark", "--master", cluster]
    assert main([*common, "-o", str(tmp_path / "spark"), *spark]) == 0
    assert_same_run(tmp_path / "spark", tmp_path / "local")
    report = json.loads((tmp_path / "spark" / "report.json").read_text())
    assert report["global_steps"]["near_dedup"]["decided_on"] == "spark"
    assert report["global_steps"]["near_dedup"]["near_duplicates"] >= 40
