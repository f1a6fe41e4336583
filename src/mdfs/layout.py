"""A run's contract on disk: where every file of a run lives, and what a finished shard leaves.

A run is split into phases at each global step (deduplication): phase 0 reads the input
files, every later phase reads the previous phase's staged output, filtered first by the
global step that separates them. Each shard of each phase writes its outputs atomically and
then a stats file (`ShardResult`), which is its completion marker: a shard with a stats file
is never run again, and a shard without one is run again from scratch, so a run killed at any
moment resumes to the same result. The output may be a local folder or an fsspec URL; the
commit protocol that makes this hold on object stores too is in `mdfs.storage`.

Everything here is shared by the run loop, every engine, the report and the review app, so
none of them needs another's module to find a file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import orjson
import zstandard
from fsspec import AbstractFileSystem

from mdfs.document import Document
from mdfs.pipeline import GlobalStep, Step
from mdfs.storage import (
    attempt_name,
    basename,
    filesystem,
    is_attempt,
    is_url,
    join,
    publish,
    remove_scratch,
    scratch_for,
    write_atomic_bytes,
)

CORPUS_GZIP_LEVEL = 6
CORPUS_SUFFIXES = {"jsonl": ".jsonl.gz", "parquet": ".parquet"}
PARQUET_ROWS_PER_BATCH = 1000


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
    """Where a run keeps what, in a local folder or under a URL. Everything under `work` is
    MDFS's own bookkeeping.

    Every path below is a string in the terms of `fs`, and every file goes through `fs` by
    the commit protocol of `mdfs.storage`. Global steps work in a local folder (`workdir`),
    which for a local output is under the output itself, where a resume finds it; a run into
    a URL needs a `UrlLayout` for them (`Layout.for_output` picks).
    """

    output: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "output", os.fspath(self.output))

    @staticmethod
    def for_output(output: str | os.PathLike[str]) -> Layout:
        """The layout of a run into `output`, with a fresh scratch folder for a URL."""
        if is_url(output):
            return UrlLayout(os.fspath(output), scratch_for(output))
        return Layout(os.fspath(output))

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

    @property
    def manifest(self) -> str:
        """The run's inputs and recipe; a run into this output with others is refused."""
        return join(self.work, "run.json")

    def staged(self, phase: int, shard: str) -> str:
        return join(self.work, f"stage-{phase}", f"{shard}.jsonl.zst")

    def stats(self, phase: int, shard: str) -> str:
        return join(self.work, "stats", f"phase-{phase}", f"{shard}.json")

    def global_dir(self, step: GlobalStep) -> str:
        return join(self.work, "global", step.name)

    def global_done(self, step: GlobalStep) -> str:
        return join(self.work, "global", f"{step.name}.done.json")

    def corpus_part(self, shard: str, fmt: str = "jsonl") -> str:
        return join(self.corpus, f"part-{shard}{CORPUS_SUFFIXES[fmt]}")

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

    def finished(self, phase: int, shard: str) -> ShardResult | None:
        """The stats of a shard whose completion marker exists, else None."""
        marker = self.stats(phase, shard)
        if not self.fs.exists(marker):
            return None
        return ShardResult.from_json(self.fs.cat_file(marker))

    # -- the files of global steps -------------------------------------------------------
    def workdir(self, step: GlobalStep) -> Path:
        """The local folder a global step reads and writes."""
        return Path(self.global_dir(step))

    def global_files(self, step: GlobalStep) -> LocalFiles:
        """What carries a step's workdir between hosts and across a resume: nothing, for a
        local output, whose workdir is already where every process and a resume find it."""
        return LocalFiles(self.workdir(step))

    def global_location(self, step: GlobalStep) -> str:
        """Where a step's files are for a process on any host (a distributed decide)."""
        return str(self.workdir(step))

    def on_this_host(self, scratch_root: str) -> Layout:
        """This layout as a process on another host than the driver's must use it."""
        return self

    def close(self) -> None:
        """Remove what only this run on this host needed."""


@dataclass(frozen=True)
class UrlLayout(Layout):
    """A run into an fsspec URL. Global steps work in `scratch`, a local folder of this run,
    and the files a resume or another host needs go through the URL (`GlobalFiles`)."""

    scratch: str = ""

    def workdir(self, step: GlobalStep) -> Path:
        return Path(self.scratch) / step.name

    def global_files(self, step: GlobalStep) -> GlobalFiles:
        outputs = join(self.work, "global", f"{step.name}.outputs.json")
        return GlobalFiles(self.workdir(step), self.fs, self.global_dir(step), outputs)

    def global_location(self, step: GlobalStep) -> str:
        return self.fs.unstrip_protocol(self.global_dir(step))

    def on_this_host(self, scratch_root: str) -> Layout:
        # The driver's scratch is a folder of this run alone, so finding it means sharing the
        # driver's host, never a stale run's leftovers; elsewhere scratch goes in a folder of
        # this run under `scratch_root` (an engine's own per-application folder).
        if os.path.isdir(self.scratch):
            return self
        run = basename(self.scratch)
        return dataclasses.replace(self, scratch=os.path.join(scratch_root, "mdfs-scratch", run))

    def close(self) -> None:
        remove_scratch(self.scratch)


