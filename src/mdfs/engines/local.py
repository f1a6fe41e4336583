"""The embedded engine: shard tasks in parallel processes on one machine."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from mdfs import progress
from mdfs.tasks import Engine, ShardJob, ShardTask, TaskOutcome, run_task

log = logging.getLogger(__name__)

# Set once per worker process by `_init_worker`: the job arrives once, not with every task.
_JOB: ShardJob | None = None


def die_with_parent(parent: int) -> None:
    """Make this worker process die when the run's process does.

    A pool worker blocks waiting for its next task; if the parent is killed alone (by the
    OOM killer, or kill -9 of its PID), nothing would ever wake it, and it would hold its
    memory (and the output's lock) for ever. Linux can send a signal on the parent's death;
    elsewhere the pool's own shutdown on a normal exit has to do.
    """
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the call: no signal will come
        os._exit(1)


def _init_worker(job: ShardJob, parent: int, live: progress.LiveCounts | None) -> None:
    global _JOB
    die_with_parent(parent)
    _JOB = job
    progress.attach(live)  # documents count into the parent's progress as they pass


def _run_in_worker(task: ShardTask) -> TaskOutcome:
    assert _JOB is not None
    return run_task(_JOB, task)


class LocalEngine(Engine):
    """`workers` processes (default: all cores); one runs the tasks in this process."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._in_process = False

    @contextlib.contextmanager
    def running(self, job: ShardJob) -> Iterator[None]:
        self._in_process = "memory" in job.layout.fs.protocol  # other processes cannot see it
        if self._in_process and self.workers > 1:
            log.warning("%s is in this process's memory: shards run here", job.layout.output)
        try:
            yield
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None

    def run_tasks(self, job: ShardJob, tasks: list[ShardTask]) -> Iterator[TaskOutcome]:
        if len(tasks) < self.workers:
            log.info(
                "%d shard(s) to run: %d of %d worker processes will work (smaller "
                "collect.shard_min_bytes and shard_max_bytes make more shards)",
                len(tasks), len(tasks), self.workers,
            )  # fmt: skip
        if self.workers == 1 or len(tasks) == 1 or self._in_process:
            for task in tasks:
                yield run_task(job, task)
            return
        if self._pool is None:  # made when first needed, then kept for the run's phases
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(job, os.getpid(), progress.current()),
            )
        futures = [self._pool.submit(_run_in_worker, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
