"""The fine filter's one decision: a calibrated model over every signal in `meta`.

Each signal step (`fluency`, `lexical_signals`, `url_signals`, and the BERT
`quality_classifier` with `decide: false`) leaves its scores in `meta`. The combiner turns
them into one feature vector, standardises it with the training mean and scale, and a
multinomial logistic regression gives calibrated high / low / ad probabilities. A feature
whose signal is missing (a recipe dropped the step, a document has no URL) takes the
training mean, so it moves no probability.

The fitted model is a small JSON file (`data/models/fine-combiner/combiner.json`: feature
names, mean, scale, coefficients, the keep threshold and how it was chosen), readable and
loadable without pickle; `mdfs train-combiner` refits it. A second file,
`combiner-no-classifier.json`, is fitted on the cheap signals alone: the step uses it for
documents without classifier scores (a recipe without `quality_classifier`), since the
classifier's features are the strongest and a missing one is poorly stood in for by its
mean.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, PrivateAttr

from mdfs.document import Document
from mdfs.errors import UserError
from mdfs.fine import LABELS
from mdfs.pipeline import Filter, register

COMBINER_DIR = Path(__file__).resolve().parents[1] / "data" / "models" / "fine-combiner"
DEFAULT_COMBINER = COMBINER_DIR / "combiner.json"
# fitted without the classifier's features, for documents the classifier did not score
DEFAULT_SIGNALS_COMBINER = COMBINER_DIR / "combiner-no-classifier.json"
REASONS = {"low": "low_quality", "ad": "advertisement"}
CLIP = 3.0


def _log(value: float) -> float:
    return math.log(max(value, 1e-6))


def _log1p(value: float) -> float:
    return math.log1p(max(value, 0.0))


# A line this long is a sentence or more; a longer mean says nothing more about prose, but
# uncapped, a one-paragraph article (one long line) read as unlike the training documents
# (many lines) and lost to `line_shape`. Chosen on the built split: macro-F1 0.941 at 60,
# 0.936 uncapped, 0.937 at 80 and 200.
LINE_CHARS_CAP = 60.0


def _line_chars(value: float) -> float:
    return math.log1p(min(max(value, 0.0), LINE_CHARS_CAP))


def _same(value: float) -> float:
    return float(value)


# feature name: (signal it belongs to, where it is in meta, transform). Left out, though in
# meta: figures that grow with a document's length (the largest line perplexity, the top
# n-gram's share, a title's overlap with a longer body), because the training documents are
# shorter than many a web page and a linear model would read their length as quality.
FEATURES: dict[str, tuple[str, tuple[str, ...], Callable[[float], float]]] = {
    "quality_high": ("classifier", ("quality", "scores", "high"), _same),
    "quality_low": ("classifier", ("quality", "scores", "low"), _same),
    "quality_ad": ("classifier", ("quality", "scores", "ad"), _same),
    "log_perplexity": ("perplexity", ("fluency", "perplexity"), _log),
    "line_log_perplexity_std": ("perplexity", ("fluency", "line_log_perplexity_std"), _same),
    "high_perplexity_line_fraction": (
        "perplexity",
        ("fluency", "high_perplexity_line_fraction"),
        _same,
    ),
    "gambling_evidence": ("gambling", ("lexical", "gambling_evidence"), _log1p),
    "porn_evidence": ("porn", ("lexical", "porn_evidence"), _log1p),
    "medical_density": ("medical", ("lexical", "medical_density"), _log1p),
    "finance_density": ("finance", ("lexical", "finance_density"), _log1p),
    "marketing_density": ("marketing", ("lexical", "marketing_density"), _log1p),
    "contact_density": ("contact", ("lexical", "contact_density"), _log1p),
    "log_mean_line_chars": ("line_shape", ("lexical", "mean_line_chars"), _line_chars),
    "sentence_end_fraction": ("line_shape", ("lexical", "sentence_end_fraction"), _same),
    "host_digits": ("url", ("url", "host_digits"), _log1p),
    "random_subdomain": ("url", ("url", "random_subdomain"), _same),
    "cheap_tld": ("url", ("url", "cheap_tld"), _same),
    "host_labels": ("url", ("url", "host_labels"), _same),
    "path_depth": ("url", ("url", "path_depth"), _log1p),
    "path_digit_fraction": ("url", ("url", "path_digit_fraction"), _same),
    "blocked_domain": ("url", ("url", "blocked_domain"), _same),
}


def signal_features(meta: dict[str, Any]) -> dict[str, float]:
    """The features present in a document's `meta`, transformed; absent ones are left out."""
    features = {}
    for name, (_, path, transform) in FEATURES.items():
        value: Any = meta
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float) and math.isfinite(value):
            features[name] = transform(value)
    return features


