"""What an engine runs: shard tasks, the one function that runs a task anywhere, and `Engine`.

The run loop (`mdfs.run`) hands an engine a `ShardJob` (one run's recipe and layout) and, per
phase, the `ShardTask`s left to do (one phase over one shard). The engine calls
`run_task(job, task)` wherever it likes (a process, a Spark executor, a Ray actor) and
hands back each `TaskOutcome`, in any order. Everything else is the loop's: which shards are
finished, what failed, the global decisions, the report. A task commits its own outputs and
then its completion marker (`mdfs.layout`), and `run_task` returns a finished shard's stats
without running it again, so a task run twice (a retry, a speculative copy, a rerun after a
crash) writes the same files once: no engine can get resume or the accounting wrong.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import tempfile
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mdfs.collect.readers import Reader, input_bytes
from mdfs.document import Document, Removed
from mdfs.layout import (
    Layout,
    Phase,
    ShardResult,
    corpus_writer,
    open_gzip_writer,
    plan_phases,
    read_documents,
    read_staged,
    staged_writer,
)
from mdfs.pipeline import ANNOTATIONS, CountTokens, GlobalStep, flagged, run_steps, scores_of
from mdfs.progress import ShardCounter
from mdfs.recipe import Recipe
from mdfs.report.inspect import KEPT, domain_of, removal
from mdfs.storage import committed, write_atomic_bytes
from mdfs.tokens import token_counter

log = logging.getLogger(__name__)

EXAMPLES_PER_REASON = 3
EXAMPLE_CHARS = 600

# What a distributed decide returns: the report's figures, and the names of the files it
# wrote at the step's location.
Decision = tuple[dict[str, Any], list[str]]


@dataclass(frozen=True)
class ShardTask:
    phase: int
    shard: str
    files: list[str]  # the input files of the shard (phase 0 reads them; later phases stage)


@dataclass(frozen=True)
class TaskOutcome:
    task: ShardTask
    result: ShardResult | None  # None when the task failed
    failure: str | None = None  # the step's exception with its traceback


class ShardJob:
    """One run as its tasks need it: the recipe and the layout, shipped to every worker.

    `phases` are planned, and global steps bound to their workdirs, once in each process
    that uses the job (they are not pickled with it).
    """

    def __init__(
        self, recipe: Recipe, layout: Layout, run_id: str | None = None,
        replay: dict[str, bool] | None = None, stored_inputs: bool = False,
    ) -> None:  # fmt: skip
        self.recipe = recipe
        self.layout = layout
        self.run_id = run_id or uuid.uuid4().hex
        # `mdfs filter`: per step name, whether to judge the documents again from their
        # scores or take the verdict an annotated run stored
        self.replay = replay
        # the inputs are documents as MDFS writes them (corpus parts), read with their meta
        self.stored_inputs = stored_inputs or replay is not None
        self._phases: list[Phase] | None = None
        self._count_tokens: CountTokens | None = None

    @property
    def phases(self) -> list[Phase]:
        if self._phases is None:
            # a replay runs no step, so no global step needs its own phase
            steps = self.recipe.steps
            self._phases = [Phase(0, steps, None)] if self.replay else plan_phases(steps)
            for phase in self._phases:
                if phase.then is not None:
                    phase.then.bind(self.layout.workdir(phase.then))
        return self._phases

    @property
    def count_tokens(self) -> CountTokens:
        """The report's token counter, loaded once in each process."""
        if self._count_tokens is None:
            self._count_tokens = token_counter(self.recipe.output.tokenizer)
        return self._count_tokens

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_phases": None, "_count_tokens": None}

    def on_this_host(self, scratch_root: str) -> ShardJob:
        """The job as a process on another host than the driver's must run it."""
        layout = self.layout.on_this_host(scratch_root)
        if layout is self.layout:
            return self
        return ShardJob(self.recipe, layout, self.run_id, self.replay, self.stored_inputs)


# The job this process last worked for, by run: its steps stay set up (models, automata,
# word lists load once per worker process and run), however often an engine ships the job.
_WORKER_JOBS: dict[str, ShardJob] = {}


def worker_job(job: ShardJob, prepare: Callable[[ShardJob], ShardJob] | None = None) -> ShardJob:
    """This process's copy of `job`, made by `prepare` the first time this process sees the
    run (by default: scratch for a URL output in the temporary folder, off the driver's host)."""
    kept = _WORKER_JOBS.get(job.run_id)
    if kept is None:
        _WORKER_JOBS.clear()  # a finished run's models must not stay in memory
        kept = prepare(job) if prepare else job.on_this_host(tempfile.gettempdir())
        _WORKER_JOBS[job.run_id] = kept
    return kept


