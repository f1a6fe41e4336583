"""`mdfs classify --engine spark`: the quality classifier as batched inference per partition.

The input files are grouped as `mdfs run` groups them into shards; each group is one Spark
task that reads its documents, scores them in batches of 256 with a model loaded once per
executor Python worker (on the task's GPU when Spark gives it one), and writes its
predictions to a part file named by the group. The driver then joins the parts in input
order into DIR/predictions.jsonl, so the file is the one the local command writes, and a
retried task only rewrites its own part. DIR is a local path or an fsspec URL that every
executor can reach; parts and the joined file are committed as `mdfs.storage` commits
any file (attempt name, then a move), so a retried or speculative task never leaves half a part.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mdfs.engines.spark import SparkEngine, task_gpus
from mdfs.errors import UserError
from mdfs.storage import committed, filesystem, is_url, join, remove

GROUP_MAX_BYTES = 128_000_000
GROUP_MAX_FILES = 256

# The scorer an executor's Python worker loaded, by its settings: loaded once, not per task.
_SCORERS: dict[tuple[Any, ...], Any] = {}


def classify_on_spark(args: argparse.Namespace, files: list[str]) -> int:
    """Run `mdfs classify` (same arguments) with its input `files` spread over Spark tasks."""
    from mdfs.collect.readers import shard_inputs

    fs, root = filesystem(args.output)
    if "memory" in fs.protocol:  # Spark's Python workers are other processes: they cannot see it
        raise UserError(
            f"{args.output} lives in this process's memory; give Spark a file://, "
            "hdfs://, s3://… output that every executor reaches"
        )
    # Executors find the output by URL: a relative local path would resolve in their own
    # working folders.
    location = fs.unstrip_protocol(root)
    parts = join(root, ".parts")
    remove(fs, parts, recursive=True)  # an earlier failed run's parts; groups may differ now
    groups = list(enumerate(shard_inputs(files, GROUP_MAX_BYTES, GROUP_MAX_FILES)))
    settings = (
        str(Path(args.model).resolve()) if args.model else None,
        args.backend,
        args.device,
        args.batch_size,
    )
    engine = SparkEngine(args.master, args.spark_conf, getattr(args, "workers", None))
    started = time.perf_counter()
    try:
        context = engine.start().sparkContext
        context.setJobDescription(f"mdfs classify ({len(files)} files, {len(groups)} tasks)")

        def task(items: Iterator[tuple[int, list[str]]]) -> Iterator[tuple]:
            for index, group in items:
                yield _classify_group(settings, location, index, group)

        outcomes = context.parallelize(groups, len(groups)).mapPartitions(task).collect()
    finally:
        engine.stop()
    count = 0
    failures = []
    for index, documents, problems, failure in sorted(outcomes):
        for message in problems:
            print(f"mdfs classify: skipped: {message}", file=sys.stderr)
        if failure:
            failures.append(f"group {index}: {failure}")
        count += documents
    if failures:
        raise UserError(f"{len(failures)} task(s) failed: {failures[0].splitlines()[0]}")
    target = join(root, "predictions.jsonl")
    with committed(fs, target) as joined:
        for index, _ in groups:
            if not fs.exists(_part(parts, index)):
                raise UserError(
                    f"{fs.unstrip_protocol(_part(parts, index))} is missing: the executors "
                    "wrote where the driver cannot see; the output must be one location that "
                    "the driver and all executors reach (a shared filesystem, s3://, hdfs://)"
                )
            with fs.open(_part(parts, index), "rb") as part:
                shutil.copyfileobj(part, joined)
    remove(fs, parts, recursive=True)
    seconds = time.perf_counter() - started
    where = fs.unstrip_protocol(target) if is_url(args.output) else target
    print(f"{count} documents classified in {seconds:.1f}s on Spark -> {where}")
    return 0


def _part(parts: str, index: int) -> str:
    return join(parts, f"part-{index:05d}.jsonl")


def _classify_group(
    settings: tuple[Any, ...], output: str, index: int, files: list[str]
) -> tuple[int, int, list[str], str | None]:
    """(group, documents, skipped-input messages, failure or None); writes the group's part."""
    from mdfs.collect.readers import Reader
    from mdfs.fine.commands import classify_files
    from mdfs.fine.scoring import load_scorer

    problems: list[str] = []
    try:
        model, backend, device, batch_size = settings
        if device == "cpu" and task_gpus():  # the GPU Spark gave this task (see spark.py)
            device = "cuda"
        key = (model, backend, device, batch_size)
        if key not in _SCORERS:
            _SCORERS.clear()
            _SCORERS[key] = load_scorer(model, backend, device, batch_size)
        reader = Reader(lambda kind, message: problems.append(f"({kind}) {message}"))
        fs, root = filesystem(output)
        # a retried task replaces the part, never appends to it
        with committed(fs, _part(join(root, ".parts"), index)) as stream:
            count = classify_files(files, reader, _SCORERS[key], stream)
    except Exception as error:  # a broken model or a bug: report it, as the local command would
        return index, 0, problems, f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
    return index, count, problems, None
