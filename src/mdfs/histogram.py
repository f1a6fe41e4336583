"""Score histograms a step declares, counted with fixed bins while a run streams.

A step names the numbers worth seeing next to its threshold, in one line, for example:

    histograms: ClassVar[Histograms] = {"meta.cjk_ratio": "min_cjk_ratio"}
    histograms: ClassVar[Histograms] = {"meta.perplexity": Histogram("max_perplexity", 1, 1e5, log=True)}

Each key is where the number is (`meta.a.b` in the document's `meta`, or `length`, the
characters of its text); each value the step's own field that holds the threshold (None for
none), or a `Histogram` for numbers outside [0, 1]. Bins are fixed before the first document,
so a shard's counts take constant memory and shards merge by adding, on any engine.
Documents the step kept and removed are counted apart, to show which side of the threshold
each bin fell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mdfs.document import Document


@dataclass(frozen=True)
class Histogram:
    threshold: str | None = None  # the step's field holding the threshold
    low: float = 0.0
    high: float = 1.0
    bins: int = 20
    log: bool = False  # log-spaced bins (lengths); `low` must then be positive

    def position(self, value: float) -> float:
        """Where `value` lies between `low` (0) and `high` (1), before clamping."""
        if self.log:
            return (math.log10(max(value, self.low)) - math.log10(self.low)) / (
                math.log10(self.high) - math.log10(self.low)
            )
        return (value - self.low) / (self.high - self.low)


# where the number is -> the threshold's field, or the bins when the number is not in [0, 1]
Histograms = dict[str, "str | Histogram | None"]


def declared(spec: str | Histogram | None) -> Histogram:
    return spec if isinstance(spec, Histogram) else Histogram(threshold=spec)


def value_at(document: Document, where: str) -> float | None:
    """The number at `where` in a document (`length` or `meta.a.b`); None if it has none."""
    if where == "length":
        return float(len(document.text))
    value: Any = document.meta
    for key in where.removeprefix("meta.").split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


class HistogramCounts:
    """One declared histogram of one step over a stream: kept and removed counts per bin."""

    def __init__(self, where: str, spec: Histogram, threshold: float | None) -> None:
        self.where = where
        self.spec = spec
        self.threshold = threshold
        self.kept = [0] * spec.bins
        self.removed = [0] * spec.bins

    def add(self, document: Document, kept: bool) -> None:
        value = value_at(document, self.where)
        if value is None:
            return
        index = min(self.spec.bins - 1, max(0, int(self.spec.position(value) * self.spec.bins)))
        (self.kept if kept else self.removed)[index] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "low": self.spec.low,
            "high": self.spec.high,
            "log": self.spec.log,
            "threshold_field": self.spec.threshold,
            "threshold": self.threshold,
            "kept": self.kept,
            "removed": self.removed,
        }


def counters_for(step: Any) -> dict[str, HistogramCounts]:
    """Fresh counts for every histogram `step` declares, with its thresholds resolved."""
    counts = {}
    for where, spec in getattr(step, "histograms", {}).items():
        histogram = declared(spec)
        raw = getattr(step, histogram.threshold) if histogram.threshold else None
        threshold = float(raw) if isinstance(raw, int | float) else None
        counts[where] = HistogramCounts(where, histogram, threshold)
    return counts


def merge_into(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add one shard's histogram (`HistogramCounts.to_dict`) to a merged one of equal bins."""
    for side in ("kept", "removed"):
        total[side] = [a + b for a, b in zip(total[side], part[side], strict=True)]