class LocalFiles:
    """A global step's workdir that needs no mirror (a local output): every method is a no-op.

    The same methods as `GlobalFiles`, so the run loop and `run_shard` treat both alike.
    """

    def __init__(self, local: Path) -> None:
        self.local = local

    def snapshot(self) -> dict[str, tuple[int, int]]:
        return {}

    def pull_all(self) -> None:
        pass

    def pull_decision(self, shard: str) -> None:
        pass

    def push_observation(self, shard: str) -> None:
        pass

    def push_decision(
        self, before: dict[str, tuple[int, int]], written: list[str], shards: list[str]
    ) -> None:
        pass


class GlobalFiles(LocalFiles):
    """A global step's local workdir, mirrored to a folder under an output URL.

    Global steps (deduplication) read and write numpy files and memory maps in a local folder.
    With a URL output that folder is local scratch, and the files a later process needs go
    through the output URL: what `observe` wrote for a shard (`<shard>.*`, pushed by the task
    before its completion marker), and what `decide` wrote (pushed by the driver before the
    step's done marker, and listed in `outputs` so a task fetches only what its shard's
    `filter_shard` may read). Whatever is in the URL survives a crash; the scratch does not
    need to. A step's state is the flat set of files in its workdir (subfolders are its
    own scratch).
    """

    def __init__(self, local: Path, fs: AbstractFileSystem, remote: str, outputs: str) -> None:
        super().__init__(local)
        self.fs = fs
        self.remote = remote
        self.outputs = outputs  # JSON: {"shared": [names], "shards": {shard: [names]}}

    def snapshot(self, prefix: str = "") -> dict[str, tuple[int, int]]:
        """name -> (size, mtime in ns) of the finished files in the workdir whose names start
        with `prefix`. Other worker processes write their own shards' files into the same
        folder meanwhile, under hidden names that they rename away when done: those are never
        listed, and a file that is gone by the time it is looked at is left out."""
        if not self.local.is_dir():
            return {}
        files = {}
        for entry in os.scandir(self.local):
            if entry.name.startswith(".") or not entry.name.startswith(prefix):
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file():
                    status = entry.stat()
                    files[entry.name] = (status.st_size, status.st_mtime_ns)
        return files

    def push(self, names: list[str]) -> None:
        self.fs.makedirs(self.remote, exist_ok=True)
        for name in names:
            path = join(self.remote, name)
            attempt = attempt_name(path)
            self.fs.put_file(str(self.local / name), attempt)
            publish(self.fs, attempt, path)

    def pull(self, names: list[str]) -> None:
        """Fetch the named files that this host does not hold yet (they never change once in
        the URL: observations and decisions are written once per run)."""
        self.local.mkdir(parents=True, exist_ok=True)
        for name in names:
            target = self.local / name
            if target.exists():
                continue
            # two worker processes of one host may fetch the same file at once
            partial = self.local / f".{name}.tmp-{uuid.uuid4().hex}"
            self.fs.get_file(join(self.remote, name), str(partial))
            # time 0: whatever `decide` rewrites afterwards shows as changed (`snapshot`),
            # even within the clock tick of the copy
            os.utime(partial, ns=(0, 0))
            os.replace(partial, target)

    def pull_all(self) -> None:
        """Fetch every shard's observations: the driver decides from all of them."""
        if not self.fs.exists(self.remote):
            return
        names = (basename(p) for p in self.fs.find(self.remote, maxdepth=1))
        self.pull(sorted(n for n in names if not is_attempt(n)))

    def push_observation(self, shard: str) -> None:
        self.push(list(self.snapshot(f"{shard}.")))

    def push_decision(
        self, before: dict[str, tuple[int, int]], written: list[str], shards: list[str]
    ) -> None:
        """Push what `decide` changed in the workdir since `before`, and list it with the
        names a distributed decide `written` into the URL itself, per shard and shared."""
        changed = [n for n, seen in self.snapshot().items() if before.get(n) != seen]
        self.push(changed)
        by_shard: dict[str, list[str]] = {}
        shared: list[str] = []
        for name in sorted(set(changed + written)):
            shard = name.split(".", 1)[0]
            (by_shard.setdefault(shard, []) if shard in shards else shared).append(name)
        write_atomic_bytes(
            self.outputs, orjson.dumps({"shared": shared, "shards": by_shard}), self.fs
        )

    def pull_decision(self, shard: str) -> None:
        """Fetch what `filter_shard` may read for this shard: its decision, shared files."""
        outputs = orjson.loads(self.fs.cat_file(self.outputs))
        self.pull(outputs["shared"] + outputs["shards"].get(shard, []))


