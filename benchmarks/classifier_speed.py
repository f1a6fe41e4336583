"""Throughput of the fine filter's classifiers: documents per second, CPU (and GPU if any).

    python benchmarks/classifier_speed.py [--threads 1] [--documents 600] [--repeats 3]

Whole documents (Wikipedia paragraphs, ~500 characters) through the segmenting and scoring
of the fine stage (`score_documents`: segments of <= 256 characters, ~2.6 a document), so
one document here is one document of the issue's goal. BERT three ways, side by side in
one run, each timed `--repeats` times in turn (the best of each counts, as the machine is
shared):
- plain: transformers' own forward pass, every position through every layer (the path
  before the scorer ran only [CLS] through the last layer);
- fast: the scorer as shipped (`quality_classifier` by default);
- int8: the same with `quantize: true`.
Wall time and CPU time of this process per document (CPU time counts only this process's
threads, so other jobs on the machine inflate it less than wall time). Then fastText, and
BERT on the GPU in fp16 when CUDA is present.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable

from mdfs.fine.bert import BertScorer, set_threads
from mdfs.fine.scoring import DEFAULT_BERT, load_scorer, score_documents
from mdfs.fine.segments import split_segments
from mdfs.shared import shared_folder


def wiki(count: int) -> list[str]:
    folder = shared_folder() / "data" / "text" / "cmrc2018_wikipedia"
    texts = [
        p["context"]
        for path in sorted(folder.glob("*.json"))
        for a in json.loads(path.read_text(encoding="utf-8"))["data"]
        for p in a["paragraphs"]
    ]
    return [texts[i % len(texts)] for i in range(count)]


def plain(scorer: BertScorer) -> BertScorer:
    """The scorer with transformers' own forward pass instead of its [CLS]-only last layer."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(DEFAULT_BERT)).eval()
    scorer.logits = lambda batch: model(**batch).logits  # type: ignore[method-assign]
    return scorer


def timings(function: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def best_of(paths: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[float, float]]:
    """Each path timed `repeats` times, the paths taking turns, after one warm-up call each."""
    for function in paths.values():
        function()  # first-call allocation and lazy initialisation
    best = {name: (float("inf"), float("inf")) for name in paths}
    for _ in range(repeats):
        for name, function in paths.items():
            wall, cpu = timings(function)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: all cores)")
    parser.add_argument("--documents", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="segments per forward pass")
    args = parser.parse_args()
    import torch

    threads = set_threads(args.threads)
    documents = wiki(args.documents)
    n = len(documents)
    segments = sum(len(split_segments(document)) for document in documents)

    def scorer(quantize: bool = False) -> BertScorer:
        return BertScorer(
            DEFAULT_BERT, batch_size=args.batch_size, threads=threads, quantize=quantize
        )

    bert = {"plain": plain(scorer()), "fast": scorer(), "int8": scorer(quantize=True)}
    load = os.getloadavg()[0]
    best = best_of(
        {k: lambda s=s: score_documents(documents, s) for k, s in bert.items()}, args.repeats
    )
    load = max(load, os.getloadavg()[0])
    print(f"{n} documents of {sum(map(len, documents)) / n:.0f} characters ({segments / n:.1f} "
          f"segments each), {threads} torch thread(s), batch {args.batch_size}, "
          f"best of {args.repeats}; load average up to {load:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(
        f"{'BERT, CPU':<12}{'docs/s':>9}{'CPU ms/doc':>12}{'x plain (wall)':>16}{'x plain (CPU)':>15}"
    )
    wall0, cpu0 = best["plain"]
    for name, (wall, cpu) in best.items():
        print(
            f"{name:<12}{n / wall:>9.1f}{1000 * cpu / n:>12.2f}{wall0 / wall:>16.2f}{cpu0 / cpu:>15.2f}"
        )

    many = wiki(20_000)
    fast = load_scorer(None, "fasttext")
    wall, cpu = best_of({"fasttext": lambda: score_documents(many, fast)}, 1)["fasttext"]
    print(f"fastText, CPU (same documents, segmented): {len(many) / wall:,.0f} docs/s, "
          f"{1000 * cpu / len(many):.3f} CPU ms/doc")  # fmt: skip

    if torch.cuda.is_available():
        gpu = load_scorer(None, "bert", device="cuda", batch_size=512)
        many = documents * 32
        wall, _ = best_of({"gpu": lambda: score_documents(many, gpu)}, 1)["gpu"]
        print(
            f"BERT, GPU ({torch.cuda.get_device_name()}, fp16, batch 512): {len(many) / wall:,.0f} docs/s"
        )
    else:
        print("BERT, GPU: no CUDA device here")


if __name__ == "__main__":
    main()
