"""The Spark engine's overhead and scaling against the local engine, on the same input.

    python benchmarks/spark_engine.py [--copies 4] [--files 8] [--repeat 1] [--standalone]
        [--keep DIR]

Input (built in a temporary folder, nothing committed): the 62 real Chinese news pages of
``../shared/data/web/news_pages/article_pages`` wrapped into ``--files`` .warc.gz files, each
page ``--copies`` times under distinct URLs (so exact dedup removes copies), plus People's
Daily January 1998 (tags stripped, 40 sentences a document) as ``--files`` JSONL files. One
shard per file, so there are 2 x ``--files`` tasks per phase.

Runs the coarse recipe (extract … exact_dedup, near_dedup) with:
  - the local engine, ``--workers 1`` and ``--workers 2``;
  - the Spark engine on ``local[1]`` and ``local[2]`` (one and two task slots in one JVM);
  - with ``--standalone``: a standalone cluster on loopback (one worker, started with Spark's
    own scripts as the tests do) and 1 then 2 executors of one core each.
Prints docs/s over the whole run (documents in / seconds of ``run_pipeline``), the Spark
application's start-up time apart, and checks that every run kept the same documents.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mdfs.shared import shared_folder

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_folder()
sys.path.insert(0, str(REPO))  # tests.core.warc_util builds the WARC files


def build_inputs(root: Path, copies: int, files: int) -> None:
    from tests.core.warc_util import write_warc

    pages = sorted((SHARED / "data" / "web" / "news_pages" / "article_pages").glob("*/*.html"))
    records = [
        (f"http://example.cn/{copy}/{p.parent.name}/{p.name}", p.read_bytes(), "text/html")
        for copy in range(copies)
        for p in pages
    ]
    for index in range(files):
        write_warc(root / f"news-{index}.warc.gz", records[index::files])
    lines = (SHARED / "data" / "text" / "peoples_daily_199801_pos_tagged.txt").read_text()
    sentences = [
        re.sub(r"/[A-Za-z]+\s*", "", line).replace(" ", "")
        for line in lines.splitlines()
        if line.strip()
    ]
    documents = ["\n".join(sentences[i : i + 40]) for i in range(0, len(sentences), 40)]
    for index in range(files):
        with gzip.open(root / f"peoples-daily-{index}.jsonl.gz", "wt", encoding="utf-8") as out:
            for number, text in enumerate(documents[index::files]):
                out.write(json.dumps({"id": f"pd-{index}-{number}", "text": text}) + "\n")


def kept_ids(output: Path) -> list[str]:
    ids = []
    for part in sorted((output / "corpus").glob("*.jsonl.gz")):
        with gzip.open(part) as lines:
            ids.extend(json.loads(line)["id"] for line in lines)
    return sorted(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1, help="runs per setting; best is shown")
    parser.add_argument("--standalone", action="store_true", help="also 1 and 2 executors")
    parser.add_argument("--keep", type=Path, help="build inputs and outputs here, keep them")
    args = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    from mdfs.engines.local import LocalEngine
    from mdfs.engines.spark import SparkEngine
    from mdfs.recipe import Recipe, load_recipe
    from mdfs.run import run_pipeline
    from tests.conftest import COARSE_SMALL_SHARDS

    root = args.keep or Path(tempfile.mkdtemp(prefix="mdfs-spark-bench-"))
    inputs = root / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    build_inputs(inputs, args.copies, args.files)
    recipe_path = root / "recipe.yaml"
    recipe_path.write_text(COARSE_SMALL_SHARDS + "  - near_dedup: {}\n")

    def fresh_recipe() -> Recipe:
        return load_recipe(str(recipe_path))  # new step objects: no model loaded yet

    rows, corpora = [], {}

    def timed(label: str, engine: object, startup: float | None) -> None:
        best = None
        for attempt in range(args.repeat):
            output = root / f"out-{label}-{attempt}"
            shutil.rmtree(output, ignore_errors=True)
            start = time.perf_counter()
            report = run_pipeline([str(inputs)], output, fresh_recipe(), engine)
            seconds = time.perf_counter() - start
            best = seconds if best is None else min(best, seconds)
            corpora[label] = kept_ids(output)
        decide = report["global_steps"].get("near_dedup", {}).get("seconds", 0.0)
        rows.append(
            (label, report["documents_in"], report["documents_kept"], best, startup, decide)
        )
        print(f"  {label}: {report['documents_in'] / best:,.0f} docs/s", flush=True)

    for workers in (1, 2):
        timed(f"local engine, --workers {workers}", LocalEngine(workers), None)

    def on_spark(label: str, master: str, conf: list[str]) -> None:
        engine = SparkEngine(master=master, conf=["spark.ui.enabled=false", *conf])
        start = time.perf_counter()
        engine.start()
        startup = time.perf_counter() - start
        try:
            timed(label, engine, startup)
        finally:
            engine.stop()

    for slots in (1, 2):
        on_spark(f"spark local[{slots}]", f"local[{slots}]", [])
    if args.standalone:
        from tests.spark.cluster import standalone_cluster

        with standalone_cluster(root / "cluster", cores=2, memory="4g") as master:
            for executors in (1, 2):
                conf = ["spark.executor.cores=1", f"spark.cores.max={executors}"]
                conf.append("spark.executor.memory=1g")
                on_spark(f"standalone, {executors} executor(s)", master, conf)

    print(f"\ninput: {rows[0][1]:,} documents, {2 * args.files} shards; kept {rows[0][2]:,}")
    header = f"{'engine':<28}{'seconds':>9}{'docs/s':>9}{'vs local -w1':>14}{'start-up s':>12}"
    print(header + f"{'near-dedup decide s':>21}")
    base = rows[0][1] / rows[0][3]
    for label, documents, _, seconds, startup, decide in rows:
        rate = documents / seconds
        shown = f"{startup:.1f}" if startup is not None else "-"
        print(
            f"{label:<28}{seconds:>9.1f}{rate:>9,.0f}{rate / base:>13.2f}x{shown:>12}"
            f"{decide:>21.1f}"
        )
    same = len({tuple(ids) for ids in corpora.values()}) == 1
    print(f"same kept documents on every engine: {'yes' if same else 'NO'}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
