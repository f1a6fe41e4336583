"""A stratified sample of the fine stage's decisions in a run's output.

A decision is a document on which the `quality_classifier` step set `meta["quality"]`, kept
(DIR/corpus) or removed (DIR/removed). Strata are the model's label crossed with quantile
bins of the model's confidence in that label, so the rare class and the uncertain cases are
reviewed even when a plain random sample would miss them. Every non-empty stratum gives at
least one document; otherwise each gives `fraction` of its size.

The draw streams the run twice and holds only the confidences and the sample itself, so it
works on a corpus much larger than memory. A document is chosen by a keyed hash of its id,
not by position, so the sample depends on the seed and the set of documents only — not on
shard order or how many workers wrote them.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from mdfs.errors import UserError
from mdfs.layout import Layout

CLASSES = ("high", "low", "ad")
FINE_STEP = "quality_classifier"


@dataclass(frozen=True, slots=True)
class Decision:
    model_label: str
    scores: dict[str, float]

    @property
    def confidence(self) -> float:
        return self.scores.get(self.model_label, 0.0)


def decision_of(record: dict[str, Any]) -> Decision | None:
    """The fine stage's decision on a document, or None if the fine stage never saw it."""
    quality = (record.get("meta") or {}).get("quality")
    if not isinstance(quality, dict) or quality.get("label") not in CLASSES:
        return None
    raw_scores = quality.get("scores") or {}
    scores = {
        name: float(value)
        for name, value in raw_scores.items()
        if name in CLASSES and isinstance(value, int | float)
    }
    return Decision(quality["label"], scores)


def run_files(run_dir: Path) -> list[Path]:
    """The shards of a run's output; a UserError if DIR is not one."""
    layout = Layout(run_dir)
    corpus, removed = Path(layout.corpus), Path(layout.removed)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is not a directory")
    if not corpus.is_dir() and not removed.is_dir():
        raise UserError(f"{run_dir} is not an `mdfs run` output (no corpus/ or removed/ in it)")
    return sorted(corpus.glob("*.jsonl.gz")) + sorted(removed.glob("*.jsonl.gz"))


def iter_decisions(run_dir: Path) -> Iterator[tuple[dict[str, Any], Decision]]:
    for path in run_files(run_dir):
        try:
            with gzip.open(path, "rb") as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    record = orjson.loads(line)
                    decision = decision_of(record)
                    if decision is not None:
                        yield record, decision
        except (OSError, EOFError, orjson.JSONDecodeError) as error:
            raise UserError(f"cannot read {path}: {error}") from None


def sample_key(seed: int, doc_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}\0{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass
class Stratum:
    label: str
    bin: int
    low: float  # confidence range of the documents in it
    high: float
    size: int
    quota: int

    @property
    def name(self) -> str:
        return f"{self.label}/q{self.bin}"


def bin_edges(confidences: dict[str, array], bins: int) -> dict[str, np.ndarray]:
    """Bin edges per model label: quantiles of the model's confidence in that label."""
    inner = [i / bins for i in range(1, bins)]
    return {
        label: np.quantile(np.frombuffer(values, dtype=np.float64), inner)
        if len(values)
        else np.array([])
        for label, values in confidences.items()
    }


def bin_of(edges: np.ndarray, confidence: float) -> int:
    return int(np.searchsorted(edges, confidence, side="right"))


def draw_sample(
    run_dir: Path, fraction: float, seed: int, bins: int = 4
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The sampled records in review order, and a summary of how they were drawn."""
    if not 0 < fraction <= 1:
        raise UserError(f"--fraction must be in (0, 1], not {fraction}")
    if bins < 1:
        raise UserError(f"--bins must be at least 1, not {bins}")

    # Pass 1: the confidences alone (8 bytes a document) fix the bin edges and stratum sizes.
    confidences: dict[str, array] = {label: array("d") for label in CLASSES}
    for _, decision in iter_decisions(run_dir):
        confidences[decision.model_label].append(decision.confidence)
    total = sum(len(values) for values in confidences.values())
    if total == 0:
        raise UserError(
            f"no fine-stage decisions in {run_dir}: no document carries meta.quality "
            f"(run a recipe with the {FINE_STEP} step)"
        )
    edges = bin_edges(confidences, bins)
    strata: dict[tuple[str, int], Stratum] = {}
    for label, values in confidences.items():
        if not len(values):
            continue
        scores = np.frombuffer(values, dtype=np.float64)
        bin_index = np.searchsorted(edges[label], scores, side="right")
        for b in range(bins):
            members = scores[bin_index == b]
            if len(members):
                quota = max(1, round(fraction * len(members)))
                strata[label, b] = Stratum(
                    label, b, float(members.min()), float(members.max()), len(members), quota
                )

    # Pass 2: per stratum keep the `quota` documents with the smallest keys (a max-heap of
    # negated keys), so only the sample's texts are ever held.
    heaps: dict[tuple[str, int], list[tuple[int, str, dict[str, Any]]]] = {
        key: [] for key in strata
    }
    seen: set[str] = set()
    for record, decision in iter_decisions(run_dir):
        doc_id = str(record["id"])
        if doc_id in seen:
            continue  # ids are unique in a run; a repeat must not take two places
        stratum_key = (
            decision.model_label,
            bin_of(edges[decision.model_label], decision.confidence),
        )
        stratum = strata[stratum_key]
        key = sample_key(seed, doc_id)
        heap = heaps[stratum_key]
        if len(heap) < stratum.quota or -key > heap[0][0]:
            item = (-key, doc_id, sample_record(record, decision, stratum))
            if len(heap) < stratum.quota:
                heapq.heappush(heap, item)
            else:
                _, dropped, _ = heapq.heapreplace(heap, item)
                seen.discard(dropped)
            seen.add(doc_id)

    # Review order is the key order: random, but mixed across strata, so a reviewer who stops
    # early has still seen every class.
    chosen = sorted((item for heap in heaps.values() for item in heap), key=lambda item: -item[0])
    sample = [record for _, _, record in chosen]
    summary = {
        "fraction": fraction,
        "seed": seed,
        "bins": bins,
        "decisions": total,
        "sampled": len(sample),
        "strata": {
            s.name: {
                "label": s.label,
                "confidence": [s.low, s.high],
                "size": s.size,
                "sampled": s.quota,
            }
            for s in strata.values()
        },
    }
    return sample, summary


def sample_record(record: dict[str, Any], decision: Decision, stratum: Stratum) -> dict[str, Any]:
    return {
        "id": str(record["id"]),
        "text": record.get("text") or "",
        "source": record.get("source"),
        "url": record.get("url"),
        "model_label": decision.model_label,
        "scores": decision.scores,
        "stratum": stratum.name,
        "removed_by": record.get("removed_by"),
        "reason": record.get("reason"),
    }
