"""Throughput of the whole fine stage, with and without the BERT classifier, side by side.

    python benchmarks/fine_stage_speed.py [--documents 3000] [--workers 2]

`mdfs run --workers N` over a JSONL of real Wikipedia paragraphs (~500 characters, as in
`classifier_speed.py`) with a recipe holding only the default recipe's fine stage: with
BERT (quality_classifier, fluency, lexical_signals, url_signals, fine_decision) and without
it (the same minus quality_classifier). Wall time of the whole command, model loading
included; the issue's goals are >= 500 documents/s without BERT and >= 100 with it on 2
cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml

# the same Wikipedia documents the classifier benchmark scores (benchmarks/ is on sys.path)
from classifier_speed import wiki

from mdfs.cli import main as mdfs
from mdfs.recipe import default_recipe_path

FINE_STEPS = ("quality_classifier", "fluency", "lexical_signals", "url_signals", "fine_decision")


def fine_recipe(with_bert: bool) -> dict:
    recipe = yaml.safe_load(Path(default_recipe_path()).read_text(encoding="utf-8"))
    steps = [s for s in recipe["steps"] if next(iter(s)) in FINE_STEPS]
    if not with_bert:
        steps = [s for s in steps if next(iter(s)) != "quality_classifier"]
    return {"collect": {"shard_max_files": 1}, "steps": steps}  # one shard per input file


def seconds(inputs: Path, recipe: dict, workers: int, work: Path, name: str) -> float:
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    start = time.perf_counter()
    code = mdfs(["run", str(inputs), "-o", str(work / name), "--recipe", str(path),
                 "--workers", str(workers)])  # fmt: skip
    assert code == 0
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
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
        without = seconds(inputs, fine_recipe(False), args.workers, work, "signals")
        with_bert = seconds(inputs, fine_recipe(True), args.workers, work, "bert")
    n = args.documents
    print(f"{n} documents of {chars:.0f} characters on average, {args.workers} workers")
    print(f"{'fine stage':<22}{'seconds':>9}{'docs/s':>9}{'goal':>7}")
    print(f"{'without BERT':<22}{without:>9.1f}{n / without:>9.0f}{500:>7}")
    print(f"{'with BERT':<22}{with_bert:>9.1f}{n / with_bert:>9.0f}{100:>7}")
    print(f"BERT's share of the time: {1 - without / with_bert:.0%}")


if __name__ == "__main__":
    main()
