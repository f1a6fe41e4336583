"""From segment probabilities to document verdicts, shared by `mdfs classify` and the step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from mdfs.coarse.text_stats import cjk_ratio
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
    quantize: bool = False,
) -> Scorer:
    if backend not in BACKENDS:
        raise UserError(f"backend {backend!r} is not one of {list(BACKENDS)}")
    path = Path(model) if model else default_model(backend)
    if not path.exists():
        hint = " (rebuild it with `mdfs build-default-model`)" if model is None else ""
        raise UserError(f"model {path} does not exist{hint}")
    if backend == "bert":
        from mdfs.fine.bert import BertScorer

        return BertScorer(path, device, batch_size, max_length, threads, quantize)
    if quantize:
        raise UserError("quantize applies to the bert backend only")
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


def out_of_domain_weight(text: str, min_cjk_ratio: float) -> float:
    """How much of the model's verdict to trust: 1 for Chinese prose, less below the ratio.

    The classifier learned from Chinese text only. Code, English link lists and markup
    debris are outside what it has seen, and it tends to call them fluent ("high"); for a
    Chinese corpus they are low quality, so their document scores are pulled toward "low"
    in proportion to how little of them is Chinese.
    """
    if min_cjk_ratio <= 0:
        return 1.0
    return min(1.0, cjk_ratio(text) / min_cjk_ratio)


def score_documents(
    texts: Sequence[str],
    scorer: Scorer,
    max_chars: int = 256,
    min_chars: int = 40,
    min_cjk_ratio: float = 0.6,
) -> list[DocumentScore]:
    """Score every segment of every text in one batched call, then average per document."""
    all_segments = [split_segments(text, max_chars, min_chars) for text in texts]
    flat = [seg.text(text) for text, segs in zip(texts, all_segments, strict=True) for seg in segs]
    probabilities = scorer.predict(flat)
    results = []
    position = 0
    low = np.eye(len(LABELS), dtype=np.float32)[LABELS.index("low")]
    for text, segments in zip(texts, all_segments, strict=True):
        block = probabilities[position : position + len(segments)]
        position += len(segments)
        if not segments:  # nothing but blank lines
            empty = np.array([0.0, 1.0, 0.0], dtype=np.float32)
            results.append(DocumentScore(empty, [], block))
            continue
        weights = np.array([seg.end - seg.start for seg in segments], dtype=np.float32)
        scores = (block * weights[:, None]).sum(axis=0) / weights.sum()
        trust = out_of_domain_weight(text, min_cjk_ratio)
        scores = trust * scores + (1.0 - trust) * low
        results.append(DocumentScore(scores, segments, block))
    return results
