"""The unit of work every engine runs: one phase of the pipeline over one shard.

A run is split into phases at each global step (deduplication): phase 0 reads the input
files, every later phase reads the previous phase's staged output, filtered first by the
global step that separates them. Each shard of each phase writes its outputs atomically and
then a stats file, which is its completion marker: a shard with a stats file is never run
again, and a shard without one is run again from scratch, so a run killed at any moment
resumes to the same result. The output may be a local folder or an fsspec URL; the commit
protocol that makes this hold on object stores too is in `mdfs.storage`.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard
from fsspec import AbstractFileSystem

from mdfs.collect.readers import Reader
from mdfs.document import Document, Removed
from mdfs.errors import UserError
from mdfs.pipeline import GlobalStep, Step, run_steps
from mdfs.recipe import Recipe
from mdfs.storage import (
    GlobalFiles,
    committed,
    filesystem,
    is_url,
    join,
    remove,
    remove_stale_attempts,
    scratch_for,
    write_atomic_bytes,
)

log = logging.getLogger(__name__)

EXAMPLES_PER_REASON = 3
EXAMPLE_CHARS = 600
CORPUS_GZIP_LEVEL = 6
PROGRESS_EVERY = 10_000


@dataclass
class Phase:
    index: int
    steps: list[Step]  # starts with the global step that closes the previous phase, if any
    then: GlobalStep | None  # the global step that observes this phase's output

    @property
    def last(self) -> bool:
        return self.then is None


def plan_phases(steps: list[Step]) -> list[Phase]:
    phases: list[Phase] = []
    current: list[Step] = []
    for step in steps:
        if isinstance(step, GlobalStep):
            phases.append(Phase(len(phases), current, step))
            current = [step]
        else:
            current.append(step)
    phases.append(Phase(len(phases), current, None))
    return phases


@dataclass(frozen=True)
class Layout:
    """Where a run keeps what. Everything under `work` is MDFS's own bookkeeping.

    `output` is a local path or an fsspec URL; every path below is a string in the terms of
    `fs`, and every file goes through `fs` by the commit protocol of `mdfs.storage`.
    Global steps work in a local folder: under the output itself when it is a local path;
    for a URL in `scratch`, a local folder of this run mirrored to the URL (`global_files`).
    """

    output: str
    scratch: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "output", os.fspath(self.output))

    @classmethod
    def for_output(cls, output: str | os.PathLike[str]) -> Layout:
        """The layout of a run into `output`, with a fresh scratch folder for a URL."""
        if not is_url(output):
            return cls(os.fspath(output))
        return cls(os.fspath(output), scratch_for(output))

    # Looked up on each use (~25 µs), not kept: fsspec's own cache hands each process its
    # own filesystem object, and a client made before a fork (s3fs) must not be reused after.
    @property
    def fs(self) -> AbstractFileSystem:
        return filesystem(self.output)[0]

    @property
    def root(self) -> str:
        return filesystem(self.output)[1]

    @property
    def corpus(self) -> str:
        return join(self.root, "corpus")

    @property
    def removed(self) -> str:
        return join(self.root, "removed")

    @property
    def work(self) -> str:
        return join(self.root, ".mdfs")

    def staged(self, phase: int, shard: str) -> str:
        return join(self.work, f"stage-{phase}", f"{shard}.jsonl.zst")

    def stats(self, phase: int, shard: str) -> str:
        return join(self.work, "stats", f"phase-{phase}", f"{shard}.json")

    def global_dir(self, step: GlobalStep) -> str:
        return join(self.work, "global", step.name)

    def global_done(self, step: GlobalStep) -> str:
        return join(self.work, "global", f"{step.name}.done.json")

    def corpus_part(self, shard: str) -> str:
        return join(self.corpus, f"part-{shard}.jsonl.gz")

    def removed_part(self, phase: int, shard: str) -> str:
        return join(self.removed, f"phase-{phase}-part-{shard}.jsonl.gz")

    def display(self, path: str) -> str:
        """A path as the user should read it: a URL for a URL output."""
        return self.fs.unstrip_protocol(path) if is_url(self.output) else path

    def make(self) -> None:
        for path in (
            self.corpus,
            self.removed,
            join(self.work, "stats"),
            join(self.work, "global"),
        ):
            self.fs.makedirs(path, exist_ok=True)

    # -- the files of global steps -------------------------------------------------------
    def workdir(self, step: GlobalStep) -> Path:
        """The local folder a global step reads and writes."""
        if not is_url(self.output):
            return Path(self.global_dir(step))
        if self.scratch is None:
            raise RuntimeError(f"{self.output}: a URL output needs a scratch folder")
        return Path(self.scratch) / step.name

    def global_files(self, step: GlobalStep) -> GlobalFiles | None:
        """The mirror of a step's workdir under the output URL; None for a local output,
        whose workdir is already where a resume finds it."""
        if not is_url(self.output):
            return None
        outputs = join(self.work, "global", f"{step.name}.outputs.json")
        return GlobalFiles(self.workdir(step), self.fs, self.global_dir(step), outputs)

    def global_location(self, step: GlobalStep) -> str:
        """Where a step's files are for a process on any host (Spark's near-dedup decide):
        the workdir for a local output, its mirror's URL for a URL output."""
        if not is_url(self.output):
            return str(self.workdir(step))
        return self.fs.unstrip_protocol(self.global_dir(step))


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
    if mirror is not None and spark_decide is None:
        mirror.pull(mirror.remote_names())  # the driver decides from every shard's files
    before = mirror.local_files() if mirror is not None else {}
    if spark_decide is None:
        figures, written = step.decide(shards), []
    else:
        figures, written = spark_decide(layout.global_location(step))
    if mirror is not None:
        changed = [n for n, seen in mirror.local_files().items() if before.get(n) != seen]
        mirror.push(changed)
        mirror.record_outputs(changed + written, shards)
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


def open_staged_writer(handle: IO[bytes]) -> IO[bytes]:
    return zstandard.ZstdCompressor(level=3).stream_writer(handle, closefd=False)


def open_gzip_writer(handle: IO[bytes]) -> IO[bytes]:
    # No name and no time in the gzip header: two attempts of a shard write the same bytes.
    return gzip.GzipFile(
        filename="", mode="wb", fileobj=handle, compresslevel=CORPUS_GZIP_LEVEL, mtime=0
    )


def read_staged(fs: AbstractFileSystem, path: str) -> Iterator[Document]:
    with fs.open(path, "rb") as handle, zstandard.ZstdDecompressor().stream_reader(handle) as raw:
        buffer = b""
        while chunk := raw.read(1 << 20):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line:
                    yield Document.from_json(line)
        if buffer.strip():
            yield Document.from_json(buffer)


@dataclass
class ShardResult:
    """What a shard reports back; also its completion marker on disk."""

    phase: int
    shard: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    documents_in: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    sources_in: Counter[str] = field(default_factory=Counter)
    sources_kept: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return orjson.dumps(self.__dict__)

    @classmethod
    def from_json(cls, data: bytes) -> ShardResult:
        raw = orjson.loads(data)
        for key in ("errors", "sources_in", "sources_kept"):
            raw[key] = Counter(raw[key])
        return cls(**raw)


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
            mirror = layout.global_files(step)
            if mirror is not None:  # the decision may have been made on another host
                mirror.pull_decision(shard)
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
        mirror = layout.global_files(phase.then)
        if mirror is not None:  # before the marker: a resumed run's decide needs it
            mirror.push_observation(shard)
    write_atomic_bytes(layout.stats(phase_index, shard), result.to_json(), fs)
    return result
