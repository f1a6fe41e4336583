"""What an annotated run costs, and what `mdfs filter` saves, side by side in one run.

    python benchmarks/annotate_filter.py [--recipe default|coarse-only] [--copies 1]

Over the bundled sample (`examples/data`, and `--copies - 1` near copies of its JSONL
documents, one sentence added), in this process (`--workers 1`), it times: a normal run
(first, loading models: not compared); an annotated run (`--annotate`); `mdfs filter` of the
annotated run at a stricter threshold; and the normal run at that threshold, which `filter`
replaces and every ratio is taken against. It checks that the last two
wrote the same corpus, and prints seconds and ratios, plus the cost of counting tokens with
a real tokenizer (the shipped classifier's) against the estimate. Where the corpora differ,
it is by the duplicates `filter` names (`stale_duplicates`): near copies whose kept
original the stricter threshold removed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = {  # a stricter threshold in each recipe's last deciding step
    "default": ("fine_decision", "high_threshold", 0.9),
    "coarse-only": ("language", "min_cjk_ratio", 0.6),
}


def build_input(folder: Path, copies: int) -> Path:
    folder.mkdir(parents=True)
    shutil.copytree(REPO / "examples" / "data", folder / "copy-0")
    with gzip.open(REPO / "examples" / "data" / "dump.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    for copy in range(1, copies):
        with (folder / f"dump-{copy}.jsonl").open("w", encoding="utf-8") as out:
            for record in records:
                suffix = (
                    f"\n第{copy}份副本，编号{hashlib.md5(record['id'].encode()).hexdigest()[:6]}。"
                )
                record = {**record, "id": f"{record['id']}-{copy}", "text": record["text"] + suffix}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return folder


def corpus(run_dir: Path) -> list[str]:
    from tests.conftest import read_parts

    return sorted(json.dumps(r, sort_keys=True) for r in read_parts(run_dir / "corpus"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="coarse-only", choices=sorted(THRESHOLDS))
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import logging

    from mdfs.engines.local import LocalEngine
    from mdfs.recipe import load_recipe
    from mdfs.replay import annotated_run, plan_replay, stale_duplicates, with_settings
    from mdfs.run import run_pipeline

    logging.disable(logging.INFO)
    step, param, value = THRESHOLDS[args.recipe]
    recipe_file = REPO / "src" / "mdfs" / "recipes" / f"{args.recipe}.yaml"
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        inputs = [str(build_input(root / "in", args.copies))]
        recipe = load_recipe(recipe_file)

        def timed(name: str, run) -> float:
            started = time.perf_counter()
            report = run()
            seconds = time.perf_counter() - started
            print(f"{name:<44}{seconds:>8.1f} s  {report['documents_kept']:>6,} kept "
                  f"of {report['documents_in']:,}")  # fmt: skip
            return seconds

        def with_output(**changes: object):
            return recipe.model_copy(update={"output": recipe.output.model_copy(update=changes)})

        strict = with_settings(recipe, [f"{step}.{param}={value}"])
        timed("run (first: loads, fills caches)", lambda: run_pipeline(
            inputs, root / "normal", recipe, LocalEngine(1)))  # fmt: skip
        annotate = timed("run --annotate", lambda: run_pipeline(
            inputs, root / "annotated", with_output(annotate=True), LocalEngine(1)))  # fmt: skip

        plan: dict[str, bool] = {}

        def refilter() -> dict:
            annotated, parts = annotated_run(root / "annotated")
            plan.update(plan_replay(annotated, strict))
            return run_pipeline(parts, root / "filtered", strict, LocalEngine(1),
                                replay=plan, stored_inputs=True)  # fmt: skip

        filtered = timed(f"filter --set {step}.{param}={value}", refilter)
        rerun = timed(f"run with {step}.{param}={value}", lambda: run_pipeline(
            inputs, root / "strict", strict, LocalEngine(1)))  # fmt: skip
        same = corpus(root / "filtered") == corpus(root / "strict")
        stale = len(stale_duplicates(root / "filtered", plan))
        tokenizer = str(REPO / "src" / "mdfs" / "data" / "models" / "quality-bert")
        counted = timed("run --tokenizer (the classifier's)", lambda: run_pipeline(
            inputs, root / "tokens", with_output(tokenizer=tokenizer), LocalEngine(1)))  # fmt: skip
        print(f"annotated run / normal run: {annotate / rerun:.2f}x; filter / rerun: "
              f"{filtered / rerun:.3f}x ({rerun / filtered:.0f}x faster); same corpus: {same} "
              f"({stale} stale duplicates named by filter); "
              f"tokenizer / estimate: {counted / rerun:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
