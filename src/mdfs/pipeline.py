"""Steps, and the accounting of what each keeps and removes.

A step turns a stream of documents into a stream of documents and `Removed` records. The
pipeline, not the step, counts what goes in, what comes out and why it was removed, so the
invariant ``in = kept + sum(removed)`` holds for any step anyone writes.

Three kinds of step:
- `Filter` answers one question per document: keep it (`True`) or the reason it goes.
- `Mapper` changes a document (and removes it as `empty` when nothing is left).
- `GlobalStep` needs the whole run before it can decide (deduplication): it `observe`s every
  shard, `decide`s once, then filters each shard like a `Filter`.
Steps are configured by their fields (pydantic validates a recipe into them) and load heavy
resources lazily in `setup()`, once per worker process.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from mdfs.document import Document, Removed
from mdfs.histogram import Histograms, counters_for, merge_into, value_at

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

STEP_REGISTRY: dict[str, type[Step]] = {}


def register(cls: type[Step]) -> type[Step]:
    """Make a step available to recipes under its `name`."""
    if cls.name in STEP_REGISTRY:
        raise ValueError(f"step name {cls.name!r} registered twice")
    STEP_REGISTRY[cls.name] = cls
    return cls


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: ClassVar[str]
    # numbers the report draws as histograms, with the field holding each one's threshold
    # (`mdfs.histogram`): {"meta.language_score": "min_score"}
    histograms: ClassVar[Histograms] = {}
    # whether the report shows documents before and after the step shortened them (not for
    # a step whose input is markup)
    shows_cuts: ClassVar[bool] = True
    _ready: bool = False

    def setup(self) -> None:
        """Load models, automata, word lists. Called once per process before the first document."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def run(self, documents: Iterable[Document]) -> Iterator[Document | Removed]:
        """Yield exactly one `Document` or `Removed` for each input document, in order."""
        raise NotImplementedError


class Filter(Step):
    def keep(self, document: Document) -> bool | str:
        """`True` to keep the document; otherwise the reason it is removed."""
        raise NotImplementedError

    def run(self, documents: Iterable[Document]) -> Iterator[Document | Removed]:
        for document in documents:
            try:
                verdict = self.keep(document)
            except Exception as error:  # one bad document must not end the run
                yield _step_error(self, document, error)
                continue
            if verdict is True:
                yield document
            else:
                yield Removed(document, verdict or self.name)


def _step_error(step: Step, document: Document, error: Exception) -> Removed:
    log.warning("step %s failed on document %s: %r", step.name, document.id, error)
    document.meta["step_error"] = f"{type(error).__name__}: {error}"[:500]
    return Removed(document, "step_error")


class Mapper(Step):
    def apply(self, document: Document) -> Document:
        raise NotImplementedError

    def run(self, documents: Iterable[Document]) -> Iterator[Document | Removed]:
        for document in documents:
            entered = document.text
            try:
                document = self.apply(document)
            except Exception as error:  # one bad document must not end the run
                document.text = entered
                yield _step_error(self, document, error)
                continue
            if document.text.strip():
                yield document
            else:
                # a removed record shows what the step was given, not the nothing it left
                document.text = entered
                yield Removed(document, "empty")


