"""Where a run's files live, and how a file is committed: a local folder or any fsspec URL.

An output is a plain local path (`out/sample`) or an fsspec URL (`file:///data/out`,
`s3://bucket/run`, `hdfs://nn/run`, `memory://run` inside one process). Every file of a run
is written and read through the fsspec filesystem of that location, local ones included, so
there is one code path and a local run tests it.

The commit protocol, the same on every filesystem:

1. A file is written under an attempt name beside its final name,
   `.<name>.tmp-<random>`, unique to the writer (speculative Spark attempts of one task on two
   hosts never share one).
2. It is then moved to its final name, which depends only on what the file is (phase, shard),
   never on the attempt. On a local filesystem and HDFS the move is a rename (atomic); on an
   object store (S3, GCS, Azure) a server-side copy, and an object appears whole or not at
   all. So a reader never sees half a file under a final name. Where the filesystem refuses to
   move onto an existing file (HDFS), the file already there came from another attempt of the
   same shard, which writes the same content: this attempt's copy is dropped.
3. A shard's stats file is committed last, after all its outputs: it is the completion
   marker. A shard with a marker is done and never runs again; a shard without one runs again
   from scratch and overwrites its outputs with the same documents. So a retried or
   speculative task, or a rerun after a crash, never adds a document twice.

Attempt files that a killed writer left behind are removed when the run ends
(`remove_stale_attempts`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import fsspec
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from mdfs.errors import UserError

_ATTEMPT = re.compile(r"^\..+\.tmp-[0-9a-f]+$")


def filesystem(location: str | os.PathLike[str]) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem of a path or URL, and the path in that filesystem's terms."""
    try:
        return fsspec.core.url_to_fs(os.fspath(location))
    except (ImportError, ValueError) as error:  # an unknown scheme, or its backend not installed
        raise UserError(f"{location}: {error}") from None


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for `scheme://…`; False for a plain local path (also one like `C:\\data`)."""
    return fsspec.core.split_protocol(os.fspath(location))[0] is not None


def join(folder: str, *names: str) -> str:
    return "/".join([folder.rstrip("/"), *names])


def parent(path: str) -> str:
    return path.rsplit("/", 1)[0]


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def is_attempt(name: str) -> bool:
    """True for the name of a file still being written (`attempt_name`)."""
    return _ATTEMPT.match(name) is not None


def attempt_name(path: str) -> str:
    """The name this writer uses until the file is complete (hidden: a glob skips it)."""
    return join(parent(path), f".{basename(path)}.tmp-{uuid.uuid4().hex}")


def publish(fs: AbstractFileSystem, attempt: str, path: str) -> None:
    """Move a complete attempt file to its final name."""
    if isinstance(fs, LocalFileSystem):
        os.replace(attempt, path)  # atomic, and replaces a file another attempt committed
        return
    try:
        fs.mv(attempt, path)
    except OSError:
        if not fs.exists(path):
            raise
        # another attempt of the same shard committed the same content first (HDFS does not
        # rename onto an existing file)
        fs.rm_file(attempt)


@contextlib.contextmanager
def committed(fs: AbstractFileSystem, path: str) -> Iterator[IO[bytes]]:
    """A binary file to write that appears at `path`, whole, when the block ends without error."""
    fs.makedirs(parent(path), exist_ok=True)
    attempt = attempt_name(path)
    try:
        with fs.open(attempt, "wb") as handle:
            yield handle
    except BaseException:
        with contextlib.suppress(OSError):
            fs.rm_file(attempt)
        raise
    publish(fs, attempt, path)


def write_atomic_bytes(
    path: str | os.PathLike[str], data: bytes, fs: AbstractFileSystem | None = None
) -> None:
    """Write a whole file by the commit protocol; `path` is in `fs`'s terms when `fs` is given."""
    if fs is None:
        fs, path = filesystem(path)
    with committed(fs, os.fspath(path)) as handle:
        handle.write(data)


def remove(fs: AbstractFileSystem, path: str, recursive: bool = False) -> None:
    """Remove a file or folder if it is there."""
    with contextlib.suppress(FileNotFoundError):
        if fs.exists(path):
            fs.rm(path, recursive=recursive)


# A folder holding this is an `mdfs run` output: as an input it stands for its corpus/ alone
# (never its removed documents, report or bookkeeping), and only it may be --overwritten.
RUN_MARKER = ".mdfs/run.json"


