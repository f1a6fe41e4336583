"""Progress of a run while it works: a bar on a terminal, a log line every N seconds elsewhere.

What is counted, and how honest the ETA is:
- Finished shards report their documents and input bytes to the run loop with their stats,
  whatever the engine (Spark executors included).
- Shards still running add to `LiveCounts`, two counters in shared memory that the local
  engine's worker processes (and a shard run in this process) update every few documents;
  they take back what they added when the shard ends, when its stats take over. Processes
  that do not share this memory (Spark executors) show only at the end of each shard.
- In the first phase the number of documents is unknown until all input is read, so the ETA
  comes from the share of input bytes read (plain JSONL counts its bytes as it is read, every
  other input file when it has been read);
  later phases know their documents (the previous phase's output) and the ETA comes from them.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from tqdm import tqdm

log = logging.getLogger(__name__)

FLUSH_EVERY = 64  # documents a shard counts before it touches the shared counters
TERMINAL_REFRESH_SECONDS = 0.5


class LiveCounts:
    """Documents and input bytes of the shards in flight, in memory worker processes share.

    A worker killed while it holds a counter's lock (the OOM killer, kill -9) never releases
    it. So the counters are read without the lock (a figure for the progress line), and an
    update that cannot get the lock soon is dropped: the run goes on to fail or finish, and
    its progress line is off by that update, rather than everything waiting forever."""

    LOCK_SECONDS = 1.0

    def __init__(self) -> None:
        context = multiprocessing.get_context()
        self._documents = context.Value("q", 0)
        self._bytes = context.Value("q", 0)

    def add(self, documents: int = 0, read_bytes: int = 0) -> None:
        _add(self._documents, documents, self.LOCK_SECONDS)
        if read_bytes:
            _add(self._bytes, read_bytes, self.LOCK_SECONDS)

    def read(self) -> tuple[int, int]:
        return self._documents.get_obj().value, self._bytes.get_obj().value


def _add(counter: Any, amount: int, seconds: float) -> None:
    lock = counter.get_lock()
    if lock.acquire(timeout=seconds):
        try:
            counter.get_obj().value += amount
        finally:
            lock.release()


_LIVE: LiveCounts | None = None  # where this process's shards count, if anyone listens


def attach(live: LiveCounts | None) -> None:
    """Count this process's shards into `live` (a worker is handed its parent's)."""
    global _LIVE
    _LIVE = live


def current() -> LiveCounts | None:
    return _LIVE


class ShardCounter:
    """What one running shard adds to the live counts, taken back when it ends."""

    def __init__(self) -> None:
        self.live = _LIVE
        self.pending = 0
        self.added_documents = 0
        self.added_bytes = 0

    def document(self) -> None:
        self.pending += 1
        if self.pending >= FLUSH_EVERY:
            self.flush()

    def bytes_read(self, count: int) -> None:
        self.flush()
        if self.live is not None:
            self.live.add(read_bytes=count)
            self.added_bytes += count

    def flush(self) -> None:
        if self.live is not None and self.pending:
            self.live.add(documents=self.pending)
            self.added_documents += self.pending
        self.pending = 0

    def close(self) -> None:
        """The shard ended: its stats (or its failure) now speak for it."""
        if self.live is not None:
            self.live.add(-self.added_documents, -self.added_bytes)
        self.pending = self.added_documents = self.added_bytes = 0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class PhaseProgress:
    """Shows one phase's progress until it ends; `finished` is told of every finished shard.

    `total_documents` is known for later phases; for the first phase pass `total_bytes`, the
    input bytes of the shards to run, and the ETA is estimated from the share read.
    """

    def __init__(
        self, phase: int, shards: int, total_documents: int | None, total_bytes: int | None,
        log_seconds: float, live: LiveCounts | None,
    ) -> None:  # fmt: skip
        self.phase = phase
        self.shards = shards
        self.shards_done = 0
        self.total_documents = total_documents
        self.total_bytes = total_bytes
        self.log_seconds = log_seconds
        self.live = live
        self.done_documents = 0
        self.done_bytes = 0
        self.started = time.monotonic()
        self.terminal = sys.stderr.isatty()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._bar: tqdm | None = None

    def finished(self, documents: int, read_bytes: int) -> None:
        with self._lock:
            self.shards_done += 1
            self.done_documents += documents
            self.done_bytes += read_bytes
        self._show()

    def figures(self) -> dict[str, Any]:
        """Documents so far, their rate, the (estimated) total and the ETA's basis."""
        live_documents, live_bytes = self.live.read() if self.live else (0, 0)
        with self._lock:
            documents = self.done_documents + live_documents
            read_bytes = self.done_bytes + live_bytes
        elapsed = max(time.monotonic() - self.started, 1e-9)
        total, basis = self.total_documents, "documents"
        if total is None:
            basis = "input bytes read"
            if self.total_bytes and read_bytes:
                total = round(documents * self.total_bytes / min(read_bytes, self.total_bytes))
        eta = None
        if total is not None and documents:
            eta = max(0.0, (total - documents) * elapsed / documents)
        return {
            "documents": documents, "rate": documents / elapsed, "total": total, "eta": eta,
            "basis": basis, "bytes": read_bytes,
        }  # fmt: skip

    def line(self) -> str:
        f = self.figures()
        shards = f"{self.shards_done} of {self.shards} shards"
        if f["basis"] == "documents":
            done = f"{f['documents']:,} of {f['total'] or 0:,} documents"
        else:
            share = f["bytes"] / self.total_bytes if self.total_bytes else 0.0
            done = f"{f['documents']:,} documents, {share:.0%} of input bytes"
        if f["eta"] is not None:
            eta = f"ETA {_duration(f['eta'])} (from {f['basis']})"
        elif f["basis"] == "documents":
            eta = "ETA when the first documents are through"
        else:
            eta = "ETA once input bytes are read"
        return f"phase {self.phase}: {done}, {f['rate']:,.0f} documents/s, {shards}; {eta}"

    def _show(self) -> None:
        if self._bar is None:
            return
        f = self.figures()
        with self._lock:
            self._bar.total = f["total"]
            self._bar.update(f["documents"] - self._bar.n)
            self._bar.set_postfix_str(f"{self.shards_done}/{self.shards} shards", refresh=True)

    def _watch(self) -> None:
        interval = TERMINAL_REFRESH_SECONDS if self.terminal else self.log_seconds
        while not self._stop.wait(interval):
            if self.terminal:
                self._show()
            else:
                log.info("%s", self.line())

    @contextlib.contextmanager
    def shown(self) -> Iterator[PhaseProgress]:
        if self.terminal:
            self._bar = tqdm(
                total=self.total_documents, unit="doc", desc=f"phase {self.phase}", leave=True
            )
        watcher = threading.Thread(target=self._watch, name="mdfs-progress", daemon=True)
        watcher.start()
        try:
            yield self
        finally:
            self._stop.set()
            watcher.join()
            if self._bar is not None:
                self._show()
                self._bar.close()
            else:
                log.info("%s", self.line().split("; ETA")[0] + "; done")
