"""The unit of work every engine runs: one phase of the pipeline over one shard.

The files it reads and writes, and the phases, are the run's contract (`mdfs.layout`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from mdfs.collect.readers import Reader
from mdfs.document import Document, Removed
from mdfs.errors import UserError
from mdfs.layout import (
    Layout,
    Phase,
    ShardResult,
    open_gzip_writer,
    open_staged_writer,
    read_staged,
)
from mdfs.pipeline import GlobalStep, run_steps
from mdfs.recipe import Recipe
from mdfs.storage import committed, join, remove, remove_stale_attempts, write_atomic_bytes

log = logging.getLogger(__name__)

EXAMPLES_PER_REASON = 3
EXAMPLE_CHARS = 600
PROGRESS_EVERY = 10_000


def bind_global_steps(layout: Layout, phases: list[Phase]) -> None:
    for phase in phases:
        if phase.then is not None:
            phase.then.bind(layout.workdir(phase.then))


def decide_global(
    layout: Layout, step: GlobalStep, shards: list[str],
    spark_decide: Callable[[str], tuple[dict[str, Any], list[str]]] | None = None,
) -> None:  # fmt: skip
    """Run a global step's decide once; its done marker makes a resumed run skip it.

    `spark_decide(location)` decides on Spark instead of on the driver: it reads the step's
    observations and writes per-shard decisions at `location` itself, returning the figures
    and the names it wrote there.
    """
    marker = layout.global_done(step)
    if layout.fs.exists(marker):
        return
    log.info(
        "global step %s: deciding over %d shards (%s)", step.name, len(shards),
        "on the driver" if spark_decide is None else "on Spark",
    )  # fmt: skip
    mirror = layout.global_files(step)
    if spark_decide is None:
        mirror.pull_all()  # the driver decides from every shard's files
    before = mirror.snapshot()
    if spark_decide is None:
        figures, written = step.decide(shards), []
    else:
        figures, written = spark_decide(layout.global_location(step))
    mirror.push_decision(before, written, shards)
    write_atomic_bytes(marker, orjson.dumps(figures), layout.fs)


def raise_shard_failures(layout: Layout, phase: int, failures: list[str]) -> None:
    """After a phase: keep the finished shards, write what failed, tell the user to rerun."""
    if not failures:
        return
    log_path = join(layout.work, "failures.log")
    write_atomic_bytes(log_path, "\n\n".join(failures).encode("utf-8"), layout.fs)
    first = failures[0].splitlines()[0]
    raise UserError(
        f"{len(failures)} shard(s) of phase {phase} failed ({first}); details in "
        f"{layout.display(log_path)}. Finished shards are kept: run the same command again "
        "to resume."
    )


def finish_run(layout: Layout, phases: list[Phase]) -> None:
    """After the last phase: drop the staged phases, the failure log and dead attempts' files."""
    remove(layout.fs, join(layout.work, "failures.log"))
    for phase in phases[:-1]:
        remove(layout.fs, join(layout.work, f"stage-{phase.index}"), recursive=True)
    remove_stale_attempts(layout.fs, [layout.corpus, layout.removed, layout.work])


def run_shard(
    recipe: Recipe, phases: list[Phase], layout: Layout, phase_index: int, shard: str,
    files: list[str],
) -> ShardResult:  # fmt: skip
    """Run one phase over one shard and write its outputs; returns (and stores) its stats."""
    phase = phases[phase_index]
    result = ShardResult(phase=phase_index, shard=shard)

    def on_error(kind: str, message: str) -> None:
        result.errors[kind] += 1
        if len(result.error_examples) < 20:
            result.error_examples.append(message)
        log.warning("%s: %s", kind, message)

    fs = layout.fs
    if phase_index == 0:
        reader = Reader(on_error, recipe.collect.max_document_bytes)
        documents: Iterator[Document] = (d for path in files for d in reader.read(path))
    else:
        documents = read_staged(fs, layout.staged(phase_index - 1, shard))

    def counted(stream: Iterator[Document]) -> Iterator[Document]:
        started = time.monotonic()
        for document in stream:
            result.documents_in += 1
            result.sources_in[document.source] += 1
            if result.documents_in % PROGRESS_EVERY == 0:  # a 1 GB WARC is one long shard
                rate = result.documents_in / max(time.monotonic() - started, 1e-9)
                log.info(
                    "phase %d, shard %s: %d documents (%.0f/s)",
                    phase_index, shard, result.documents_in, rate,
                )  # fmt: skip
            yield document

    for step in phase.steps:
        if isinstance(step, GlobalStep):
            # the decision may have been made on another host
            layout.global_files(step).pull_decision(shard)
            step.begin_shard(shard)

    out_path = layout.corpus_part(shard) if phase.last else layout.staged(phase_index, shard)
    # Both outputs are committed when the block ends, the stats file (the marker) after them.
    with contextlib.ExitStack() as outputs:
        raw_removed = outputs.enter_context(committed(fs, layout.removed_part(phase_index, shard)))
        removed_file = outputs.enter_context(open_gzip_writer(raw_removed))
        raw_out = outputs.enter_context(committed(fs, out_path))
        out = outputs.enter_context(
            open_gzip_writer(raw_out) if phase.last else open_staged_writer(raw_out)
        )

        def on_removed(step_name: str, item: Removed) -> None:
            removed_file.write(item.document.to_json(removed_by=step_name, reason=item.reason))
            removed_file.write(b"\n")
            key = f"{step_name}/{item.reason}"
            examples = result.examples.setdefault(key, [])
            if len(examples) < EXAMPLES_PER_REASON:
                examples.append(
                    {
                        "id": item.document.id,
                        "url": item.document.url,
                        "source": item.document.source,
                        "text": item.document.text[:EXAMPLE_CHARS],
                    }
                )

        kept, stats = run_steps(phase.steps, counted(documents), on_removed)
        for document in kept:
            if phase.last:
                result.sources_kept[document.source] += 1
            out.write(document.to_json())
            out.write(b"\n")
    result.steps = [s.to_dict() for s in stats]
    if phase.then is not None:
        phase.then.observe(shard, read_staged(fs, out_path))
        # before the marker: a resumed run's decide needs it
        layout.global_files(phase.then).push_observation(shard)
    write_atomic_bytes(layout.stats(phase_index, shard), result.to_json(), fs)
    return result
