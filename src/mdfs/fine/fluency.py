"""Fluency signal: perplexity under a character n-gram model of clean Chinese (CCNet-style).

CCNet ranks web text by the perplexity of a language model trained on Wikipedia: fluent
prose scores low, lists, link farms and machine-spun text score high. Per-line figures catch
what a document mean hides: a collage of sentences from unrelated articles, a keyword
repeated through the text or an injected anchor list make a few lines far less likely than
the rest.

The shipped model (`data/models/fluency-zh/char3.npz`, ~2.6 MB) is a character trigram
trained on People's Daily (January 1998) and CMRC 2018 Wikipedia paragraphs, normalised as
the coarse stage normalises; one article or paragraph in five is held out of it
(`held_out_of_fluency_model`) so that the combiner can be fitted on text the model has not
memorised. Rebuild it with `mdfs train-fluency-model`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import Field, PrivateAttr

from mdfs.document import Document
from mdfs.errors import UserError
from mdfs.fine.ngram import NEWLINE, CharNgramModel
from mdfs.pipeline import Filter, register

DEFAULT_FLUENCY_MODEL = (
    Path(__file__).resolve().parents[1] / "data" / "models" / "fluency-zh" / "char3.npz"
)


def held_out_of_fluency_model(group: str) -> bool:
    """True for the reference articles (`wiki:<title>`, `pd:<index>`) the model never saw."""
    return zlib.crc32(group.encode("utf-8")) % 5 == 0


def reference_lines(data: Path) -> Iterator[str]:
    """Normalised lines of the reference text, without the held-out articles."""
    from mdfs.coarse.normalize import Normalize
    from mdfs.fine.labelled import Sources, _peoples_daily, _wikipedia

    normalize = Normalize()
    normalize.setup()
    sources = Sources(data)
    for text, title in _wikipedia(sources):
        if not held_out_of_fluency_model(f"wiki:{title}"):
            yield from normalize.normalize(text).split("\n")
    for index, article in enumerate(_peoples_daily(sources)):
        if not held_out_of_fluency_model(f"pd:{index}"):
            yield from (normalize.normalize(line) for line in article)


def train_fluency_model(data: Path, output: Path, order: int = 3) -> CharNgramModel:
    model = CharNgramModel.train(reference_lines(data), order=order)
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save(output)
    return model


def perplexity_figures(
    model: CharNgramModel, text: str, min_line_chars: int, line_bound: float
) -> dict[str, float]:
    """Document perplexity and per-line figures over the lines of at least `min_line_chars`."""
    log_probs = model.log_probs(text)
    if not len(log_probs):
        return {}
    figures = {"perplexity": float(np.exp(-log_probs.mean()))}
    # each line ends with its line break token; split the scores there
    ends = np.flatnonzero(model.ids(text) == NEWLINE)
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends + 1, [len(log_probs)]])
    lengths = stops - starts
    long = lengths > min_line_chars  # the line break is one of the scored tokens
    if long.any():
        line_log_ppl = -(np.add.reduceat(log_probs, starts) / lengths)[long]
        weights = lengths[long]
        figures["line_perplexity_max"] = float(np.exp(line_log_ppl.max()))
        figures["line_log_perplexity_std"] = float(line_log_ppl.std())
        above = line_log_ppl > np.log(line_bound)
        figures["high_perplexity_line_fraction"] = float(weights[above].sum() / weights.sum())
    else:
        figures["line_perplexity_max"] = figures["perplexity"]
        figures["line_log_perplexity_std"] = 0.0
        figures["high_perplexity_line_fraction"] = float(figures["perplexity"] > line_bound)
    return {name: round(value, 4) for name, value in figures.items()}


@register
class Fluency(Filter):
    """Character-trigram perplexity of the document and of its lines (`meta["fluency"]`).

    Writes `perplexity`, `line_perplexity_max`, `line_log_perplexity_std` and
    `high_perplexity_line_fraction` (share of the characters in lines above `line_bound`).
    Scores only, unless `remove` is set: then a document above `max_perplexity`, or with
    more than `max_high_line_fraction` of its text in such lines, goes as
    `low_quality:perplexity`.
    """

    name = "fluency"
    model: str | None = None  # .npz from `mdfs train-fluency-model`; None: the shipped one
    min_line_chars: int = Field(10, ge=1)  # shorter lines count for the document only
    line_bound: float = Field(1000.0, gt=1)
    remove: bool = False
    max_perplexity: float = Field(400.0, gt=1)
    max_high_line_fraction: float = Field(0.5, ge=0, le=1)

    _model: CharNgramModel | None = PrivateAttr(default=None)

    def setup(self) -> None:
        path = Path(self.model) if self.model else DEFAULT_FLUENCY_MODEL
        if not path.is_file():
            raise UserError(f"fluency model {path} does not exist (`mdfs train-fluency-model`)")
        self._model = CharNgramModel.load(path)

    thresholds = frozenset({"remove", "max_perplexity", "max_high_line_fraction"})

    def measure(self, document: Document) -> None:
        assert self._model is not None
        document.meta["fluency"] = perplexity_figures(
            self._model, document.text, self.min_line_chars, self.line_bound
        )

    def judge(self, document: Document) -> bool | str:
        figures = document.meta.get("fluency")
        if (
            self.remove
            and figures
            and (
                figures["perplexity"] > self.max_perplexity
                or figures["high_perplexity_line_fraction"] > self.max_high_line_fraction
            )
        ):
            return "low_quality:perplexity"
        return True
