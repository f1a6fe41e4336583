"""Near-duplicate pairs of real text whose true Jaccard similarity straddles the threshold.

Each pair is a Chinese Wikipedia paragraph (CMRC 2018, `../shared/data/text/
cmrc2018_wikipedia`, CC BY-SA 4.0) and a copy of it with `k` characters replaced. The
replaced characters lie at least `ngram` apart in the normalised text, so each one swaps
`ngram` shingles for new ones and the pair's Jaccard similarity is about
(S - ngram k) / (S + ngram k) for a paragraph of S shingles; `k` is chosen for a target drawn
uniformly within `spread` of the threshold. There the MinHash estimate (128 permutations:
a standard error of ~0.035 at 0.8) often falls on the other side of the threshold from the
exact similarity, which is what sets `verify: exact` apart from `verify: signature`.

Used by tests/dedup, tests/spark and benchmarks/spark_near_dedup.py.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from mdfs.coarse.near_dedup import NearDedup, band_keys, normalise, shingle_sets

# Common characters that replace edited ones (never the character they replace).
_REPLACEMENTS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"
)


def wikipedia_paragraphs(shared: Path) -> list[str]:
    """The distinct paragraphs of CMRC 2018's Wikipedia articles, in file order."""
    paragraphs = []
    for path in sorted((shared / "data" / "text" / "cmrc2018_wikipedia").glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            paragraphs.extend(p["context"].strip() for p in article["paragraphs"])
    return list(dict.fromkeys(p for p in paragraphs if p))


def edited_copy(text: str, target: float, rng: random.Random, ngram: int = 5) -> str:
    """`text` with enough characters replaced for a Jaccard similarity of about `target`."""
    # positions (in `text`) of the characters that normalisation keeps
    kept = [n for n, char in enumerate(text) if normalise(char)]
    shingles = max(1, len(kept) - ngram + 1)
    edits = round(shingles * (1 - target) / (ngram * (1 + target)))
    slots = list(range(0, len(kept), ngram))
    chars = list(text)
    for slot in rng.sample(slots, min(edits, len(slots))):
        position = kept[slot]
        choices = [c for c in _REPLACEMENTS if c != chars[position]]
        chars[position] = rng.choice(choices)
    return "".join(chars)


def near_threshold_pairs(
    paragraphs: list[str], count: int, seed: int, threshold: float = 0.8, spread: float = 0.05
) -> list[tuple[str, str]]:
    """`count` (paragraph, edited copy) pairs, similarity targets uniform in threshold ± spread."""
    rng = random.Random(seed)
    chosen = rng.sample(paragraphs, count)
    return [
        (text, edited_copy(text, rng.uniform(threshold - spread, threshold + spread), rng))
        for text in chosen
    ]


def pair_documents(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(id, text) documents of the pairs: pair n is `p<n>-a` (the paragraph) and `p<n>-b`."""
    return [(f"p{n}-a", left) for n, (left, _) in enumerate(pairs)] + [
        (f"p{n}-b", right) for n, (_, right) in enumerate(pairs)
    ]


def write_inputs(folder: Path, documents: list[tuple[str, str]], files: int, seed: int) -> None:
    """(id, text) documents shuffled into `files` JSONL files (one shard each)."""
    folder.mkdir(parents=True, exist_ok=True)
    shuffled = list(documents)
    random.Random(seed).shuffle(shuffled)
    for index in range(files):
        with (folder / f"part-{index}.jsonl").open("w", encoding="utf-8") as out:
            for doc_id, text in shuffled[index::files]:
                out.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")


def similarities(
    pairs: list[tuple[str, str]], step: NearDedup
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exact Jaccard, MinHash estimate, whether LSH makes them a candidate pair) of each pair,
    by the step's own shingles, hashes and bands."""
    exact, estimate, candidate = [], [], []
    for left, right in pairs:
        hashes, counts = step.hasher.shingles([left, right])
        sets, sizes = shingle_sets(hashes, counts)
        a, b = set(sets[: sizes[0]].tolist()), set(sets[sizes[0] :].tolist())
        exact.append(len(a & b) / len(a | b))
        signatures = step.hasher.signatures_of(sets, sizes)
        estimate.append(float((signatures[0] == signatures[1]).mean()))
        keys = band_keys(signatures, step.bands, step.rows)
        candidate.append(bool((keys[0] == keys[1]).any()))
    return np.array(exact), np.array(estimate), np.array(candidate)
