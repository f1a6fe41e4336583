"""Spark tests: skipped where PySpark or Java is missing (failed in CI). One application per module,
because a JVM start costs tens of seconds on a small machine."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import COARSE_SMALL_SHARDS, missing, read_parts
from tests.core.warc_util import write_warc

try:
    import pyspark  # noqa: F401
except ImportError:
    missing("PySpark (pip install 'mdfs[spark]')", allow_module_level=True)
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    missing("Java 17+ for Spark (none on PATH, JAVA_HOME unset)", allow_module_level=True)

# The hostname of a sandbox or CI runner may not resolve; everything here runs on loopback.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

# Imported here, after the checks above have skipped the module when PySpark is missing.
from pyspark import cloudpickle

import tests.spark.helper_steps as helper_steps

# The test steps are not in an installed package: executors get their code by value.
cloudpickle.register_pickle_by_value(helper_steps)

# Small enough for two shared cores; no UI ports to collide with a colleague's run.
SPARK_TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.executor.memory": "768m",
}


def java_works() -> bool:
    try:
        return subprocess.run(["java", "-version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def spark_inputs(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real news pages wrapped into three WARC files (one page twice), the seed page, junk."""
    if not java_works():
        pytest.skip("java does not run")
    root = tmp_path_factory.mktemp("spark-inputs")
    pages = sorted((shared / "data" / "web" / "news_pages" / "article_pages").glob("*/*.html"))
    pages = pages[:24]
    for index in range(3):
        records = [
            (f"http://example.cn/{p.parent.name}/{p.name}", p.read_bytes(), "text/html")
            for p in pages[index * 8 : (index + 1) * 8]
        ]
        if index == 2:
            records.append((records[0][0] + "?copy", records[0][1], "text/html"))
        write_warc(root / f"crawl-{index}.warc.gz", records)
    (root / "seed_page.txt").write_text((shared / "samples" / "seed_page.txt").read_text())
    (root / "empty.txt").write_bytes(b"")
    good = (root / "crawl-0.warc.gz").read_bytes()
    (root / "truncated.warc.gz").write_bytes(good[: len(good) // 2])
    return root


@pytest.fixture(scope="session")
def near_duplicate_inputs(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """People's Daily articles in three JSONL files, with edited copies spread over the files:
    one-sentence edits (near duplicates), chains of edits (A~B~C, clusters by transitivity);
    and an empty file, a shard without documents."""
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
    (root / "part-3-empty.jsonl").write_bytes(b"")  # a shard with no documents at all
    for index in range(3):
        with (root / f"part-{index}.jsonl").open("w", encoding="utf-8") as out:
            for doc_id, body in documents[index::3]:
                out.write(json.dumps({"id": doc_id, "text": body}, ensure_ascii=False) + "\n")
    return root


@pytest.fixture(scope="session")
def recipe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "recipe.yaml"
    path.write_text(COARSE_SMALL_SHARDS)
    return path


@pytest.fixture(scope="session")
def local_reference(spark_inputs: Path, recipe_file: Path, tmp_path_factory) -> Path:
    """The local engine's run of the same inputs and recipe: what every Spark run must equal."""
    from mdfs.cli import main

    output = tmp_path_factory.mktemp("reference") / "out"
    args = ["run", str(spark_inputs), "-o", str(output), "--recipe", str(recipe_file)]
    assert main([*args, "--workers", "2"]) == 0
    return output


def kept_documents(output: Path) -> list[tuple[str, str]]:
    return sorted((r["id"], r["text"]) for r in read_parts(output / "corpus"))


# Figures of a global step that say how it ran, not what it decided.
HOW_IT_RAN = {"seconds", "key_ranges", "memory_budget_mb", "decided_on"}


def report_counts(output: Path, skip_steps: tuple[str, ...] = ()) -> dict:
    report = json.loads((output / "report.json").read_text())
    return {
        "documents_in": report["documents_in"],
        "documents_kept": report["documents_kept"],
        "steps": [
            (s["name"], s["in"], s["kept"], s["removed"])
            for s in report["steps"]
            if s["name"] not in skip_steps
        ],
        "sources": report["sources"],
        "errors": report["errors"],
        "global_steps": {
            step: {k: v for k, v in figures.items() if k not in HOW_IT_RAN}
            for step, figures in report["global_steps"].items()
        },
    }


def assert_same_run(output: Path, reference: Path, skip_steps: tuple[str, ...] = ()) -> None:
    from mdfs.report.build import check_accounting

    check_accounting(json.loads((output / "report.json").read_text()))
    assert kept_documents(output) == kept_documents(reference)
    assert report_counts(output, skip_steps) == report_counts(reference, skip_steps)
    removed = sorted(
        (r["id"], r["removed_by"], r["reason"]) for r in read_parts(output / "removed")
    )
    expected = sorted(
        (r["id"], r["removed_by"], r["reason"]) for r in read_parts(reference / "removed")
    )
    assert [r for r in removed if r[1] not in skip_steps] == expected
