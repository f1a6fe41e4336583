"""Throughput of the whole fine stage, with and without the BERT classifier, side by side.

    python benchmarks/fine_stage_speed.py [--documents 3000] [--workers 2] [--no-plain]

`mdfs run --workers N` over a JSONL of real Wikipedia paragraphs (~500 characters, as in
`classifier_speed.py`) with a recipe holding only the default recipe's fine stage: with
BERT (quality_classifier, fluency, lexical_signals, url_signals, fine_decision) and without
it (the same minus quality_classifier). The BERT rows: as shipped; with `quantize: true`
(int8); and "plain", transformers' own forward pass through every layer (the scorer before
it ran only [CLS] through the last one; the forked workers inherit the patch), so old and
new are timed in one run. Wall time of the whole command, model loading included, and CPU
time of this process and its workers per document (other jobs on a shared machine inflate
it less than wall time). The issue's goals: >= 500 documents/s without BERT and >= 100 with
it on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

# the same Wikipedia documents the classifier benchmark scores (benchmarks/ is on sys.path)
from classifier_speed import plain, wiki

from mdfs.cli import main as mdfs
from mdfs.fine.bert import BertScorer
from mdfs.recipe import default_recipe_path

FINE_STEPS = ("quality_classifier", "fluency", "lexical_signals", "url_signals", "fine_decision")


def fine_recipe(bert: dict | None) -> dict:
    """The default fine stage; `bert`: the classifier's settings changed, None: no BERT."""
    recipe = yaml.safe_load(Path(default_recipe_path()).read_text(encoding="utf-8"))
    steps = []
    for step in recipe["steps"]:
        name = next(iter(step))
        if name == "quality_classifier":
            if bert is None:
                continue
            step = {name: {**step[name], **bert}}
        if name in FINE_STEPS:
            steps.append(step)
    return {"collect": {"shard_max_files": 1}, "steps": steps}  # one shard per input file


@contextlib.contextmanager
def plain_forward() -> Iterator[None]:
    """Every BertScorer made meanwhile runs transformers' own forward pass."""
    setup = BertScorer.__init__

    def plain_setup(self: BertScorer, *args: object, **kwargs: object) -> None:
        setup(self, *args, **kwargs)  # type: ignore[arg-type]
        plain(self)

    BertScorer.__init__ = plain_setup  # type: ignore[method-assign]
    try:
        yield
    finally:
        BertScorer.__init__ = setup  # type: ignore[method-assign]


def cpu_seconds() -> float:
    """CPU time of this process and of its workers that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def timed(inputs: Path, recipe: dict, workers: int, work: Path, name: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `mdfs run` with this recipe."""
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    wall, cpu = time.perf_counter(), cpu_seconds()
    code = mdfs(["run", str(inputs), "-o", str(work / name), "--recipe", str(path),
                 "--workers", str(workers)])  # fmt: skip
    assert code == 0
    return time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-plain", action="store_true", help="skip the plain BERT row")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = work / "docs"
        inputs.mkdir()
        texts = wiki(args.documents)
        for part in range(args.workers):  # one input file per worker
            with (inputs / f"part-{part}.jsonl").open("w", encoding="utf-8") as stream:
                for i in range(part, len(texts), args.workers):
                    stream.write(json.dumps({"id": str(i), "text": texts[i]}, ensure_ascii=False))
                    stream.write("\n")
        chars = sum(map(len, texts)) / len(texts)

        def run(name: str, bert: dict | None) -> None:
            rows[name] = timed(inputs, fine_recipe(bert), args.workers, work, f"run{len(rows)}")

        run("without BERT", None)
        if not args.no_plain:
            with plain_forward():
                run("BERT plain (before)", {})
        run("BERT (shipped)", {})
        run("BERT int8 (quantize)", {"quantize": True})
    load = max(load, os.getloadavg()[0])
    n = args.documents
    print(f"{n} documents of {chars:.0f} characters on average, {args.workers} workers; "
          f"load average up to {load:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'fine stage':<22}{'wall s':>8}{'docs/s':>8}{'CPU ms/doc':>12}{'goal':>6}"
          f"{'x plain (wall)':>16}{'x plain (CPU)':>15}")  # fmt: skip
    base = rows.get("BERT plain (before)")
    for name, (wall, cpu) in rows.items():
        goal = 500 if name == "without BERT" else 100
        ratio = ""
        if base and name != "without BERT":
            ratio = f"{base[0] / wall:>16.2f}{base[1] / cpu:>15.2f}"
        print(f"{name:<22}{wall:>8.1f}{n / wall:>8.0f}{1000 * cpu / n:>12.2f}{goal:>6}{ratio}")
    without = rows["without BERT"]
    shipped = rows["BERT (shipped)"]
    print(f"BERT's share of the shipped stage: {1 - without[0] / shipped[0]:.0%} of the wall time, "
          f"{1 - without[1] / shipped[1]:.0%} of the CPU time")  # fmt: skip


if __name__ == "__main__":
    main()
