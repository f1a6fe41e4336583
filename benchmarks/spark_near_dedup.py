"""`mdfs dedup` near the 0.8 threshold: the local engine and Spark keep the same documents.

    python benchmarks/spark_near_dedup.py [--pairs 400] [--files 8] [--master local[2]]
        [--keep DIR]

Input (built in a temporary folder, nothing committed): every distinct paragraph of the CMRC
2018 Chinese Wikipedia articles (``../shared/data/text/cmrc2018_wikipedia``); ``--pairs`` of
them also get an edited copy whose exact Jaccard similarity is drawn within 0.05 of the 0.8
threshold (``tests/dedup/near_threshold.py``), all shuffled into ``--files`` JSONL files.

Prints: the pairs near the threshold, how many of them the MinHash estimate puts on the other
side of it from the exact similarity, then runs ``mdfs dedup`` (its default recipe, whose
near_dedup verifies exactly) on the local engine and with ``--engine spark --master ...``,
and prints each run's time (Spark's including its application's start) and whether they kept
the same documents, and whether the pairs merged are exactly those at or above 0.8. Also
shows what ``verify: signature`` would have kept on the local engine, for scale.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MDFS_SHARED", REPO.parent / "shared"))
sys.path.insert(0, str(REPO))  # tests.dedup.near_threshold builds the pairs

THRESHOLD = 0.8


def records(folder: Path) -> list[dict]:
    found = []
    for part in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(part) as lines:
            found.extend(json.loads(line) for line in lines)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--keep", type=Path, help="build inputs and outputs here, keep them")
    args = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    from mdfs.cli import main as mdfs
    from mdfs.coarse.near_dedup import NearDedup
    from tests.dedup import near_threshold

    paragraphs = near_threshold.wikipedia_paragraphs(SHARED)
    pairs = near_threshold.near_threshold_pairs(paragraphs, args.pairs, seed=3)
    exact, estimate, candidate = near_threshold.similarities(pairs, NearDedup())
    near = abs(exact - THRESHOLD) <= 0.05
    disagree = (exact >= THRESHOLD) != (estimate >= THRESHOLD)
    edited = {text for text, _ in pairs}
    documents = near_threshold.pair_documents(pairs) + [
        (f"w{n}", text) for n, text in enumerate(paragraphs) if text not in edited
    ]
    root = args.keep or Path(tempfile.mkdtemp(prefix="mdfs-near-bench-"))
    inputs = root / "inputs"
    near_threshold.write_inputs(inputs, documents, args.files, seed=3)
    print(
        f"input: {len(documents):,} documents ({len(paragraphs):,} Wikipedia paragraphs, "
        f"{len(pairs)} with an edited copy) in {args.files} files"
    )
    print(f"pairs with exact Jaccard within 0.05 of {THRESHOLD}: {int(near.sum())}")
    print(f"  at or above {THRESHOLD}: exact {int((exact >= THRESHOLD).sum())}, "
          f"MinHash estimate {int((estimate >= THRESHOLD).sum())}")  # fmt: skip
    print(f"  estimate and exact on different sides of {THRESHOLD}: {int(disagree.sum())}")
    print(f"  not made a candidate by LSH: {int((~candidate).sum())} "
          f"({int((~candidate & (exact >= THRESHOLD)).sum())} of them at or above {THRESHOLD})")  # fmt: skip

    runs: dict[str, tuple[float, set[str], dict]] = {}

    def dedup(label: str, *extra: str) -> None:
        output = root / label
        shutil.rmtree(output, ignore_errors=True)
        start = time.perf_counter()
        assert mdfs(["dedup", str(inputs), "-o", str(output), *extra]) == 0
        seconds = time.perf_counter() - start
        report = json.loads((output / "report.json").read_text())
        kept = {r["id"] for r in records(output / "corpus")}
        runs[label] = (seconds, kept, report["global_steps"]["near_dedup"])

    dedup("local", "--workers", "2")
    dedup("spark", "--engine", "spark", "--master", args.master, "--spark-conf",
          "spark.ui.enabled=false")  # fmt: skip
    signature = root / "signature.yaml"
    signature.write_text(  # mdfs dedup's recipe, near_dedup verifying by the estimate
        "steps: [exact_dedup: {}, near_dedup: {verify: signature}, paragraph_dedup: {}]\n"
    )
    dedup("local-signature", "--workers", "2", "--recipe", str(signature))

    print(f"\n{'run':<34}{'seconds':>9}{'kept':>7}{'candidates':>12}{'verified':>10}")
    for label, title in (
        ("local", "mdfs dedup (local, --workers 2)"),
        ("spark", f"mdfs dedup --engine spark {args.master}"),
        ("local-signature", "local, verify: signature"),
    ):
        seconds, kept, figures = runs[label]
        print(
            f"{title:<34}{seconds:>9.1f}{len(kept):>7,}{figures['candidate_pairs']:>12,}"
            f"{figures['verified_pairs']:>10,}"
        )
    local, spark = runs["local"][1], runs["spark"][1]
    print(f"identical kept sets, local and Spark: {'yes' if local == spark else 'NO'}"
          f" ({len(local ^ spark)} documents differ)")  # fmt: skip
    merged = {
        f"p{n}" for n in range(len(pairs)) if f"p{n}-a" not in spark or f"p{n}-b" not in spark
    }
    # a pair that LSH never makes a candidate stays apart whatever the verification
    truth = {f"p{n}" for n in range(len(pairs)) if exact[n] >= THRESHOLD and candidate[n]}
    print(f"Spark merged exactly the candidate pairs with exact Jaccard >= {THRESHOLD}: "
          f"{'yes' if merged == truth else 'NO'} ({len(merged)} merged, {len(truth)} expected)")  # fmt: skip
    differ = len(local ^ runs["local-signature"][1])
    print(f"documents kept differently by verify: signature (local): {differ}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
