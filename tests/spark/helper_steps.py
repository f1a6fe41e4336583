"""Steps that fail on purpose or report where they ran, to test the Spark engine.

They live in a module of their own (shipped to executors by value with cloudpickle) because
a pydantic model defined inside a test function captures that function's locals, SparkContext
included, which cannot be pickled.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from mdfs.document import Document
from mdfs.pipeline import GlobalStep, Mapper


def _executor_jvm() -> int | None:
    """The pid of the executor JVM above this Python worker (standalone/YARN/K8s executors)."""
    pid = os.getppid()
    while pid > 1:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"CoarseGrainedExecutorBackend" in cmdline:
            return pid
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return None


class KillOnce(Mapper):
    """Ends its own process once, mid-shard, the first time it runs in a Spark task.

    It passes every document through, so a run with it must equal a run without it. The
    marker file makes it kill only the first attempt; Spark retries the task elsewhere.
    """

    name = "kill_once"
    marker: str
    after_documents: int = 3
    target: Literal["python_worker", "executor"] = "python_worker"
    _seen: int = 0

    def apply(self, document: Document) -> Document:
        from pyspark import TaskContext

        if TaskContext.get() is None:  # the local engine's reference run
            return document
        self._seen += 1
        marker = Path(self.marker)
        if self._seen >= self.after_documents and not marker.exists():
            marker.write_text(f"killed attempt {TaskContext.get().attemptNumber()}")
            if self.target == "executor":
                jvm = _executor_jvm()
                if jvm is None:
                    raise RuntimeError("no executor JVM above this worker (local master?)")
                os.kill(jvm, signal.SIGKILL)
            os._exit(1)
        return document


class BrokenObserve(GlobalStep):
    """A global step with a bug: every shard fails the same way, whatever the retries."""

    name = "broken_observe"

    def observe(self, shard: str, documents: Iterable[Document]) -> None:
        raise ValueError("observe is broken")


class RecordSetup(Mapper):
    """Passes documents through; each `setup()` (a resource load) appends its pid to `log`."""

    name = "record_setup"
    log: str

    def setup(self) -> None:
        with open(self.log, "a") as out:
            out.write(f"{os.getpid()}\n")

    def apply(self, document: Document) -> Document:
        return document
