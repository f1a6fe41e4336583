"""The unit of work every engine runs: one phase of the pipeline over one shard.

A run is split into phases at each global step (deduplication): phase 0 reads the input
files, every later phase reads the previous phase's staged output, filtered first by the
global step that separates them. Each shard of each phase writes its outputs atomically and
then a stats file, which is its completion marker: a shard with a stats file is never run
again, and a shard without one is run again from scratch, so a run killed at any moment
resumes to the same result.
"""

from __future__ import annotations

import gzip
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard

from mdfs.collect.readers import Reader
from mdfs.document import Document, Removed
from mdfs.errors import UserError
from mdfs.pipeline import GlobalStep, Step, run_steps
from mdfs.recipe import Recipe

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
    """Where a run keeps what. Everything under `work` is MDFS's own bookkeeping."""

    output: Path

    @property
    def corpus(self) -> Path:
        return self.output / "corpus"

    @property
    def removed(self) -> Path:
        return self.output / "removed"

    @property
    def work(self) -> Path:
        return self.output / ".mdfs"

    def staged(self, phase: int, shard: str) -> Path:
        return self.work / f"stage-{phase}" / f"{shard}.jsonl.zst"

    def stats(self, phase: int, shard: str) -> Path:
        return self.work / "stats" / f"phase-{phase}" / f"{shard}.json"

    def global_dir(self, step: GlobalStep) -> Path:
        return self.work / "global" / step.name

    def global_done(self, step: GlobalStep) -> Path:
        return self.work / "global" / f"{step.name}.done.json"

    def corpus_part(self, shard: str) -> Path:
        return self.corpus / f"part-{shard}.jsonl.gz"

    def removed_part(self, phase: int, shard: str) -> Path:
        return self.removed / f"phase-{phase}-part-{shard}.jsonl.gz"

    def make(self) -> None:
        for path in (self.corpus, self.removed, self.work / "stats", self.work / "global"):
            path.mkdir(parents=True, exist_ok=True)


def raise_shard_failures(layout: Layout, phase: int, failures: list[str]) -> None:
    """After a phase: keep the finished shards, write what failed, tell the user to rerun."""
    if not failures:
        return
    log_path = layout.work / "failures.log"
    log_path.write_text("\n\n".join(failures), encoding="utf-8")
    first = failures[0].splitlines()[0]
    raise UserError(
        f"{len(failures)} shard(s) of phase {phase} failed ({first}); details in "
        f"{log_path}. Finished shards are kept: run the same command again to resume."
    )


def atomic_path(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_atomic_bytes(path: Path, data: bytes) -> None:
    tmp = atomic_path(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def open_staged_writer(path: Path) -> IO[bytes]:
    return zstandard.ZstdCompressor(level=3).stream_writer(open(path, "wb"), closefd=True)


def read_staged(path: Path) -> Iterator[Document]:
    with zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True) as raw:
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

    if phase_index == 0:
        reader = Reader(on_error, recipe.collect.max_document_bytes)
        documents: Iterator[Document] = (d for path in files for d in reader.read(path))
    else:
        documents = read_staged(layout.staged(phase_index - 1, shard))

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

    removed_path = layout.removed_part(phase_index, shard)
    removed_tmp = atomic_path(removed_path)
    if phase.last:
        out_path = layout.corpus_part(shard)
        out_tmp = atomic_path(out_path)
        out = gzip.open(out_tmp, "wb", compresslevel=CORPUS_GZIP_LEVEL)  # noqa: SIM115
    else:
        out_path = layout.staged(phase_index, shard)
        out_tmp = atomic_path(out_path)
        out = open_staged_writer(out_tmp)

    for step in phase.steps:
        if isinstance(step, GlobalStep):
            step.begin_shard(shard)

    with gzip.open(removed_tmp, "wb", compresslevel=CORPUS_GZIP_LEVEL) as removed_file, out:

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
    os.replace(out_tmp, out_path)
    os.replace(removed_tmp, removed_path)
    result.steps = [s.to_dict() for s in stats]
    if phase.then is not None:
        phase.then.observe(shard, read_staged(out_path))
    write_atomic_bytes(layout.stats(phase_index, shard), result.to_json())
    return result
