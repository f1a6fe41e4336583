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

In an annotated run (`annotate=True`) nothing is removed: a document a step would remove
goes on, with the text it entered that step, and its verdict in `meta` (`removed_by` and
`reason`, the first step that would remove it; `verdicts`, every step that would). So every
later step still scores it. Global steps alone judge only the documents every earlier step
keeps, so the duplicates they find are those a normal run finds.
A step that can decide from the scores it left in `meta` (`judge`, naming the fields that
decision reads in `thresholds`) can be re-decided later without its models (`mdfs filter`).
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
    # the fields `judge` alone reads: a change to them needs no new scores (`mdfs filter`)
    thresholds: ClassVar[frozenset[str]] = frozenset()
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

    def judge(self, document: Document) -> bool | str:
        """The step's verdict from the scores it left in `meta` alone (no model, no text):
        `True` or the reason. Offered by steps that declare `thresholds`."""
        raise NotImplementedError(f"step {self.name} cannot decide from stored scores")


class Filter(Step):
    """Answers "keep?" per document. Either write `keep`, or split it into `measure` (the
    scores, into `meta`) and `judge` (the thresholds, on those scores), and name the fields
    `judge` reads in `thresholds`: then a stored run can be re-decided (`mdfs filter`)."""

    def keep(self, document: Document) -> bool | str:
        """`True` to keep the document; otherwise the reason it is removed."""
        self.measure(document)
        return self.judge(document)

    def measure(self, document: Document) -> None:
        """Put the scores `judge` needs into `document.meta`."""
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

CountTokens = Callable[[str], int]


@dataclass
class StepStats:
    """What one step did to one stream: the accounting, and what the report shows of it.

    In an annotated run nothing is removed (`kept == documents_in`), and `flagged` counts,
    by reason, the documents this step is the first to say it would remove.
    """

    name: str
    documents_in: int = 0
    kept: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    chars_in: int = 0
    chars_out: int = 0
    chars_removed: int = 0  # in the documents removed; the rest of in - out was cut from kept
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_removed: int = 0
    seconds: float = 0.0
    histograms: dict[str, dict[str, Any]] = field(default_factory=dict)
    kept_examples: list[dict[str, Any]] = field(default_factory=list)
    cut_examples: list[dict[str, Any]] = field(default_factory=list)  # text before and after

    def merge(self, other: StepStats) -> None:
        self.documents_in += other.documents_in
        self.kept += other.kept
        self.removed.update(other.removed)
        self.flagged.update(other.flagged)
        self.chars_in += other.chars_in
        self.chars_out += other.chars_out
        self.chars_removed += other.chars_removed
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.tokens_removed += other.tokens_removed
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
            "flagged": dict(self.flagged.most_common()),
            "chars_in": self.chars_in,
            "chars_out": self.chars_out,
            "chars_removed": self.chars_removed,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "tokens_removed": self.tokens_removed,
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
            flagged=Counter(data.get("flagged", {})),
            chars_in=data.get("chars_in", 0),
            chars_out=data.get("chars_out", 0),
            chars_removed=data.get("chars_removed", 0),
            tokens_in=data.get("tokens_in", 0),
            tokens_out=data.get("tokens_out", 0),
            tokens_removed=data.get("tokens_removed", 0),
            seconds=data.get("seconds", 0.0),
            histograms=data.get("histograms", {}),
            kept_examples=data.get("kept_examples", []),
            cut_examples=data.get("cut_examples", []),
        )


class TokenCounts:
    """Tokens of each document's text, counted again only when a step changed the text.

    Keyed by the document object while it is in the pipeline; a step that leaves a text as
    it was (most filters) hands on the same string, or an equal one, so most steps count
    nothing. A page's
    markup (`meta.format` html) counts no tokens: it is not what a model would read.
    """

    def __init__(self, count: CountTokens | None) -> None:
        self.count = count
        self.known: dict[int, tuple[str, int]] = {}

    def __call__(self, document: Document) -> int:
        if self.count is None or document.meta.get("format") == "html":
            return 0
        known = self.known.get(id(document))
        # a mapper may hand on an equal text as a new string: comparing costs far less
        if known is not None and (known[0] is document.text or known[0] == document.text):
            return known[1]
        tokens = self.count(document.text)
        self.known[id(document)] = (document.text, tokens)
        return tokens

    def of_text(self, document: Document, text: str) -> int:
        """Tokens of a text the document had (what it entered a step with)."""
        known = self.known.get(id(document))
        if known is not None and known[0] is text:
            return known[1]
        if self.count is None or document.meta.get("format") == "html":
            return 0
        return self.count(text)

    def forget(self, document: Document) -> None:
        self.known.pop(id(document), None)