# -- staged and final files -------------------------------------------------------------------


class DocumentWriter(Protocol):
    def write(self, document: Document) -> None: ...


class JsonLinesWriter:
    """Documents as JSON lines into a compressed stream (gzip for the corpus, zstd staged)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def write(self, document: Document) -> None:
        self.stream.write(document.to_json())
        self.stream.write(b"\n")


# One schema for every part of every run, all strings: `meta` is JSON text, since its keys
# vary with the steps and the data (a struct column would differ between shards).
CORPUS_COLUMNS = ("id", "text", "source", "url", "meta")


class ParquetDocumentWriter:
    """Documents as rows of `CORPUS_COLUMNS`, a row group per `PARQUET_ROWS_PER_BATCH`.
    (pyarrow is imported here: a JSON lines run does without its start-up and memory.)"""

    def __init__(self, stream: IO[bytes]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.schema = pa.schema([(name, pa.string()) for name in CORPUS_COLUMNS])
        self.writer = pq.ParquetWriter(stream, self.schema, compression="zstd")
        self.rows: dict[str, list[str | None]] = {name: [] for name in CORPUS_COLUMNS}

    def write(self, document: Document) -> None:
        self.rows["id"].append(document.id)
        self.rows["text"].append(document.text)
        self.rows["source"].append(document.source)
        self.rows["url"].append(document.url)
        meta = orjson.dumps(document.meta, option=orjson.OPT_SERIALIZE_NUMPY).decode("utf-8")
        self.rows["meta"].append(meta)
        if len(self.rows["id"]) >= PARQUET_ROWS_PER_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows["id"]:
            self.writer.write_table(self.pa.table(self.rows, schema=self.schema))
            self.rows = {name: [] for name in CORPUS_COLUMNS}

    def close(self) -> None:
        self.flush()
        self.writer.close()


@contextlib.contextmanager
def corpus_writer(handle: IO[bytes], fmt: str) -> Iterator[DocumentWriter]:
    """A writer of the final corpus part in `fmt` (jsonl: gzip JSON lines; parquet)."""
    if fmt == "parquet":
        writer = ParquetDocumentWriter(handle)
        yield writer
        writer.close()
        return
    with open_gzip_writer(handle) as stream:
        yield JsonLinesWriter(stream)


@contextlib.contextmanager
def staged_writer(handle: IO[bytes]) -> Iterator[DocumentWriter]:
    with open_staged_writer(handle) as stream:
        yield JsonLinesWriter(stream)


def open_staged_writer(handle: IO[bytes]) -> IO[bytes]:
    return zstandard.ZstdCompressor(level=3).stream_writer(handle, closefd=False)


def open_gzip_writer(handle: IO[bytes]) -> IO[bytes]:
    # No name and no time in the gzip header: two attempts of a shard write the same bytes.
    return gzip.GzipFile(
        filename="", mode="wb", fileobj=handle, compresslevel=CORPUS_GZIP_LEVEL, mtime=0
    )


def part_files(fs: AbstractFileSystem, folder: str) -> list[str]:
    """The parts in a run's corpus/ or removed/ folder, in either format, in shard order
    (files still being written are hidden and left out)."""
    if not fs.isdir(folder):
        return []
    suffixes = tuple(CORPUS_SUFFIXES.values())
    return sorted(path for path in fs.ls(folder, detail=False) if path.endswith(suffixes))


def read_records(fs: AbstractFileSystem, path: str) -> Iterator[dict[str, Any]]:
    """The records of one part a run wrote (corpus/ in either format, or removed/), as dicts
    with `meta` a dict: what the JSON lines hold."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        with fs.open(path, "rb") as handle:
            for batch in pq.ParquetFile(handle).iter_batches():
                for row in batch.to_pylist():
                    row["meta"] = orjson.loads(row["meta"]) if row.get("meta") else {}
                    yield row
        return
    with fs.open(path, "rb") as handle, gzip.open(handle) as lines:
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


def read_documents(fs: AbstractFileSystem, path: str) -> Iterator[Document]:
    """The documents of one corpus part an MDFS run wrote, in either format."""
    for record in read_records(fs, path):
        yield Document(
            record["id"], record["text"], record["source"], record.get("url"), record["meta"] or {}
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
    removed_by_source: dict[str, dict[str, int]] = field(default_factory=dict)  # source: step: n
    # domain: in (phase 0), kept (last phase), step/reason: n (the phase that removed them)
    domains: dict[str, dict[str, int]] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skipped_inputs: dict[str, str] = field(default_factory=dict)  # path: why it was not read

    def to_json(self) -> bytes:
        return orjson.dumps(self.__dict__)

    @classmethod
    def from_json(cls, data: bytes) -> ShardResult:
        raw = orjson.loads(data)
        for key in ("errors", "sources_in", "sources_kept"):
            raw[key] = Counter(raw[key])
        return cls(**raw)