class GlobalStep(Step):
    """A step that sees the whole run before it filters any shard.

    The engine calls `observe` on every shard (in parallel), `decide` once over all the
    observations, then `filter_shard` on every shard. State lives in `workdir` on disk, so
    any worker process (or Spark executor) can pick it up.

    A step whose decide outgrows one machine also brings its own distributed decide:
    `decide_on_spark(spark, shards, location)`, which the Spark engine (its `Engine.decide`,
    see `mdfs.tasks`) runs in place of `decide`, for any step, by this hook alone: the engine
    knows no step by name. It must reach the decision `decide` reaches, in the same files.
    """

    _workdir: Path | None = None
    _shard: str | None = None

    def bind(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self._workdir = workdir

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise RuntimeError(f"global step {self.name} used before bind()")
        return self._workdir

    def observe(self, shard: str, documents: Iterable[Document]) -> None:
        """Record what `decide` needs about one shard's documents (in the workdir)."""
        raise NotImplementedError

    def decide(self, shards: list[str]) -> dict[str, Any]:
        """Make the global decision; return figures worth putting in the report."""
        raise NotImplementedError

    def decide_on_spark(
        self, spark: SparkSession, shards: list[str], location: str
    ) -> tuple[dict[str, Any], list[str]] | None:
        """`decide` as a Spark job; None (the default) when the step has none, and the engine
        then calls `decide` on the driver.

        `location` holds the step's files where every host reaches them: the workdir for a
        local output, the folder that mirrors it for an output URL. Executors read the
        shards' observations there and write there what `filter_shard` reads, so no file
        passes through the driver. Returns the report's figures and the names of the files
        written in `location` (a resumed run's tasks fetch them from there). Called once per
        run, before the step's done marker, like `decide`.
        """
        return None

    def filter_shard(
        self, shard: str, documents: Iterable[Document]
    ) -> Iterator[Document | Removed]:
        """Yield one `Document` or `Removed` per document of the shard, in order."""
        raise NotImplementedError

    def begin_shard(self, shard: str) -> None:
        self._shard = shard

    def run(self, documents: Iterable[Document]) -> Iterator[Document | Removed]:
        if self._shard is None:
            raise RuntimeError(f"global step {self.name} run before begin_shard()")
        return self.filter_shard(self._shard, documents)


EXAMPLES_PER_STEP = 3
EXAMPLE_CHARS = 600
CUT_EXAMPLE_CHARS = 3000


@dataclass
class StepStats:
    """What one step did to one stream: the accounting, and what the report shows of it."""

    name: str
    documents_in: int = 0
    kept: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    chars_in: int = 0
    chars_out: int = 0
    chars_removed: int = 0  # in the documents removed; the rest of in - out was cut from kept
    seconds: float = 0.0
    histograms: dict[str, dict[str, Any]] = field(default_factory=dict)
    kept_examples: list[dict[str, Any]] = field(default_factory=list)
    cut_examples: list[dict[str, Any]] = field(default_factory=list)  # text before and after

    def merge(self, other: StepStats) -> None:
        self.documents_in += other.documents_in
        self.kept += other.kept
        self.removed.update(other.removed)
        self.chars_in += other.chars_in
        self.chars_out += other.chars_out
        self.chars_removed += other.chars_removed
        self.seconds += other.seconds
        for where, histogram in other.histograms.items():
            if where in self.histograms:
                merge_into(self.histograms[where], histogram)
            else:
                self.histograms[where] = histogram
        for mine, theirs in (
            (self.kept_examples, other.kept_examples),
            (self.cut_examples, other.cut_examples),
        ):
            mine.extend(theirs[: EXAMPLES_PER_STEP - len(mine)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": self.documents_in,
            "kept": self.kept,
            "removed": dict(self.removed.most_common()),
            "chars_in": self.chars_in,
            "chars_out": self.chars_out,
            "chars_removed": self.chars_removed,
            "seconds": round(self.seconds, 3),
            "histograms": self.histograms,
            "kept_examples": self.kept_examples,
            "cut_examples": self.cut_examples,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepStats:
        return cls(
            name=data["name"],
            documents_in=data["in"],
            kept=data["kept"],
            removed=Counter(data["removed"]),
            chars_in=data.get("chars_in", 0),
            chars_out=data.get("chars_out", 0),
            chars_removed=data.get("chars_removed", 0),
            seconds=data.get("seconds", 0.0),
            histograms=data.get("histograms", {}),
            kept_examples=data.get("kept_examples", []),
            cut_examples=data.get("cut_examples", []),
        )


class _Timed:
    """Counts and times the pulls from an upstream iterator.

    A step's own time is the time spent getting its outputs minus the time spent waiting on
    its input, which is how generators nested into a pipeline can be timed per step.
    It also keeps the text each document entered with until the step hands it on (a step
    yields in order), so the report can show what a step cut.
    """

    def __init__(self, upstream: Iterator[Document], stats: StepStats) -> None:
        self.upstream = upstream
        self.stats = stats
        self.seconds = 0.0
        self.entered: deque[str] = deque()

    def __iter__(self) -> Iterator[Document]:
        return self

    def __next__(self) -> Document:
        start = time.perf_counter()
        try:
            document = next(self.upstream)
        finally:
            self.seconds += time.perf_counter() - start
        self.stats.documents_in += 1
        self.stats.chars_in += len(document.text)
        self.entered.append(document.text)
        return document


OnRemoved = Callable[[str, Removed], None]


def account(
    step: Step, documents: Iterable[Document], stats: StepStats, on_removed: OnRemoved
) -> Iterator[Document]:
    """Run one step over a stream, counting in, kept and removed-by-reason as it goes."""
    step.ensure_setup()
    upstream = _Timed(iter(documents), stats)
    histograms = counters_for(step)
    outputs = step.run(upstream)
    spent = 0.0
    while True:
        start = time.perf_counter()
        try:
            item = next(outputs)
        except StopIteration:
            spent += time.perf_counter() - start
            break
        spent += time.perf_counter() - start
        entered = upstream.entered.popleft() if upstream.entered else None
        document = item.document if isinstance(item, Removed) else item
        if entered is None:  # a step that yields more than it was given: the check below
            entered = document.text
        for histogram in histograms.values():
            histogram.add(document, kept=document is item)
        if isinstance(item, Removed):
            # a removed record shows what the step was given, not what it cut that down to
            # (a Mapper or a segment cut that left nothing), whatever kind of step it is
            item.document.text = entered
            stats.removed[item.reason] += 1
            stats.chars_removed += len(entered)
            on_removed(step.name, item)
        else:
            stats.kept += 1
            stats.chars_out += len(item.text)
            _keep_example(stats, step, item, entered)
            yield item
    stats.seconds += spent - upstream.seconds
    stats.histograms = {where: h.to_dict() for where, h in histograms.items()}
    removed = sum(stats.removed.values())
    if stats.documents_in != stats.kept + removed:
        raise RuntimeError(
            f"step {step.name} broke the accounting: {stats.documents_in} in, "
            f"{stats.kept} kept, {removed} removed; a step must yield one item per input"
        )


def scores_of(step: Step, document: Document) -> dict[str, float]:
    """The numbers `step` declares as histograms, as this document has them."""
    values = {where: value_at(document, where) for where in step.histograms}
    return {where: round(value, 4) for where, value in values.items() if value is not None}


def _keep_example(stats: StepStats, step: Step, document: Document, entered: str) -> None:
    """The first kept documents, and the first the step cut lines or a tenth of the text of."""
    if len(stats.kept_examples) < EXAMPLES_PER_STEP:
        stats.kept_examples.append(
            {
                "id": document.id,
                "url": document.url,
                "source": document.source,
                "text": document.text[:EXAMPLE_CHARS],
                "scores": scores_of(step, document),
            }
        )
    if (
        not step.shows_cuts
        or len(stats.cut_examples) >= EXAMPLES_PER_STEP
        or document.text is entered
    ):
        return
    cut_lines = document.text.count("\n") < entered.count("\n")
    if cut_lines or len(document.text) < 0.9 * len(entered):
        stats.cut_examples.append(
            {
                "id": document.id,
                "url": document.url,
                "source": document.source,
                "chars_before": len(entered),
                "chars_after": len(document.text),
                "before": entered[:CUT_EXAMPLE_CHARS],
                "after": document.text[:CUT_EXAMPLE_CHARS],
            }
        )


def run_steps(
    steps: list[Step], documents: Iterable[Document], on_removed: OnRemoved
) -> tuple[Iterator[Document], list[StepStats]]:
    """Chain steps over a stream. Stats fill in as the returned iterator is consumed."""
    stats = [StepStats(step.name) for step in steps]
    stream: Iterable[Document] = documents
    for step, step_stats in zip(steps, stats, strict=True):
        stream = account(step, stream, step_stats, on_removed)
    return iter(stream), stats
