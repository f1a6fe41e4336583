"""`mdfs classify --engine spark`: the quality classifier as batched inference per partition.

The input files are grouped as `mdfs run` groups them into shards; each group is one Spark
task that reads its documents, scores them in batches of 256 with a model loaded once per
executor Python worker (on the task's GPU when Spark gives it one), and writes its
predictions to a part file named by the group. The driver then joins the parts in input
order into DIR/predictions.jsonl, so the file is the one the local command writes, and a
retried task only rewrites its own part.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mdfs.engines.spark import SparkEngine, task_gpus
from mdfs.errors import UserError

GROUP_MAX_BYTES = 128_000_000
GROUP_MAX_FILES = 256
BATCH_DOCUMENTS = 256

# The scorer an executor's Python worker loaded, by its settings: loaded once, not per task.
_SCORERS: dict[tuple[Any, ...], Any] = {}


def classify_on_spark(args: argparse.Namespace) -> int:
    """Run `mdfs classify` (same arguments) with its files spread over Spark tasks."""
    from mdfs.collect.readers import expand_inputs, shard_inputs

    def on_error(kind: str, message: str) -> None:
        print(f"mdfs classify: skipped ({kind}): {message}", file=sys.stderr)

    files = expand_inputs(args.inputs, on_error)
    if not files:
        raise UserError("no input files found")
    if args.model and not Path(args.model).exists():
        raise UserError(f"model {args.model} does not exist")
    output = Path(args.output)
    parts = output / ".parts"
    parts.mkdir(parents=True, exist_ok=True)
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
                yield _classify_group(settings, str(parts), index, group)

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
    target = output / "predictions.jsonl"
    tmp = output / f".predictions.jsonl.tmp-{os.getpid()}"
    with tmp.open("wb") as joined:
        for index, _ in groups:
            joined.write((parts / f"part-{index:05d}.jsonl").read_bytes())
    os.replace(tmp, target)
    for index, _ in groups:
        (parts / f"part-{index:05d}.jsonl").unlink()
    parts.rmdir()
    seconds = time.perf_counter() - started
    print(f"{count} documents classified in {seconds:.1f}s on Spark -> {target}")
    return 0


def _classify_group(
    settings: tuple[Any, ...], parts: str, index: int, files: list[str]
) -> tuple[int, int, list[str], str | None]:
    """(group, documents, skipped-input messages, failure or None); writes the group's part."""
    from mdfs.collect.extract import extract_main_text
    from mdfs.collect.readers import Reader
    from mdfs.fine.commands import _write_predictions
    from mdfs.fine.scoring import load_scorer, score_documents

    problems: list[str] = []
    try:
        model, backend, device, batch_size = settings
        if device == "cpu" and task_gpus():  # the GPU Spark gave this task (see spark.py)
            device = "cuda"
        key = (model, backend, device, batch_size)
        if key not in _SCORERS:
            _SCORERS.clear()
            _SCORERS[key] = load_scorer(model, backend, device, batch_size)
        scorer = _SCORERS[key]
        reader = Reader(lambda kind, message: problems.append(f"({kind}) {message}"))
        part = Path(parts) / f"part-{index:05d}.jsonl"
        tmp = part.with_name(f".{part.name}.tmp-{os.getpid()}")
        count = 0
        with tmp.open("w", encoding="utf-8") as stream:
            batch = []
            for path in files:
                for document in reader.read(path):
                    if document.meta.get("format") == "html":  # score what `mdfs run` keeps
                        document.text = extract_main_text(document.text, document.url)
                    batch.append(document)
                    if len(batch) >= BATCH_DOCUMENTS:
                        count += _write_predictions(stream, batch, scorer, score_documents)
                        batch = []
            count += _write_predictions(stream, batch, scorer, score_documents)
        os.replace(tmp, part)  # a retried task replaces the part, never appends to it
    except Exception as error:  # a broken model or a bug: report it, as the local command would
        return index, 0, problems, f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
    return index, count, problems, None
