"""The fine filter step: a three-class quality classifier over document segments."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, PrivateAttr

from mdfs.document import Document, Removed
from mdfs.fine.scoring import DocumentScore, Scorer, load_scorer, score_documents
from mdfs.histogram import Histograms
from mdfs.pipeline import Step, register
from mdfs.recipe_files import ModelPath

log = logging.getLogger(__name__)


@register
class QualityClassifier(Step):
    """BERT (or distilled fastText) high / low / ad classifier, per document and per segment.

    Each document is cut into segments of at most `max_segment_chars` characters (runs of
    lines; a long line is cut on its own). The document's scores are the character-weighted
    mean of its segments' scores: it goes as `advertisement` when the ad score reaches
    `ad_threshold`, else as `low_quality` when the high score is under `high_threshold`.

    In a kept document, the pieces of one long line are judged together as one block (a
    wall of headlines is one line; a single teaser in it can look like prose). Blocks at the
    start and end with a piece whose high score is under `segment_threshold` are cut, which
    is how a good article loses a tail of unrelated headlines; blocks inside are cut only
    when their mean is under the much lower `inner_segment_threshold`, because between two
    good paragraphs a low score is more often the model misreading a table or a reference
    list than junk. Trimming takes edges off a document judged good as a whole; when it would
    take every block (a one-line document is one block, cut for any weak piece), there is no
    good middle to trim towards, and the document's own score, which passed, stands: it is
    kept whole. Scores and the number of cut segments are left in `meta["quality"]`.

    With `annotate_only` the step filters nothing: every document is kept with its text
    unchanged, and `meta["quality"]` records the scores and the most likely class as `label`
    (what `mdfs classify` reports); the thresholds do not apply.

    With `decide: false` the step only scores, and cuts segments from the documents it
    would keep, never removing a document for its scores: the `fine_decision` step then
    decides with these scores and the other signals on the whole of a document the
    classifier calls junk.
    """

    name = "quality_classifier"
    histograms: ClassVar[Histograms] = {
        "meta.quality.scores.high": "high_threshold",
        "meta.quality.scores.low": None,
        "meta.quality.scores.ad": "ad_threshold",
    }
    model: ModelPath | None = (
        None  # model dir (bert) or .bin file (fasttext); None: the shipped one
    )
    backend: Literal["bert", "fasttext"] = "bert"
    high_threshold: float = Field(0.5, ge=0, le=1)
    ad_threshold: float = Field(0.5, ge=0, le=1)
    segment_threshold: float = Field(0.5, ge=0, le=1)
    inner_segment_threshold: float = Field(0.1, ge=0, le=1)
    decide: bool = True  # false: score and cut segments only; `fine_decision` decides
    drop_segments: bool = True
    max_segment_chars: int = Field(256, gt=0)
    min_segment_chars: int = Field(40, ge=0)
    batch_documents: int = Field(256, gt=0)  # documents gathered before one scoring call
    batch_size: int = Field(64, gt=0)  # segments per forward pass
    max_length: int = Field(512, gt=0)  # tokens per segment (BERT)
    device: str = "cpu"  # cpu, cuda, cuda:1 ...
    threads: int = Field(0, ge=0)  # torch CPU threads; 0: one in a worker, else all cores
    quantize: bool = False  # int8 Linear layers (CPU): faster, probabilities move a little
    annotate_only: bool = False  # keep every document, unchanged; only record the scores

    _scorer: Scorer | None = PrivateAttr(default=None)

    def setup(self) -> None:
        self._scorer = load_scorer(
            self.model,
            self.backend,
            self.device,
            self.batch_size,
            self.max_length,
            self.threads,
            self.quantize,
        )

    def run(self, documents: Iterable[Document]) -> Iterator[Document | Removed]:
        batch: list[Document] = []
        for document in documents:
            batch.append(document)
            if len(batch) >= self.batch_documents:
                yield from self._judge(batch)
                batch = []
        if batch:
            yield from self._judge(batch)

    def _judge(self, batch: list[Document]) -> Iterator[Document | Removed]:
        assert self._scorer is not None
        try:
            scores = score_documents(
                [d.text for d in batch],
                self._scorer,
                self.max_segment_chars,
                self.min_segment_chars,
            )
        except Exception as error:  # a failed batch must cost its documents, not the run
            log.warning("quality classifier failed on a batch: %r", error)
            for document in batch:
                document.meta["step_error"] = f"{type(error).__name__}: {error}"[:500]
                yield Removed(document, "step_error")
            return
        for document, score in zip(batch, scores, strict=True):
            yield self._decide(document, score)

    def _decide(self, document: Document, score: DocumentScore) -> Document | Removed:
        if self.annotate_only:
            document.meta["quality"] = {"label": score.label, "scores": score.scores_dict()}
            return document
        high, _, ad = (float(p) for p in score.scores)
        quality = {"label": "high", "scores": score.scores_dict(), "segments_removed": 0}
        document.meta["quality"] = quality
        if ad >= self.ad_threshold:
            quality["label"] = "ad"
            return Removed(document, "advertisement") if self.decide else document
        if high < self.high_threshold:
            quality["label"] = "low"
            return Removed(document, "low_quality") if self.decide else document
        if not self.drop_segments:
            return document
        keep = self._segments_to_keep(score)
        if keep.all() or not keep.any():
            return document  # nothing to cut, or nothing left to cut from: see the docstring
        text = document.text
        pieces: list[str] = []
        previous_end = None
        for segment, kept in zip(score.segments, keep, strict=True):
            if kept:
                # pieces of one long line are contiguous and join without a line break
                if pieces and previous_end != segment.start:
                    pieces.append("\n")
                pieces.append(segment.text(text))
                previous_end = segment.end
        trimmed = "".join(pieces)
        if not trimmed.strip():
            return document
        quality["segments_removed"] = int((~keep).sum())
        document.text = trimmed
        return document

    def _segments_to_keep(self, score: DocumentScore) -> np.ndarray:
        segments = score.segments
        # blocks: runs of contiguous segments, i.e. the pieces of one long line
        blocks: list[list[int]] = []
        for i, segment in enumerate(segments):
            if blocks and segments[i - 1].end == segment.start:
                blocks[-1].append(i)
            else:
                blocks.append([i])
        chars = np.array([s.end - s.start for s in segments], dtype=np.float64)
        high = score.segment_scores[:, 0].astype(np.float64)
        block_mean = [float((high[b] * chars[b]).sum() / chars[b].sum()) for b in blocks]
        keep_block = [p >= self.inner_segment_threshold for p in block_mean]
        # At the edges a long line goes when any piece of it is junk: content farms glue a
        # wall of headlines and teasers into one line, and some teasers read like prose.
        block_min = [float(high[b].min()) for b in blocks]
        for order in (range(len(blocks)), range(len(blocks) - 1, -1, -1)):
            for index in order:  # trim from each edge while the blocks there are junk
                if block_min[index] >= self.segment_threshold:
                    break
                keep_block[index] = False
        keep = np.ones(len(segments), dtype=bool)
        for block, kept in zip(blocks, keep_block, strict=True):
            keep[block] = kept
        return keep
