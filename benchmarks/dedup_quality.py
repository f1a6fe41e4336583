"""Precision and recall of `near_duplicate` removal, by kind of perturbation.

Pairs are built from real Chinese text in ../shared/data (see dedup_data.py): a document and
a perturbed copy (small edits, other punctuation and layout, reordered paragraphs, inserted
SMS adverts, truncation, dropped sentences), and negatives: a
long paragraph shared by two otherwise different documents, the same boilerplate around
different paragraphs, and two neighbouring People's Daily documents (same topic). Every
document is in exactly one pair. The truth is the exact Jaccard similarity of the two texts'
5-character shingle sets (spaces and punctuation dropped); a pair is positive at >= 0.8.
All documents go through `mdfs dedup` (exact, near, paragraph dedup at default settings) in
one run; a pair is predicted a near-duplicate when one was removed as `near_duplicate` and
both end in the same cluster.

    python benchmarks/dedup_quality.py [--pairs-per-category 150] [--threshold 0.8]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dedup_data as data

from mdfs.coarse.near_dedup import normalise

POSITIVE = 0.8


def build_pairs(per_category: int, seed: int) -> list[tuple[str, str, str]]:
    """(category, text a, text b) pairs; no text is used in two pairs."""
    rng = random.Random(seed)
    articles = data.wikipedia_articles()
    rng.shuffle(articles)
    wiki = [p for article in articles for p in article if len(p) >= 150]
    news = [d for d in data.peoples_daily_documents(6) if len(d) >= 200]
    rng.shuffle(wiki)
    rng.shuffle(news)
    ads = data.sms("1")
    pool = [*wiki[: len(wiki) // 3], *news[: len(news) // 2]]
    rng.shuffle(pool)
    bases = iter(pool)
    multi = iter(news[len(news) // 2 :])  # documents with several paragraphs, for reordering

    pairs: list[tuple[str, str, str]] = []

    def add(category: str, make, source=bases) -> None:
        for _ in range(per_category):
            text = next(source)
            copy = make(text)
            # a copy identical once spaces and punctuation go is exact_dedup's, not ours
            while normalise(copy) == normalise(text):
                copy = make(text)
            pairs.append((category, text, copy))

    add("small_edits", lambda t: data.small_edits(t, rng, rng.uniform(0.005, 0.06)))
    add(
        "punctuation_layout",
        lambda t: data.small_edits(data.punctuation_and_layout(t, rng), rng, 0.01),
    )
    add("reordered_paragraphs", lambda t: data.reorder_paragraphs(t, rng), source=multi)
    add("inserted_ads", lambda t: data.insert_ads(t, rng, ads, rng.randint(1, 2)))
    add("truncated", lambda t: data.truncate(t, rng, rng.uniform(0.6, 0.99)))
    add("dropped_sentences", lambda t: data.sentence_rewrite(t, rng, rng.uniform(0.03, 0.3)))
    # negatives: different text sharing a lot: the same long paragraph plus another one
    # (J about 1/3), the same boilerplate lines around other text, neighbouring news
    spare = iter([*wiki[len(wiki) // 3 :], *news[len(news) // 2 + 3 * per_category :]])
    for _ in range(per_category):
        shared, x, y = next(spare), next(spare), next(spare)
        pairs.append(("shared_paragraph", f"{shared}\n{x}", f"{shared}\n{y}"))
    frame = [rng.choice(ads) for _ in range(3)]
    for _ in range(per_category):
        x, y = next(spare), next(spare)
        pairs.append(("shared_boilerplate", "\n".join([*frame[:2], x, frame[2]]),
                      "\n".join([*frame[:2], y, frame[2]])))  # fmt: skip
    tail = news[len(news) // 2 + per_category :]
    for k in range(0, min(2 * per_category, len(tail) - 1), 2):
        pairs.append(("same_topic_news", tail[k], tail[k + 1]))
    return pairs


def run_dedup(
    pairs: list[tuple[str, str, str]], threshold: float, workdir: Path, verify: str = "exact"
) -> dict:
    from mdfs.cli.dedup import DEDUP_RECIPE
    from mdfs.engines.local import LocalEngine
    from mdfs.recipe import parse_recipe
    from mdfs.run import run_pipeline

    inputs = workdir / "pairs.jsonl"
    with open(inputs, "w", encoding="utf-8") as out:
        for index, (_, a, b) in enumerate(pairs):
            for side, text in (("a", a), ("b", b)):
                out.write(json.dumps({"id": f"{index}{side}", "text": text}, ensure_ascii=False))
                out.write("\n")
    steps = [{"exact_dedup": {}}, {"near_dedup": {"threshold": threshold, "verify": verify}}]
    assert [next(iter(s)) for s in DEDUP_RECIPE["steps"]][:2] == ["exact_dedup", "near_dedup"]
    recipe = parse_recipe({"steps": [*steps, *DEDUP_RECIPE["steps"][2:]]})
    started = time.perf_counter()
    run_pipeline([str(inputs)], workdir / "out", recipe, LocalEngine(workers=2))
    seconds = time.perf_counter() - started
    fate: dict[str, tuple[str, str]] = {}
    for part in sorted((workdir / "out" / "removed").glob("*.jsonl.gz")):
        with gzip.open(part) as lines:
            for line in lines:
                record = json.loads(line)
                fate[record["id"]] = (record["reason"], record["meta"].get("duplicate_of", ""))
    return {"fate": fate, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs-per-category", type=int, default=150)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verify", choices=["exact", "signature"], default="exact")
    parser.add_argument(
        "--truth", choices=["normalised", "raw"], default="normalised",
        help="shingles of the text without punctuation (as MDFS), or with it (spaces only go)",
    )  # fmt: skip
    args = parser.parse_args()

    pairs = build_pairs(args.pairs_per_category, args.seed)
    truth = [data.jaccard(a, b, raw=args.truth == "raw") for _, a, b in pairs]
    with tempfile.TemporaryDirectory() as tmp:
        outcome = run_dedup(pairs, args.threshold, Path(tmp), args.verify)
    fate = outcome["fate"]

    def kept_of(doc: str) -> str:
        reason, original = fate.get(doc, ("", ""))
        return original if reason in ("near_duplicate", "exact_duplicate") else doc

    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_band: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for index, ((category, _, _), similarity) in enumerate(zip(pairs, truth, strict=True)):
        a, b = f"{index}a", f"{index}b"
        removed = fate.get(a, ("",))[0] == "near_duplicate" or fate.get(b, ("",))[0] == (
            "near_duplicate"
        )
        assert fate.get(a, ("",))[0] != "exact_duplicate"
        predicted = removed and kept_of(a) == kept_of(b)
        positive = similarity >= POSITIVE
        for key in (category, "all"):
            c = counts[key]
            c["pairs"] += 1
            c["positive"] += positive
            c["tp"] += predicted and positive
            c["fp"] += predicted and not positive
            c["fn"] += positive and not predicted
        if positive:
            band = min(int((similarity - POSITIVE) / 0.05), 3)
            label = f"{POSITIVE + 0.05 * band:.2f}-{POSITIVE + 0.05 * (band + 1):.2f}"
            by_band[label][0] += 1
            by_band[label][1] += predicted

    print(
        f"threshold {args.threshold}, verify {args.verify}, truth {args.truth}; {len(pairs)} pairs, {2 * len(pairs)} documents; "
        f"mdfs dedup took {outcome['seconds']:.1f} s"
    )
    print(f"{'category':<24}{'pairs':>6}{'J>=0.8':>8}{'mean J':>8}{'TP':>6}{'FP':>5}{'FN':>5}"
          f"{'precision':>11}{'recall':>8}")  # fmt: skip
    mean_j: dict[str, list[float]] = defaultdict(list)
    for (category, _, _), similarity in zip(pairs, truth, strict=True):
        mean_j[category].append(similarity)
        mean_j["all"].append(similarity)
    for key, c in counts.items():
        predicted = c["tp"] + c["fp"]
        precision = f"{c['tp'] / predicted:.3f}" if predicted else "-"
        recall = f"{c['tp'] / c['positive']:.3f}" if c["positive"] else "-"
        mean = sum(mean_j[key]) / len(mean_j[key])
        print(f"{key:<24}{c['pairs']:>6}{c['positive']:>8}{mean:>8.2f}{c['tp']:>6}{c['fp']:>5}"
              f"{c['fn']:>5}{precision:>11}{recall:>8}")  # fmt: skip
    print("recall of positives by true Jaccard:")
    for label in sorted(by_band):
        total, found = by_band[label]
        print(f"  {label}: {found}/{total} = {found / total:.3f}")


if __name__ == "__main__":
    main()