def holds_run(fs: AbstractFileSystem, root: str) -> bool:
    return fs.exists(join(root, RUN_MARKER))


def is_within(path: str, folder: str) -> bool:
    """True when `path` is `folder` or lies under it (both absolute, normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def input_locations(inputs: list[str]) -> list[str]:
    """Each local input as a real absolute path (a glob by the folder before its pattern);
    URLs as given."""
    found = []
    for item in inputs:
        if is_url(item):
            found.append(item)
            continue
        fixed = re.split(r"[*?\[]", item, maxsplit=1)[0] if re.search(r"[*?\[]", item) else item
        found.append(os.path.realpath(fixed or "."))
    return found


def discard_previous_run(fs: AbstractFileSystem, root: str, inputs: list[str]) -> None:
    """Empty `root` for `--overwrite`: only when it holds an MDFS run, never when it is or
    holds one of the inputs. The folder itself stays (its lock is held on it)."""
    if not fs.exists(root):
        return
    here = os.path.realpath(root) if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(root)
    display = here
    for item, location in zip(inputs, input_locations(inputs), strict=True):
        if is_within(location, here):
            raise UserError(
                f"--overwrite would delete {display}, which holds the input {item}; "
                "choose another --output"
            )
    entries = fs.ls(root, detail=False)
    if not entries:
        return
    if not holds_run(fs, root):
        raise UserError(
            f"--overwrite deletes only an MDFS run, and {display} is not one (no {RUN_MARKER}); "
            "remove it yourself or choose another --output"
        )
    for entry in entries:
        fs.rm(entry, recursive=True)


LOCK_GRACE_SECONDS = 10.0


@contextlib.contextmanager
def exclusive_output(fs: AbstractFileSystem, root: str) -> Iterator[None]:
    """Hold an advisory lock on a local output folder while a run writes it: a second run
    into the same folder is refused instead of deleting the first one's files. The lock
    goes with the process (and its workers), so a killed run never leaves it behind. Other
    filesystems have no such lock; there, one run at a time is the user's care."""
    if not isinstance(fs, LocalFileSystem):
        yield
        return
    import fcntl

    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    # The worker processes of a run killed a moment ago share its lock until they are gone,
    # which takes a little while on a loaded machine: wait for them before refusing.
    deadline = time.monotonic() + LOCK_GRACE_SECONDS
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise  # e.g. a filesystem without locks: said as such by the caller
                if time.monotonic() > deadline:
                    raise UserError(
                        f"{root} is being written by another mdfs run; wait for it to finish "
                        "(or stop it), or choose another --output"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(descriptor)


def scratch_for(output: str | os.PathLike[str]) -> str:
    """A new local scratch folder for a run into `output`: TMPDIR/mdfs-scratch-<key>/<run>.

    The parent is named by the output's URL, the same for every run into it, and a run empties
    it when it starts (and `remove_scratch` when it ends): the scratch of a run killed with
    kill -9 goes with the next run into that output instead of staying in TMPDIR for ever. The
    subfolder is this run's own, so a process on another host that finds a folder of that
    name (`spark.py`) knows it holds this run's files, not those of an earlier run. A
    `memory://` output is one process's own, so two processes' runs into the same memory://
    path are two outputs, each with its own scratch.
    """
    fs, root = filesystem(output)
    url = fs.unstrip_protocol(root)
    if "memory" in fs.protocol:  # each process has a memory filesystem of its own
        url += f"#{os.getpid()}"
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    parent = Path(tempfile.gettempdir()) / f"mdfs-scratch-{key}"
    shutil.rmtree(parent, ignore_errors=True)
    folder = parent / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return str(folder)


def remove_scratch(scratch: str) -> None:
    """Remove a run's scratch (`scratch_for`), with the output's folder that holds it."""
    shutil.rmtree(Path(scratch).parent, ignore_errors=True)


def remove_stale_attempts(fs: AbstractFileSystem, folders: list[str]) -> None:
    """Delete the attempt files of writers that died; only when no attempt is left running."""
    for folder in folders:
        if not fs.exists(folder):
            continue
        for path in fs.find(folder):
            if is_attempt(basename(path)):
                with contextlib.suppress(FileNotFoundError):
                    fs.rm_file(path)
