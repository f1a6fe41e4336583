"""The review's files under DIR/review: the sample, the labels, and the exported corrections.

- `sample.jsonl`: the sampled documents in review order, drawn once and reused on restart
  (with `sample.json`, how it was drawn), so labels always refer to the same documents.
- `labels.jsonl`: append-only, one JSON object a line (`reviewer`, `id`, `label`,
  `model_label`, `time`); the latest line for a (reviewer, id) wins. Each line is synced to
  disk before the page answers, because it is a person's work. `skip` is recorded like a
  label (so the skipped document is not shown again) but never exported or scored.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mdfs.errors import UserError
from mdfs.review.sampling import CLASSES, draw_sample
from mdfs.storage import write_atomic_bytes

log = logging.getLogger(__name__)

SKIP = "skip"
CHOICES = (*CLASSES, SKIP)


@dataclass(frozen=True)
class ReviewPaths:
    run_dir: Path

    @property
    def root(self) -> Path:
        return self.run_dir / "review"

    @property
    def sample(self) -> Path:
        return self.root / "sample.jsonl"

    @property
    def summary(self) -> Path:
        return self.root / "sample.json"

    @property
    def labels(self) -> Path:
        return self.root / "labels.jsonl"


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    model_label: str
    stratum: str
    position: int  # 1-based, in review order
    offset: int  # where its line starts in sample.jsonl


class Sample:
    """The sample on disk. Only ids and offsets stay in memory; texts are read on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[Entry] = []
        self.by_id: dict[str, Entry] = {}
        offset = 0
        with open(path, "rb") as handle:
            for line in handle:
                if line.strip():
                    record = orjson.loads(line)
                    entry = Entry(
                        record["id"],
                        record["model_label"],
                        record["stratum"],
                        len(self.entries) + 1,
                        offset,
                    )
                    self.entries.append(entry)
                    self.by_id[entry.id] = entry
                offset += len(line)

    def __len__(self) -> int:
        return len(self.entries)

    def record(self, doc_id: str) -> dict[str, Any]:
        entry = self.by_id[doc_id]
        with open(self.path, "rb") as handle:
            handle.seek(entry.offset)
            return orjson.loads(handle.readline())


def ensure_sample(
    run_dir: Path, fraction: float | None, seed: int | None, bins: int | None
) -> tuple[Sample, dict[str, Any], bool]:
    """The run's review sample, drawn now if there is none yet; True when it was drawn now."""
    paths = ReviewPaths(run_dir)
    if paths.sample.exists():
        summary = orjson.loads(paths.summary.read_bytes()) if paths.summary.exists() else {}
        asked = {"fraction": fraction, "seed": seed, "bins": bins}
        differs = [
            f"{name}={summary.get(name)}"
            for name, value in asked.items()
            if value is not None and value != summary.get(name)
        ]
        if differs:
            log.warning(
                "reusing the sample in %s (%s); delete it to draw another",
                paths.sample,
                ", ".join(differs),
            )
        return Sample(paths.sample), summary, False
    records, summary = draw_sample(
        run_dir,
        fraction=0.05 if fraction is None else fraction,
        seed=0 if seed is None else seed,
        bins=4 if bins is None else bins,
    )
    # The summary first: sample.jsonl is the marker that the draw is complete.
    write_atomic_bytes(paths.summary, orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    write_atomic_bytes(paths.sample, b"".join(orjson.dumps(r) + b"\n" for r in records))
    return Sample(paths.sample), summary, True


class LabelStore:
    """labels.jsonl, and the latest label per (reviewer, id) read from it.

    `refresh` reads only what was appended since the last read, so a second server or the
    export command working on the same DIR sees the same labels.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._offset = 0
        self._latest: dict[tuple[str, str], str] = {}
        self.refresh()

    def refresh(self) -> None:
        with self._lock:
            self._read_new()

    def _read_new(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            handle.seek(self._offset)
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # a line still being written; read it next time
                self._offset += len(line)
                try:
                    record = orjson.loads(line)
                    key = (str(record["reviewer"]), str(record["id"]))
                    label = record["label"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    log.warning("%s: skipping a damaged line", self.path)
                    continue
                if label in CHOICES:
                    self._latest[key] = label

    def add(self, reviewer: str, doc_id: str, label: str, model_label: str | None) -> None:
        if label not in CHOICES:
            raise ValueError(f"label must be one of {', '.join(CHOICES)}, not {label!r}")
        line = orjson.dumps(
            {
                "reviewer": reviewer,
                "id": doc_id,
                "label": label,
                "model_label": model_label,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as handle:
                # A crash mid-write leaves a line without its newline; end it, or the next
                # label would be glued to it and lost as well.
                if handle.seek(0, os.SEEK_END) > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":
                        handle.write(b"\n")
                handle.write(line + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            self._read_new()

    def latest(self) -> dict[tuple[str, str], str]:
        """(reviewer, id) -> label, `skip` included."""
        with self._lock:
            self._read_new()
            return dict(self._latest)


def by_reviewer(latest: dict[tuple[str, str], str], reviewer: str) -> dict[str, str]:
    return {doc_id: label for (who, doc_id), label in latest.items() if who == reviewer}


def resolve(latest: dict[tuple[str, str], str]) -> tuple[dict[str, str], int]:
    """One label per document: the reviewers' majority, skips ignored.

    Returns the labels and how many documents were left out because reviewers tied: a
    tie says the document is ambiguous, and training on a coin flip only adds noise.
    """
    votes: dict[str, Counter[str]] = {}
    for (_, doc_id), label in latest.items():
        if label != SKIP:
            votes.setdefault(doc_id, Counter())[label] += 1
    resolved: dict[str, str] = {}
    ties = 0
    for doc_id, counts in votes.items():
        (best, n), *rest = counts.most_common()
        if rest and rest[0][1] == n:
            ties += 1
        else:
            resolved[doc_id] = best
    return resolved, ties


@dataclass
class Export:
    written: int
    ties: int
    missing: int  # labelled ids no longer in the sample (it was drawn again)


def corrections(sample: Sample, store: LabelStore) -> tuple[list[bytes], Export]:
    """The exported lines, in review order: `mdfs train-classifier --data` reads them."""
    resolved, ties = resolve(store.latest())
    lines = []
    for entry in sample.entries:
        label = resolved.get(entry.id)
        if label is not None:
            record = sample.record(entry.id)
            lines.append(
                orjson.dumps(
                    {
                        "id": entry.id,
                        "text": record["text"],
                        "label": label,
                        "model_label": entry.model_label,
                    }
                )
                + b"\n"
            )
    missing = sum(1 for doc_id in resolved if doc_id not in sample.by_id)
    return lines, Export(len(lines), ties, missing)


def export_corrections(run_dir: Path, output: Path) -> Export:
    """Write the corrections of a run's review to OUTPUT (without starting a server)."""
    paths = ReviewPaths(run_dir)
    if not paths.sample.exists() or not paths.labels.exists():
        raise UserError(f"no review labels in {paths.root}: run `mdfs review {run_dir}` first")
    lines, result = corrections(Sample(paths.sample), LabelStore(paths.labels))
    if not lines:
        raise UserError(f"no labels to export in {paths.labels} (only skips or ties)")
    write_atomic_bytes(output, b"".join(lines))
    return result