@dataclass
class Combiner:
    features: list[str]
    mean: np.ndarray  # (F,)
    scale: np.ndarray  # (F,)
    coef: np.ndarray  # (3, F), rows in the order of LABELS
    intercept: np.ndarray  # (3,)
    high_threshold: float  # keep a document whose high probability reaches this
    about: dict[str, Any] = field(default_factory=dict)  # how it was fitted and measured
    # standard scores of a typical good document (the high class's training mean): a
    # removal is explained by how the document differs from good text, not from the mean
    reference: np.ndarray | None = None

    def standardise(self, rows: list[dict[str, float]]) -> np.ndarray:
        """Standard scores, clipped to +-CLIP: a document unlike any seen in training moves
        the decision no further than the extremes of the training set do."""
        x = np.array([[row.get(f, m) for f, m in zip(self.features, self.mean, strict=True)]
                      for row in rows], dtype=np.float64).reshape(len(rows), len(self.features))  # fmt: skip
        return np.clip((x - self.mean) / self.scale, -CLIP, CLIP)

    def probabilities(self, z: np.ndarray) -> np.ndarray:
        logits = z @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def deciding_signal(self, z: np.ndarray, label: str) -> str:
        """The signal that pushed hardest from high toward `label` (summed over its features),
        measured from a typical good document, so a signal at its good-text value never
        counts as the reason."""
        reference = np.zeros_like(z) if self.reference is None else self.reference
        direction = self.coef[LABELS.index(label)] - self.coef[LABELS.index("high")]
        push = direction * (z - reference)
        by_signal: dict[str, float] = {}
        for name, value in zip(self.features, push, strict=True):
            signal = FEATURES[name][0]
            by_signal[signal] = by_signal.get(signal, 0.0) + float(value)
        return max(by_signal, key=by_signal.__getitem__)

    def save(self, path: str | Path) -> None:
        record = {
            "classes": list(LABELS),
            "features": self.features,
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [[round(float(v), 6) for v in row] for row in self.coef],
            "intercept": [round(float(v), 6) for v in self.intercept],
            "high_threshold": round(float(self.high_threshold), 4),
            "reference": None
            if self.reference is None
            else [round(float(v), 6) for v in self.reference],
            "about": self.about,
        }
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", "utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Combiner:
        file = Path(path)
        if not file.is_file():
            raise UserError(f"combiner {path} does not exist (`mdfs train-combiner`)")
        try:
            record = json.loads(file.read_text("utf-8"))
            unknown = set(record["features"]) - set(FEATURES)
            if unknown or record["classes"] != list(LABELS):
                raise ValueError(
                    f"unknown features {sorted(unknown)} or classes (refit it: `mdfs train-combiner`)"
                )
            return cls(
                features=list(record["features"]),
                mean=np.array(record["mean"], dtype=np.float64),
                scale=np.array(record["scale"], dtype=np.float64),
                coef=np.array(record["coef"], dtype=np.float64),
                intercept=np.array(record["intercept"], dtype=np.float64),
                high_threshold=float(record["high_threshold"]),
                about=record.get("about", {}),
                reference=None
                if record.get("reference") is None
                else np.array(record["reference"], dtype=np.float64),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise UserError(f"combiner {path} is not a combiner file: {error}") from None


@register
class FineDecision(Filter):
    """Keep or remove by the combiner's high / low / ad probabilities over all signals.

    A document is kept when its high probability reaches the threshold (by default the one
    stored with the model, chosen on its dev split for a stated precision). With no `model`
    given, documents without classifier scores (`meta["quality"]`) are judged by the
    shipped combiner fitted without them. Otherwise it
    goes as `advertisement:<signal>` or `low_quality:<signal>` (the likelier of the two
    classes, and the signal that pushed hardest toward it, e.g. `low_quality:perplexity`).
    Probabilities, label and deciding signal are left in `meta["fine"]`.
    """

    name = "fine_decision"
    model: str | None = None  # JSON from `mdfs train-combiner`; None: the shipped one
    high_threshold: float | None = Field(None, ge=0, le=1)  # None: the model's own

    _combiner: Combiner | None = PrivateAttr(default=None)
    _without_classifier: Combiner | None = PrivateAttr(default=None)

    def setup(self) -> None:
        self._combiner = Combiner.load(self.model or DEFAULT_COMBINER)
        self._without_classifier = (
            self._combiner if self.model else Combiner.load(DEFAULT_SIGNALS_COMBINER)
        )

    thresholds = frozenset({"high_threshold"})

    def measure(self, document: Document) -> None:
        combiner = self._combiner_for(document)
        z = combiner.standardise([signal_features(document.meta)])
        probabilities = combiner.probabilities(z)[0]
        scores = {label: round(float(p), 4) for label, p in zip(LABELS, probabilities, strict=True)}
        # the signal that pushed hardest toward the likelier junk class, kept or not: a
        # stricter threshold (`mdfs filter`) names it without the features
        junk = "ad" if scores["ad"] >= scores["low"] else "low"
        document.meta["fine"] = {
            "scores": scores,
            "label": "high",
            "signal": combiner.deciding_signal(z[0], junk),
        }

    def judge(self, document: Document) -> bool | str:
        decision: dict[str, Any] = document.meta["fine"]
        scores = decision["scores"]
        threshold = self.high_threshold
        if threshold is None:
            threshold = self._combiner_for(document).high_threshold
        if scores["high"] >= threshold:
            decision["label"] = "high"
            return True
        decision["label"] = "ad" if scores["ad"] >= scores["low"] else "low"
        return f"{REASONS[decision['label']]}:{decision['signal']}"

    def _combiner_for(self, document: Document) -> Combiner:
        self.ensure_setup()  # two small JSON files: `judge` may run without `measure`
        has_classifier = "quality" in document.meta
        combiner = self._combiner if has_classifier else self._without_classifier
        assert combiner is not None
        return combiner