def run_task(job: ShardJob, task: ShardTask) -> TaskOutcome:
    """Run one task in this process. A step's exception is a bug that a retry would repeat:
    it comes back as the outcome's failure, for the run loop to report; it is not raised."""
    job = worker_job(job)
    layout = job.layout
    if not layout.fs.exists(layout.manifest):
        return TaskOutcome(task, None, (
            f"the output {layout.output} is not visible on host {socket.gethostname()}: "
            "workers on other hosts need an output that the driver and all of them reach at "
            "the same path or URL (a shared filesystem, s3://, hdfs://)"
        ))  # fmt: skip
    finished = layout.finished(task.phase, task.shard)
    if finished is not None:  # another attempt of this task finished it
        return TaskOutcome(task, finished)
    progress = ShardCounter()
    try:
        return TaskOutcome(task, run_shard(job, task, progress))
    except Exception as error:
        return TaskOutcome(task, None, f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
    finally:
        progress.close()


def run_shard(job: ShardJob, task: ShardTask, progress: ShardCounter | None = None) -> ShardResult:
    """Run one phase over one shard and write its outputs; returns (and stores) its stats.
    `progress` hears of every document and every input file read, while it runs."""
    progress = progress or ShardCounter()
    layout, phase_index, shard = job.layout, task.phase, task.shard
    phase = job.phases[phase_index]
    result = ShardResult(phase=phase_index, shard=shard)

    def on_error(kind: str, message: str) -> None:
        result.errors[kind] += 1
        if len(result.error_examples) < 20:
            result.error_examples.append(message)

    fs = layout.fs
    output = job.recipe.output
    if phase_index == 0 and job.stored_inputs:
        documents: Iterator[Document] = (d for path in task.files for d in read_documents(fs, path))
    elif phase_index == 0:
        collect = job.recipe.collect
        reader = Reader(
            on_error, collect.max_document_bytes, progress.bytes_read,
            text_field=collect.text_field, id_field=collect.id_field,
        )  # fmt: skip

        def read_inputs() -> Iterator[Document]:
            for path in task.files:
                yield from reader.read(path)
                # what the reader did not tell as it went (all of a file in most formats)
                progress.bytes_read(max(0, input_bytes(path) - reader.bytes_told))
            result.skipped_inputs.update(reader.skipped)

        documents = read_inputs()
    else:
        documents = read_staged(fs, layout.staged(phase_index - 1, shard))

    def count_domain(document: Document, key: str) -> None:
        counts = result.domains.setdefault(domain_of(document.url), {})
        counts[key] = counts.get(key, 0) + 1

    def counted(stream: Iterator[Document]) -> Iterator[Document]:
        for document in stream:
            result.documents_in += 1
            result.sources_in[document.source] += 1
            if phase_index == 0:
                count_domain(document, "in")
            progress.document()
            yield document

    for step in phase.steps:
        if isinstance(step, GlobalStep) and job.replay is None:
            # the decision may have been made on another host
            layout.global_files(step).pull_decision(shard)
            step.begin_shard(shard)

    out_path = (
        layout.corpus_part(shard, output.format)
        if phase.last
        else layout.staged(phase_index, shard)
    )
    # Both outputs are committed when the block ends, the stats file (the marker) after them.
    with contextlib.ExitStack() as outputs:
        raw_removed = outputs.enter_context(committed(fs, layout.removed_part(phase_index, shard)))
        removed_file = outputs.enter_context(open_gzip_writer(raw_removed))
        raw_out = outputs.enter_context(committed(fs, out_path))
        out = outputs.enter_context(
            corpus_writer(raw_out, output.format) if phase.last else staged_writer(raw_out)
        )

        steps_by_name = {step.name: step for step in phase.steps}

        def on_removed(step_name: str, item: Removed) -> None:
            if job.replay is not None:
                strip_annotations(item.document)
            if not output.annotate:  # an annotated run's flagged documents go to the corpus
                removed_file.write(item.document.to_json(removed_by=step_name, reason=item.reason))
                removed_file.write(b"\n")
            by_step = result.removed_by_source.setdefault(item.document.source, {})
            by_step[step_name] = by_step.get(step_name, 0) + 1
            count_domain(item.document, removal(step_name, item.reason))
            key = f"{step_name}/{item.reason}"
            examples = result.examples.setdefault(key, [])
            if len(examples) < EXAMPLES_PER_REASON:
                examples.append(
                    {
                        "id": item.document.id,
                        "url": item.document.url,
                        "source": item.document.source,
                        "text": item.document.text[:EXAMPLE_CHARS],
                        "scores": scores_of(steps_by_name[step_name], item.document),
                    }
                )

        kept, stats = run_steps(
            phase.steps, counted(documents), on_removed, output.annotate, job.count_tokens,
            job.replay,
        )  # fmt: skip
        for document in kept:
            if job.replay is not None:
                strip_annotations(document)
            if phase.last:
                result.sources_kept[document.source] += 1
                if not flagged(document):  # a flagged one was counted by on_removed
                    count_domain(document, KEPT)
            out.write(document)
    result.steps = [s.to_dict() for s in stats]
    if phase.then is not None:
        staged = read_staged(fs, out_path)
        # an annotated run's global step judges only what every earlier step keeps
        phase.then.observe(
            shard, (d for d in staged if not flagged(d)) if output.annotate else staged
        )
        # before the marker: a resumed run's decide needs it
        layout.global_files(phase.then).push_observation(shard)
    write_atomic_bytes(layout.stats(phase_index, shard), result.to_json(), fs)
    return result


def strip_annotations(document: Document) -> None:
    """A replayed document as a normal run writes it: without an annotated run's verdicts."""
    for key in ANNOTATIONS:
        document.meta.pop(key, None)


class Engine:
    """Where shard tasks run. A new engine writes `run_tasks`; `running` and `decide` are
    optional. See the `mdfs.engines` package for the contract and an example."""

    @contextlib.contextmanager
    def running(self, job: ShardJob) -> Iterator[None]:
        """Around a whole run: start the workers (and ship them `job`), stop them after."""
        yield

    def run_tasks(self, job: ShardJob, tasks: list[ShardTask]) -> Iterable[TaskOutcome]:
        """Call `run_task(job, task)` for every task, somewhere; yield each outcome."""
        raise NotImplementedError

    def decide(self, step: GlobalStep, shards: list[str], location: str) -> Decision | None:
        """Let `step` decide on this engine's workers, reading and writing its files at
        `location` (a local folder or a URL); None when it cannot, and the driver runs
        `step.decide` instead."""
        return None
