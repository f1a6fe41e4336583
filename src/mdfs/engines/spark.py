"""The Spark engine: every (phase, shard) task is a Spark task running the same `run_task`.

Nothing about a step changes on Spark, and the run loop (`mdfs.run`) is the local engine's:
each phase's unfinished shards are one Spark job with one partition per shard, and each
Spark task calls `run_task`, which writes the shard's outputs atomically and then its stats
file (the completion marker). Between phases the loop offers each global step this engine's
`decide`, which runs the step's own Spark decide (`GlobalStep.decide_on_spark`) where it
has one; any other decides on the driver, as on the local engine.

Why a failed task is harmless: a shard's outputs have names fixed by (phase, shard) and are
committed whole (`mdfs.storage`), so a retried or speculative attempt rewrites the
same files with the same bytes and never adds a second copy of a document. A shard whose
marker exists is not run again, neither by a later attempt nor by a rerun of the command.
Temporary files that a killed attempt left behind are deleted when the run ends.

The output must be one location that the driver and every executor reach: an fsspec URL
(`s3://`, `hdfs://`, `gs://`…, with its fsspec backend installed on every host), or a path
seen at the same place everywhere: any local path on `local[*]` or a one-machine cluster, a
shared mount (NFS, Lustre, a FUSE-mounted bucket) on a real cluster. With a URL, global steps
work in local scratch on each host and exchange their files through the URL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mdfs.errors import UserError
from mdfs.pipeline import GlobalStep
from mdfs.recipe import Recipe
from mdfs.tasks import Decision, Engine, ShardJob, ShardTask, TaskOutcome, run_task, worker_job

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[*]"
# Spark's local mode gives up on the first failed task unless the master says
# local[N,maxFailures]; a crashed Python worker must be retried there as on a cluster.
LOCAL_TASK_ATTEMPTS = 4
_LOCAL_MASTER = re.compile(r"^local(?:\[(\*|\d+)\])?$")

# Python workers, and the models, automata and word lists their steps hold, must live across
# tasks (Spark's default, set explicitly because MDFS relies on it; --spark-conf may override).
_DEFAULT_CONF = {"spark.python.worker.reuse": "true"}


def parse_conf(pairs: list[str] | dict[str, str] | None) -> dict[str, str]:
    if pairs is None:
        return {}
    if isinstance(pairs, dict):
        return dict(pairs)
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(
                f"--spark-conf {pair!r}: write KEY=VALUE, e.g. spark.executor.memory=4g"
            )
        conf[key.strip()] = value.strip()
    return conf


def effective_master(master: str, workers: int | None) -> str:
    """`--workers N` sets the threads of a local master; local masters get task retries."""
    match = _LOCAL_MASTER.match(master)
    if not match:
        return master
    threads = str(workers) if workers else (match.group(1) or "1")
    return f"local[{threads},{LOCAL_TASK_ATTEMPTS}]"


class SparkEngine(Engine):
    """Runs shards as Spark tasks. `master`: any Spark master URL (None: local[*], or
    spark-submit's master under spark-submit); `conf`: KEY=VALUE settings.

    `workers` is the number of threads of a `local[...]` master, and `spark.cores.max` on a
    standalone cluster (unless `conf` sets it); on YARN and Kubernetes size the job with
    `spark.executor.instances` / `spark.executor.cores` instead.
    """

    def __init__(
        self,
        master: str | None = None,
        conf: list[str] | dict[str, str] | None = None,
        workers: int | None = None,
    ) -> None:
        self.master = master
        self.conf = parse_conf(conf)
        self.workers = workers
        self._spark: SparkSession | None = None
        self._owns_context = False

    # -- the session -------------------------------------------------------------------
    def start(self) -> SparkSession:
        """Start (or join) the Spark application. A session started here outlives `run` until
        `stop()`: tests and benchmarks run several pipelines on one application."""
        if self._spark is not None:
            return self._spark
        try:
            from pyspark import SparkContext
            from pyspark.sql import SparkSession
        except ImportError as error:
            raise UserError(
                f"--engine spark needs PySpark: pip install 'mdfs[spark]' ({error})"
            ) from None
        logging.getLogger("py4j").setLevel(logging.WARNING)  # one line per call otherwise
        # Inside an application that is already running (a notebook, a test's session) MDFS
        # joins it, with its master and settings, and leaves it running.
        self._owns_context = SparkContext._active_spark_context is None
        builder = SparkSession.builder.appName("mdfs")
        # Under spark-submit the master comes from spark-submit's own --master; only a master
        # given explicitly to MDFS overrides it.
        under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
        if self.master is not None or not under_submit:
            builder = builder.master(effective_master(self.master or DEFAULT_MASTER, self.workers))
        conf = dict(_DEFAULT_CONF)
        # Executors must run an interpreter that has MDFS installed. PySpark takes it from
        # PYSPARK_PYTHON when the context starts (spark.pyspark.python alone only reaches
        # spark-submit), so the setting, or else this interpreter, goes there.
        python = self.conf.get("spark.pyspark.python") or os.environ.get("PYSPARK_PYTHON")
        os.environ["PYSPARK_PYTHON"] = python or sys.executable
        if self.workers and (self.master or "").startswith("spark://"):
            conf["spark.cores.max"] = str(self.workers)
        conf.update(self.conf)
        for key, value in conf.items():
            builder = builder.config(key, value)
        self._spark = builder.getOrCreate()
        return self._spark

    def stop(self) -> None:
        if self._spark is not None and self._owns_context:
            self._spark.stop()
        self._spark = None

    # -- the run -----------------------------------------------------------------------
    @contextlib.contextmanager
    def running(self, job: ShardJob) -> Iterator[None]:
        owned = self._spark is None
        self.start()
        try:
            yield
        finally:
            if owned:
                self.stop()

    def run_tasks(self, job: ShardJob, tasks: list[ShardTask]) -> list[TaskOutcome]:
        assert self._spark is not None, "run_tasks outside running()"
        phase = tasks[0].phase
        names = ", ".join(step.name for step in job.phases[phase].steps)
        context = self._spark.sparkContext
        context.setJobDescription(f"mdfs phase {phase} ({len(tasks)} shards): {names}")

        # The job travels in the task's closure, pickled by cloudpickle, so that steps defined
        # outside an importable module (a notebook, a test) travel too; each Python worker
        # keeps one copy per run (`worker_job`), its steps set up once.
        def run_partition(items: Iterator[ShardTask]) -> Iterator[TaskOutcome]:
            on_executor = worker_job(job, _on_executor)
            for task in items:
                yield run_task(on_executor, task)

        try:
            # One partition per shard: Spark schedules, retries and speculates whole shards.
            return context.parallelize(tasks, len(tasks)).mapPartitions(run_partition).collect()
        except Exception as error:  # Py4JJavaError: the job failed after Spark's retries
            first = next((ln for ln in str(error).splitlines() if ln.strip()), repr(error))
            raise UserError(
                f"phase {phase} failed on Spark after its task retries ({first[:300]}). "
                "Finished shards are kept: run the same command again to resume."
            ) from None

    def decide(self, step: GlobalStep, shards: list[str], location: str) -> Decision | None:
        # A step without a Spark decide (exact_dedup holds 8 bytes a document; paragraph_dedup
        # bounds its memory by its memory_budget_mb) decides on the driver.
        return step.decide_on_spark(self.start(), shards, location)


# -- what runs in the executors -------------------------------------------------------------


def _on_executor(job: ShardJob) -> ShardJob:
    """The job as this executor's Python worker runs it, made once per worker and run."""
    from pyspark import SparkFiles

    # On another host than the driver's, scratch goes in the executor's own folder of this
    # application (removed with the container on YARN and Kubernetes; on a standalone
    # cluster by spark.worker.cleanup.enabled), not in a /tmp that nothing empties.
    job = job.on_this_host(os.path.abspath(SparkFiles.getRootDirectory()))
    _use_task_gpu(job.recipe)
    return job


def task_gpus() -> list[str]:
    """The GPU addresses Spark gave the running task; the worker process sees only those.

    CUDA_VISIBLE_DEVICES is set once, before any model loads: a reused Python worker keeps
    its model on the GPU it first got, which is exact when each executor owns one GPU.
    """
    from pyspark import TaskContext

    context = TaskContext.get()
    gpus = context.resources().get("gpu") if context is not None else None
    if gpus is None or not gpus.addresses:
        return []
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", ",".join(gpus.addresses))
    return list(gpus.addresses)


def _use_task_gpu(recipe: Recipe) -> None:
    """Run model steps on the GPU Spark gave this task, if it gave one.

    With `spark.executor.resource.gpu.amount` and `spark.task.resource.gpu.amount` set, each
    task holds GPU addresses, and a step with a `device` field left at `cpu` moves to
    `cuda`, so one recipe runs on CPU laptops and GPU executors alike.
    """
    if not task_gpus():
        return
    for step in recipe.steps:
        if getattr(step, "device", None) == "cpu":
            log.info("step %s runs on GPU %s", step.name, os.environ["CUDA_VISIBLE_DEVICES"])
            step.device = "cuda"  # type: ignore[attr-defined]
