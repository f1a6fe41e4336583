"""Precision and recall of MDFS's duplicate removal against a truth no similarity measure made.

Each pair's truth is its provenance (`dedup_data.provenance_pairs`): a document and a copy of
it under a recorded edit (characters substituted, inserted and deleted at a rate; sentences
dropped; the end cut; SMS adverts added as site furniture; paragraphs reordered; punctuation
and layout changed; one real article saved twice) is a duplicate; two different documents on
one topic are not (Wikipedia stubs of one kind, neighbouring People's Daily passages, a
paragraph quoted by two documents, one site's real header and footer around two texts, two
pages of one site with their navigation, two outlets on one topic). Real text from
../shared/data: CMRC 2018 Wikipedia, People's Daily 1998, the SMS adverts, the saved news
pages.

All documents go through `mdfs dedup`'s recipe (exact, near, paragraph dedup) once per
threshold; a pair is judged a duplicate when one of it was removed as an exact or near
duplicate and both end with the same kept document.

    python benchmarks/dedup_quality.py [--per-level 40] [--thresholds 0.3,0.4,...,0.9] [--verify signature]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dedup_data as data

DEFAULT_THRESHOLD = 0.8  # near_dedup's default


def run_dedup(
    texts: list[str], threshold: float, workdir: Path, verify: str = "exact"
) -> list[str]:
    """The kept document each input ends with (itself when kept), by `mdfs dedup`'s recipe."""
    from mdfs.cli.dedup import DEDUP_RECIPE
    from mdfs.engines.local import LocalEngine
    from mdfs.recipe import parse_recipe
    from mdfs.run import run_pipeline

    inputs = workdir / "pairs.jsonl"
    with open(inputs, "w", encoding="utf-8") as out:
        for index, text in enumerate(texts):
            out.write(json.dumps({"id": str(index), "text": text}, ensure_ascii=False) + "\n")
    steps = [dict(step) for step in DEDUP_RECIPE["steps"]]
    steps[[next(iter(s)) for s in steps].index("near_dedup")] = {
        "near_dedup": {"threshold": threshold}
    }
    output = workdir / f"out-{threshold}"
    run_pipeline([str(inputs)], output, parse_recipe({"steps": steps}), LocalEngine(workers=2))
    kept = [str(index) for index in range(len(texts))]
    for part in sorted((output / "removed").glob("*.jsonl.gz")):
        with gzip.open(part) as lines:
            for line in lines:
                record = json.loads(line)
                if record["reason"] in ("exact_duplicate", "near_duplicate"):
                    kept[int(record["id"])] = record["meta"]["duplicate_of"]
    return kept


def judged_duplicates(
    pairs: list[data.Pair], threshold: float, workdir: Path, verify: str = "exact"
) -> list[bool]:
    texts = [text for pair in pairs for text in (pair.a, pair.b)]
    kept = run_dedup(texts, threshold, workdir, verify)

    def final(index: int) -> str:  # an exact copy of a document later removed as near copy
        doc = str(index)
        while kept[int(doc)] != doc:
            doc = kept[int(doc)]
        return doc

    return [final(2 * i) == final(2 * i + 1) for i in range(len(pairs))]


def precision_recall(pairs: list[data.Pair], judged: list[bool]) -> tuple[float, float, int, int]:
    """(precision, recall, false positives, false negatives)."""
    tp = sum(p.same_source and j for p, j in zip(pairs, judged, strict=True))
    fp = sum(not p.same_source and j for p, j in zip(pairs, judged, strict=True))
    fn = sum(p.same_source and not j for p, j in zip(pairs, judged, strict=True))
    return tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0, fp, fn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-level", type=int, default=40, help="pairs per edit kind and rate")
    parser.add_argument("--thresholds", default="0.3,0.4,0.5,0.6,0.7,0.8,0.9")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verify", choices=["exact", "signature"], default="exact")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]

    pairs = data.provenance_pairs(args.per_level, args.seed)
    judged: dict[float, list[bool]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for threshold in thresholds:
            judged[threshold] = judged_duplicates(pairs, threshold, Path(tmp), args.verify)

    positives = sum(p.same_source for p in pairs)
    print(f"{len(pairs)} pairs ({positives} same source, {len(pairs) - positives} different), "
          f"seed {args.seed}, {args.per_level} per edit level, verify {args.verify}")  # fmt: skip
    print("\nshare of pairs judged duplicates (recall for same-source rows, false-positive rate"
          " for the others), by threshold:")  # fmt: skip
    header = "".join(f"{t:>7}" for t in thresholds)
    print(f"{'kind':<26}{'level':<10}{'pairs':>6}{'mean J':>8}{header}")
    groups: dict[tuple[bool, str, str], list[int]] = defaultdict(list)
    for index, pair in enumerate(pairs):
        level = pair.level if pair.same_source else "-"
        groups[(not pair.same_source, pair.kind, level)].append(index)
    for (_, kind, level), members in groups.items():
        mean_j = sum(data.jaccard(pairs[i].a, pairs[i].b) for i in members) / len(members)
        shares = "".join(
            f"{sum(judged[t][i] for i in members) / len(members):>7.2f}" for t in thresholds
        )
        print(f"{kind:<26}{level:<10}{len(members):>6}{mean_j:>8.2f}{shares}")
    print(f"\n{'threshold':<12}{'precision':>10}{'recall':>8}{'FP':>5}{'FN':>5}")
    for threshold in thresholds:
        precision, recall, fp, fn = precision_recall(pairs, judged[threshold])
        mark = "  <- default" if threshold == DEFAULT_THRESHOLD else ""
        print(f"{threshold:<12}{precision:>10.3f}{recall:>8.3f}{fp:>5}{fn:>5}{mark}")


if __name__ == "__main__":
    main()
