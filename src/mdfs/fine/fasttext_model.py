"""A fastText classifier distilled from the BERT model's labels, for CPU-only throughput.

ChineseWebText and WanJuan do the same: the expensive model labels a large pool once, a
linear bag-of-n-grams model learns those labels and then scores the corpus at thousands of
documents a second. Chinese has no spaces, so every character is a token and fastText's
word bigrams become character bigrams.

Training needs the `fasttext` bindings with `train_supervised` (pip: fasttext-numpy2-wheel);
prediction works with those or with `fasttext-predict`, which MDFS already depends on.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mdfs.errors import UserError
from mdfs.fine import LABELS

LINE_BREAK = "¶"


def to_tokens(text: str) -> str:
    # Every character a token: str.join runs in C, where a tokenising regex took half the
    # time of the whole fastText path. Whitespace just separates, as fastText splits on it.
    # fastText reads one example a line, so a line break inside a text becomes a token of
    # its own: the line structure (menus, headline walls) is evidence, as for the encoder.
    return " ".join(text[:2000].replace("\r", "").replace("\n", LINE_BREAK))


class FastTextScorer:
    def __init__(self, path: str | Path) -> None:
        import fasttext

        path = Path(path)
        if not path.is_file():
            raise UserError(f"fastText model {path} does not exist")
        self.model = fasttext.load_model(str(path))
        self.index = {f"__label__{label}": i for i, label in enumerate(LABELS)}

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        result = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        if not texts:
            return result
        # One text a call: fasttext-predict (what the core installs) and the full fastText
        # bindings agree on single-text predict, not on what a list returns.
        for row, text in enumerate(texts):
            names, values = self.model.predict(to_tokens(text), k=len(LABELS))
            for name, value in zip(names, values, strict=True):
                result[row, self.index[name]] = value
        return result


def train_fasttext(
    texts: Sequence[str], labels: Sequence[str], output: Path, epochs: int = 25, dim: int = 16
) -> Path:
    """Train a fastText model on (text, label) pairs and save it (.bin, ~7 MB).

    Not quantised: a quantised model is 2 MB smaller but predicts 3x slower (13k vs 38k
    segments/s measured), and throughput is this model's reason to exist.
    """
    try:
        import fasttext
    except ImportError:
        fasttext = None
    if fasttext is None or not hasattr(fasttext, "train_supervised"):
        raise UserError(
            "training fastText needs the full bindings: pip install fasttext-numpy2-wheel "
            "(fasttext-predict can only predict)"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as stream:
        for text, label in zip(texts, labels, strict=True):
            stream.write(f"__label__{label} {to_tokens(text)}\n")
        stream.flush()
        model = fasttext.train_supervised(
            input=stream.name,
            epoch=epochs,
            lr=0.1,  # 0.5, and once 0.2, diverged (NaN) on character tokens of long segments
            dim=dim,
            wordNgrams=2,
            minCount=2,
            bucket=100_000,
            loss="softmax",  # calibrated probabilities for all three classes, not one-vs-all
            thread=1,
            seed=13,
            verbose=0,
        )
    model.save_model(str(output))
    return output
