"""From segment probabilities to document verdicts, shared by `mdfs classify` and the step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from mdfs.errors import UserError
from mdfs.fine import LABELS
from mdfs.fine.segments import Segment, split_segments

MODELS_DIR = Path(__file__).resolve().parents[1] / "data" / "models"
DEFAULT_BERT = MODELS_DIR / "quality-bert"
DEFAULT_FASTTEXT = MODELS_DIR / "quality-fasttext" / "model.bin"
BACKENDS = ("bert", "fasttext")


class Scorer(Protocol):
    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 3) probabilities in the order of `LABELS`."""
        ...


def default_model(backend: str) -> Path:
    return DEFAULT_BERT if backend == "bert" else DEFAULT_FASTTEXT


def load_scorer(
    model: str | Path | None,
    backend: str = "bert",
    device: str = "cpu",
    batch_size: int = 64,
    max_length: int = 512,
    threads: int = 0,
) -> Scorer:
    if backend not in BACKENDS:
        raise UserError(f"backend {backend!r} is not one of {list(BACKENDS)}")
    path = Path(model) if model else default_model(backend)
    if not path.exists():
        hint = " (rebuild it with `mdfs build-default-model`)" if model is None else ""
        raise UserError(f"model {path} does not exist{hint}")
    if backend == "bert":
        from mdfs.fine.bert import BertScorer

        return BertScorer(path, device, batch_size, max_length, threads)
    from mdfs.fine.fasttext_model import FastTextScorer

    return FastTextScorer(path)


@dataclass
class DocumentScore:
    scores: np.ndarray  # (3,) character-weighted mean of the segment probabilities
    segments: list[Segment]
    segment_scores: np.ndarray  # (n_segments, 3)

    @property
    def label(self) -> str:
        return LABELS[int(np.argmax(self.scores))]

    def scores_dict(self) -> dict[str, float]:
        return {label: round(float(p), 4) for label, p in zip(LABELS, self.scores, strict=True)}


def score_documents(
    texts: Sequence[str], scorer: Scorer, max_chars: int = 256, min_chars: int = 40
) -> list[DocumentScore]:
    """Score every segment of every text in one batched call, then average per document."""
    all_segments = [split_segments(text, max_chars, min_chars) for text in texts]
    flat = [seg.text(text) for text, segs in zip(texts, all_segments, strict=True) for seg in segs]
    probabilities = scorer.predict(flat)
    results = []
    position = 0
    for segments in all_segments:
        block = probabilities[position : position + len(segments)]
        position += len(segments)
        if not segments:  # nothing but blank lines
            empty = np.array([0.0, 1.0, 0.0], dtype=np.float32)
            results.append(DocumentScore(empty, [], block))
            continue
        weights = np.array([seg.end - seg.start for seg in segments], dtype=np.float32)
        scores = (block * weights[:, None]).sum(axis=0) / weights.sum()
        results.append(DocumentScore(scores, segments, block))
    return results
