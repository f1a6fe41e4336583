"""The Spark engine: every (phase, shard) is a Spark task running the same `run_shard`.

Nothing about a step changes on Spark. The driver plans the same phases as the local engine;
each phase is one Spark job with one partition per shard not yet done, and each task calls
`run_shard`, which writes its outputs atomically and then its stats file (the completion
marker). The driver collects the stats, runs each global step's `decide` between phases
(on Spark itself for steps that have a Spark-native decide, see `SPARK_DECIDERS`) and hands
the stats to `run_pipeline`, which builds the same report as the local engine's.

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

import argparse
import logging
import os
import re
import socket
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from mdfs.engines.shards import (
    bind_global_steps,
    decide_global,
    finish_run,
    raise_shard_failures,
    run_shard,
)
from mdfs.errors import UserError
from mdfs.layout import Layout, Phase, ShardResult, plan_phases
from mdfs.pipeline import GlobalStep
from mdfs.recipe import Recipe

if TYPE_CHECKING:
    from pyspark import Broadcast
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

# Global steps with a Spark-native decide, by step name; any other global step decides on
# the driver, as on the local engine (exact_dedup holds 8 bytes a document there;
# paragraph_dedup bounds its memory by its memory_budget_mb). A decider reads the step's
# files at a location (a local folder or a URL) and writes its decisions there; it returns
# the report's figures and the names of the files it wrote.
SparkDecider = Callable[
    ["SparkSession", GlobalStep, list[str], str], tuple[dict[str, Any], list[str]]
]
SPARK_DECIDERS: dict[str, SparkDecider] = {}


def spark_decider(step: GlobalStep) -> SparkDecider | None:
    from mdfs.engines.spark_near_dedup import decide_near_dedup

    SPARK_DECIDERS.setdefault("near_dedup", decide_near_dedup)
    return SPARK_DECIDERS.get(step.name)


def add_spark_arguments(parser: argparse.ArgumentParser) -> None:
    """`--engine`, `--master`, `--spark-conf`: one set for `run`, `dedup` and `classify`."""
    parser.add_argument(
        "--engine", choices=["local", "spark"], default="local", help="where shards run"
    )
    parser.add_argument(
        "--master", default=DEFAULT_MASTER, help="Spark master URL (--engine spark)"
    )
    parser.add_argument(
        "--spark-conf", action="append", default=[], metavar="KEY=VALUE",
        help="Spark setting, repeatable (--engine spark)",
    )  # fmt: skip


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


class SparkEngine:
    """Runs shards as Spark tasks. `master`: any Spark master URL; `conf`: KEY=VALUE settings.

    `workers` is the number of threads of a `local[...]` master, and `spark.cores.max` on a
    standalone cluster (unless `conf` sets it); on YARN and Kubernetes size the job with
    `spark.executor.instances` / `spark.executor.cores` instead.
    """

    def __init__(
        self,
        master: str = DEFAULT_MASTER,
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
        if not (under_submit and self.master == DEFAULT_MASTER):
            builder = builder.master(effective_master(self.master, self.workers))
        conf = dict(_DEFAULT_CONF)
        # Executors must run an interpreter that has MDFS installed. PySpark takes it from
        # PYSPARK_PYTHON when the context starts (spark.pyspark.python alone only reaches
        # spark-submit), so the setting, or else this interpreter, goes there.
        python = self.conf.get("spark.pyspark.python") or os.environ.get("PYSPARK_PYTHON")
        os.environ["PYSPARK_PYTHON"] = python or sys.executable
        if self.workers and self.master.startswith("spark://"):
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
    def run(
        self, recipe: Recipe, layout: Layout, shards: dict[str, list[str]]
    ) -> list[ShardResult]:
        """Run every phase over every shard; returns the stats of all (phase, shard) pairs."""
        owned = self._spark is None
        spark = self.start()
        try:
            return self._run(spark, recipe, layout, shards)
        finally:
            if owned:
                self.stop()

    def _run(
        self, spark: SparkSession, recipe: Recipe, layout: Layout, shards: dict[str, list[str]]
    ) -> list[ShardResult]:
        from pyspark import cloudpickle

        phases = plan_phases(recipe.steps)
        bind_global_steps(layout, phases)
        # The recipe travels once per executor as a broadcast; cloudpickle so that steps
        # defined outside an importable module (a notebook, a test) travel too.
        payload = spark.sparkContext.broadcast(cloudpickle.dumps((recipe, layout)))
        run_key = uuid.uuid4().hex
        results: list[ShardResult] = []
        try:
            for phase in phases:
                results.extend(self._run_phase(spark, phase, layout, shards, run_key, payload))
                if phase.then is not None:
                    self._decide(spark, phase.then, layout, sorted(shards))
        finally:
            payload.unpersist()
        # A killed attempt leaves its half-written attempt files; the finished run has no
        # attempt left to need them.
        finish_run(layout, phases)
        return results

    def _run_phase(
        self, spark: SparkSession, phase: Phase, layout: Layout, shards: dict[str, list[str]],
        run_key: str, payload: Broadcast[bytes],
    ) -> list[ShardResult]:  # fmt: skip
        results, todo = [], []
        for shard, files in shards.items():
            finished = layout.finished(phase.index, shard)
            if finished is not None:
                results.append(finished)
            else:
                todo.append((phase.index, shard, files))
        if not todo:
            return results
        names = ", ".join(step.name for step in phase.steps)
        context = spark.sparkContext
        context.setJobDescription(f"mdfs phase {phase.index} ({len(todo)} shards): {names}")
        log.info("phase %d: %d shards on Spark (%s)", phase.index, len(todo), names)

        def task(items: Iterator[tuple[int, str, list[str]]]) -> Iterator[tuple]:
            for item in items:
                yield _run_task(run_key, payload, item)

        try:
            # One partition per shard: Spark schedules, retries and speculates whole shards.
            outcomes = context.parallelize(todo, len(todo)).mapPartitions(task).collect()
        except Exception as error:  # Py4JJavaError: the job failed after Spark's retries
            first = next((ln for ln in str(error).splitlines() if ln.strip()), repr(error))
            raise UserError(
                f"phase {phase.index} failed on Spark after its task retries ({first[:300]}). "
                "Finished shards are kept: run the same command again to resume."
            ) from None
        failures = []
        for shard, stats, failure in outcomes:
            if failure is None:
                results.append(ShardResult.from_json(stats))
            else:
                failures.append(f"shard {shard}: {failure}")
        raise_shard_failures(layout, phase.index, failures)
        return results

    def _decide(
        self, spark: SparkSession, step: GlobalStep, layout: Layout, shards: list[str]
    ) -> None:
        decider = spark_decider(step)
        if decider is None:
            decide_global(layout, step, shards)
        else:
            decide_global(layout, step, shards, lambda where: decider(spark, step, shards, where))


# -- what runs in the executors -------------------------------------------------------------

# The run an executor's Python worker last served: its recipe with steps already set up. Keyed
# by the run, so models and automata load once per worker process per run, not per task.
_EXECUTOR_STATE: dict[str, tuple[Recipe, Layout, list[Phase]]] = {}


def _executor_state(run_key: str, payload: Broadcast[bytes]) -> tuple[Recipe, Layout, list[Phase]]:
    state = _EXECUTOR_STATE.get(run_key)
    if state is None:
        from pyspark import cloudpickle

        recipe, layout = cloudpickle.loads(payload.value)
        # On another host than the driver's, scratch goes in the executor's own folder of
        # this application (removed with the container on YARN and Kubernetes; on a
        # standalone cluster by spark.worker.cleanup.enabled), not in a /tmp nothing empties.
        from pyspark import SparkFiles

        layout = layout.on_this_host(os.path.abspath(SparkFiles.getRootDirectory()))
        phases = plan_phases(recipe.steps)
        bind_global_steps(layout, phases)
        _use_task_gpu(recipe)
        _EXECUTOR_STATE.clear()  # a finished run's models must not stay in memory
        state = _EXECUTOR_STATE[run_key] = (recipe, layout, phases)
    return state


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


def _run_task(
    run_key: str, payload: Broadcast[bytes], item: tuple[int, str, list[str]]
) -> tuple[str, bytes | None, str | None]:
    """(shard, stats JSON, None) when done; (shard, None, message) when a step raised.

    A step's exception is a bug that a retry would repeat, so it is reported (as the local
    engine does) instead of failing the task; a dead process is Spark's to retry.
    """
    phase_index, shard, files = item
    recipe, layout, phases = _executor_state(run_key, payload)
    if not layout.fs.exists(layout.manifest):
        return shard, None, (
            f"the output {layout.output} is not visible on executor host "
            f"{socket.gethostname()}: the Spark engine needs an output that the driver and "
            "all executors reach at the same path or URL (a shared filesystem, s3://, hdfs://)"
        )  # fmt: skip
    marker = layout.stats(phase_index, shard)
    if layout.fs.exists(marker):  # another attempt of this task finished it
        return shard, layout.fs.cat_file(marker), None
    try:
        result = run_shard(recipe, phases, layout, phase_index, shard, files)
    except Exception as error:
        return shard, None, f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
    return shard, result.to_json(), None