class _Timed:
    """Counts and times the pulls from an upstream iterator.

    A step's own time is the time spent getting its outputs minus the time spent waiting on
    its input, which is how generators nested into a pipeline can be timed per step.
    It also keeps the text each document entered with until the step hands it on (a step
    yields in order), so the report can show what a step cut.
    """

    def __init__(self, upstream: Iterator[Document], stats: StepStats, tokens: TokenCounts) -> None:
        self.upstream = upstream
        self.stats = stats
        self.tokens = tokens
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
        self.stats.tokens_in += self.tokens(document)
        self.entered.append(document.text)
        return document


OnRemoved = Callable[[str, Removed], None]


def flagged(document: Document) -> bool:
    """True for a document an annotated run's earlier step would have removed."""
    return document.meta.get("removed_by") is not None


def _flag(document: Document, step: str, reason: str) -> bool:
    """Record a would-be removal; True when it is the document's first."""
    document.meta.setdefault("verdicts", {})[step] = reason
    if flagged(document):
        return False
    document.meta["removed_by"], document.meta["reason"] = step, reason
    return True


class _Bypass:
    """In an annotated run, the documents a global step must not judge go around it.

    `judged` hands the step only unflagged documents; `around` gives back, before each of
    the step's outputs, the flagged documents that came before that output's input, so the
    order of the stream is kept (a step yields one item per input, in order).
    """

    def __init__(self, upstream: Iterator[Document]) -> None:
        self.upstream = upstream
        self.order: deque[tuple[Document, bool]] = deque()  # (document, went around)

    def judged(self) -> Iterator[Document]:
        for document in self.upstream:
            around = flagged(document)
            self.order.append((document, around))
            if not around:
                yield document

    def around(self, final: bool = False) -> Iterator[Document]:
        while self.order and (self.order[0][1]):
            yield self.order.popleft()[0]
        if not final and self.order:
            self.order.popleft()  # the input of the output about to be handed on


ANNOTATIONS = ("removed_by", "reason", "verdicts")


def replayed(
    step: Step, documents: Iterable[Document], judge: bool, earlier: set[str]
) -> Iterator[Document | Removed]:
    """`step`'s verdicts over an annotated run's documents, without running it: the verdict
    it stored, or (`judge`) its `judge` over the scores it stored.

    A global step of an annotated run judged only the documents no earlier step flagged
    (`earlier`: the names of the steps before it); one of the others, kept now, goes as
    `not_judged` rather than into the corpus unseen by, say, deduplication.
    """
    for document in documents:
        if isinstance(step, GlobalStep) and document.meta.get("removed_by") in earlier:
            yield Removed(document, "not_judged")
            continue
        verdict = document.meta.get("verdicts", {}).get(step.name, True)
        if judge and verdict != "step_error":  # a step that failed left no scores to judge
            try:
                verdict = step.judge(document)
            except Exception as error:  # one bad document must not end the run
                yield _step_error(step, document, error)
                continue
        yield document if verdict is True else Removed(document, verdict)


def account(
    step: Step, documents: Iterable[Document], stats: StepStats, on_removed: OnRemoved,
    annotate: bool = False, tokens: TokenCounts | None = None,
    replay: tuple[bool, set[str]] | None = None,
) -> Iterator[Document]:  # fmt: skip
    """Run one step over a stream, counting in, kept and removed-by-reason as it goes.

    With `annotate`, nothing is removed: a would-be removal is flagged in `meta` and the
    document goes on with the text it entered this step (`on_removed` hears of its first
    flag, for the report). With `replay` (judge again, the
    names of the earlier steps), the step is not run: its verdicts come from an annotated
    run's documents (`replayed`).
    """
    tokens = tokens or TokenCounts(None)
    upstream = _Timed(iter(documents), stats, tokens)
    bypass = _Bypass(upstream) if annotate and isinstance(step, GlobalStep) else None
    histograms = counters_for(step)
    if replay is not None:
        outputs = replayed(step, upstream, *replay)
    else:
        step.ensure_setup()
        outputs = step.run(bypass.judged() if bypass else upstream)
    spent = 0.0
    while True:
        start = time.perf_counter()
        try:
            item = next(outputs)
        except StopIteration:
            spent += time.perf_counter() - start
            break
        spent += time.perf_counter() - start
        if bypass is not None:
            for document in bypass.around():
                yield _passed(stats, upstream, tokens, document)
        entered = upstream.entered.popleft() if upstream.entered else None
        document = item.document if isinstance(item, Removed) else item
        if entered is None:  # a step that yields more than it was given: the check below
            entered = document.text
        for histogram in histograms.values():
            histogram.add(document, kept=document is item)
        if isinstance(item, Removed) and annotate:
            document.text = entered  # later steps judge what this one was given
            if _flag(document, step.name, item.reason):
                stats.flagged[item.reason] += 1
                on_removed(step.name, item)  # for the report's examples; it goes on
            item = document
        if isinstance(item, Removed):
            # a removed record shows what the step was given, not what it cut that down to
            # (a Mapper or a segment cut that left nothing), whatever kind of step it is
            item.document.text = entered
            stats.removed[item.reason] += 1
            stats.chars_removed += len(entered)
            stats.tokens_removed += tokens.of_text(document, entered)
            tokens.forget(document)
            on_removed(step.name, item)
        else:
            stats.kept += 1
            stats.chars_out += len(item.text)
            stats.tokens_out += tokens(item)
            _keep_example(stats, step, item, entered)
            yield item
    if bypass is not None:
        for document in bypass.around(final=True):
            yield _passed(stats, upstream, tokens, document)
    stats.seconds += spent - upstream.seconds
    stats.histograms = {where: h.to_dict() for where, h in histograms.items()}
    removed = sum(stats.removed.values())
    if stats.documents_in != stats.kept + removed:
        raise RuntimeError(
            f"step {step.name} broke the accounting: {stats.documents_in} in, "
            f"{stats.kept} kept, {removed} removed; a step must yield one item per input"
        )


def _passed(
    stats: StepStats, upstream: _Timed, tokens: TokenCounts, document: Document
) -> Document:
    """A flagged document that went around a global step: kept, unchanged."""
    upstream.entered.popleft()
    stats.kept += 1
    stats.chars_out += len(document.text)
    stats.tokens_out += tokens(document)
    return document


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
    steps: list[Step], documents: Iterable[Document], on_removed: OnRemoved,
    annotate: bool = False, count_tokens: CountTokens | None = None,
    replay: dict[str, bool] | None = None,
) -> tuple[Iterator[Document], list[StepStats]]:  # fmt: skip
    """Chain steps over a stream. Stats fill in as the returned iterator is consumed.

    `annotate`: remove nothing, flag instead (see the module's doc). `count_tokens`: count
    the tokens in, out and removed of every step with it (none when None). `replay`: the
    documents come from an annotated run; per step name, whether to `judge` them again
    from their scores (True) or take the verdict stored (False); no step is run.
    """
    stats = [StepStats(step.name) for step in steps]
    tokens = TokenCounts(count_tokens)
    stream: Iterable[Document] = documents
    for index, (step, step_stats) in enumerate(zip(steps, stats, strict=True)):
        how = None
        if replay is not None:
            how = replay[step.name], {earlier.name for earlier in steps[:index]}
        stream = account(step, stream, step_stats, on_removed, annotate, tokens, how)
    return _leaving(stream, tokens, annotate), stats


def _leaving(stream: Iterable[Document], tokens: TokenCounts, annotate: bool) -> Iterator[Document]:
    for document in stream:
        tokens.forget(document)
        if annotate:  # a kept document says so too
            document.meta.setdefault("removed_by", None)
            document.meta.setdefault("reason", None)
        yield document
