"""A run: inputs → shards → phases on an engine → corpus, removed, report.

The phase loop is here, once for every engine: for each phase, skip the shards whose
completion marker exists, have the engine run the rest (`mdfs.tasks`), gather what failed,
then let the phase's global step decide, and at the end clean up. An engine only says where
a shard task runs.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import shlex
import sys
import time
from collections import Counter
from typing import Any

import orjson
import yaml

from mdfs import progress
from mdfs.collect.readers import expand_inputs, input_bytes, shard_inputs, split_large_inputs
from mdfs.errors import UserError
from mdfs.layout import Layout, Phase, ShardResult
from mdfs.pipeline import GlobalStep
from mdfs.recipe import CollectSettings, Recipe
from mdfs.report.build import build_report
from mdfs.report.html import render_html
from mdfs.storage import (
    basename,
    discard_previous_run,
    exclusive_output,
    is_url,
    join,
    remove,
    remove_stale_attempts,
    write_atomic_bytes,
)
from mdfs.tasks import Engine, ShardJob, ShardTask
from mdfs.tokens import counted_with
from mdfs.version import __version__

log = logging.getLogger(__name__)


def recipe_fingerprint(recipe: Recipe) -> list[dict[str, Any]]:
    return [{step.name: step.model_dump(mode="json")} for step in recipe.steps] + [
        {"collect": recipe.collect.model_dump(mode="json")},
        {"output": recipe.output.model_dump(mode="json")},
    ]


def resolved_recipe(recipe: Recipe) -> str:
    """The recipe as it ran, every default filled in, as YAML a later run can read."""
    data = {
        "collect": recipe.collect.model_dump(mode="json"),
        "output": recipe.output.model_dump(mode="json"),
        "modules": recipe.modules,
        "steps": [{step.name: step.model_dump(mode="json")} for step in recipe.steps],
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def shard_bytes(total: int, collect: CollectSettings) -> int:
    """The input bytes of one shard: `min_shards` shards of the inputs, unless that makes a
    shard smaller than `shard_min_bytes` or bigger than `shard_max_bytes`."""
    wanted = max(collect.shard_min_bytes, -(-total // collect.min_shards))
    return min(collect.shard_max_bytes, wanted)


def plan_shards(files: list[str], collect: CollectSettings) -> dict[str, list[str]]:
    """The run's shards, named 00000, 00001, ... in input order: files grouped, big ones cut
    into pieces. It depends on the inputs and the recipe only, never on the workers, so a run
    resumes with any --workers and gives the same shards on any machine."""
    size = shard_bytes(sum(map(input_bytes, files)), collect)
    entries = split_large_inputs(files, size)
    groups = shard_inputs(entries, size, collect.shard_max_files)
    return {f"{index:05d}": group for index, group in enumerate(groups)}


def run_pipeline(
    inputs: list[str], output: str | os.PathLike[str], recipe: Recipe, engine: Engine,
    overwrite: bool = False, command: str | None = None, progress_seconds: float = 30.0,
    replay: dict[str, bool] | None = None, stored_inputs: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Run `recipe` over `inputs` into `output`, a local folder or an fsspec URL.

    `replay` (`mdfs filter`): the inputs are an annotated run's corpus parts, and each step
    takes its stored verdict or judges the stored scores again (`mdfs.pipeline.replayed`).
    `stored_inputs`: the inputs are documents as MDFS writes them, read with their meta.

    An output the file system refuses (a file, a read-only or full disk, /proc) is a
    one-line error; what finished stays for a rerun to resume. `command` is what the
    report says started the run (default: this process's arguments).
    When stderr is not a terminal, progress is logged every `progress_seconds`.
    """
    layout = Layout.for_output(output)
    if command is None:
        command = shlex.join([os.path.basename(sys.argv[0]), *sys.argv[1:]])
    try:
        fs = layout.fs
        if fs.exists(layout.root) and not fs.isdir(layout.root):
            raise UserError(f"--output {layout.output} is a file; give a folder")
        fs.makedirs(layout.root, exist_ok=True)
        with exclusive_output(fs, layout.root):
            if overwrite:
                discard_previous_run(fs, layout.root, inputs)
            job = ShardJob(recipe, layout, replay=replay, stored_inputs=stored_inputs)
            return _run(inputs, layout, job, engine, command, progress_seconds)
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        where = f": {error.filename}" if error.filename else ""
        raise UserError(
            f"cannot write the run to {layout.output} ({reason}{where}); "
            "fix that and run the same command again to resume"
        ) from None
    finally:
        layout.close()  # a URL output's scratch: what must survive a resume is under the URL


def _run(
    inputs: list[str], layout: Layout, job: ShardJob, engine: Engine, command: str,
    progress_seconds: float,
) -> dict[str, Any]:  # fmt: skip
    started_at, began = datetime.datetime.now(datetime.UTC), time.perf_counter()
    recipe, replay = job.recipe, job.replay
    fs = layout.fs
    input_errors = ShardResult(phase=0, shard="inputs")

    def on_error(kind: str, message: str) -> None:
        input_errors.errors[kind] += 1
        input_errors.error_examples.append(message)
        log.warning("%s", message)

    # a run's own output is never its input (an output folder inside an input folder)
    files = expand_inputs(inputs, on_error, exclude=None if is_url(layout.output) else layout.root)
    if not files:
        raise UserError(f"no input files found in {' '.join(inputs)}")
    if job.stored_inputs:  # a corpus part is a shard, as it was in the run that wrote it
        shards = {f"{index:05d}": [file] for index, file in enumerate(files)}
    else:
        shards = plan_shards(files, recipe.collect)
    manifest = orjson.dumps(
        {"recipe": recipe_fingerprint(recipe), "shards": shards, "replay": replay},
        option=orjson.OPT_SORT_KEYS,
    )
    digest = hashlib.sha256(manifest).hexdigest()
    manifest_path = layout.manifest
    if fs.exists(manifest_path):
        previous = orjson.loads(fs.cat_file(manifest_path)).get("digest")
        if previous != digest:
            raise UserError(
                f"{layout.output} holds a run with other inputs or another recipe; "
                "use a new --output, or --overwrite to start again"
            )
        log.info("resuming the run in %s", layout.output)
    layout.make()
    write_atomic_bytes(manifest_path, orjson.dumps({"digest": digest, "shards": shards}), fs)
    recipe_yaml = resolved_recipe(recipe)
    write_atomic_bytes(join(layout.root, "recipe.yaml"), recipe_yaml.encode("utf-8"), fs)

    started = time.perf_counter()
    results = run_phases(engine, job, shards, progress_seconds)
    global_figures = {
        basename(path).removesuffix(".done.json"): orjson.loads(fs.cat_file(path))
        for path in sorted(fs.glob(join(layout.work, "global", "*.done.json")))
    }
    report = build_report(
        [*results, input_errors],
        extra={
            "inputs": {"files": len(files), "shards": len(shards)},
            "global_steps": global_figures,
            "annotated": recipe.output.annotate,
            "tokens_counted_with": counted_with(recipe.output.tokenizer),
            "seconds": round(time.perf_counter() - started, 2),
            "run": {
                "mdfs_version": __version__,
                "command": command,
                "started": started_at.isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - began, 2),  # of this invocation
                "recipe": recipe_yaml,
            },
        },
    )
    report_json = orjson.dumps(report, option=orjson.OPT_INDENT_2)
    write_atomic_bytes(join(layout.root, "report.json"), report_json, fs)
    write_atomic_bytes(join(layout.root, "report.html"), render_html(report).encode("utf-8"), fs)
    return report


def run_phases(
    engine: Engine, job: ShardJob, shards: dict[str, list[str]], progress_seconds: float = 30.0
) -> list[ShardResult]:
    """Run every phase over every shard; returns the stats of all (phase, shard) pairs."""
    layout = job.layout
    results: dict[tuple[int, str], ShardResult] = {}
    live = progress.LiveCounts()
    progress.attach(live)  # shards run in this process count here; workers are handed it
    try:
        with engine.running(job):
            for phase in job.phases:
                todo = []
                for shard, files in shards.items():
                    finished = layout.finished(phase.index, shard)
                    if finished is None:
                        todo.append(ShardTask(phase.index, shard, files))
                    else:
                        results[phase.index, shard] = finished
                if todo:
                    expected = None  # documents; unknown until the first phase has read them
                    if phase.index > 0:
                        expected = sum(
                            output_documents(results[phase.index - 1, task.shard]) for task in todo
                        )
                    shown = progress.PhaseProgress(
                        phase.index, len(todo), expected, sum(map(task_bytes, todo)),
                        progress_seconds, live,
                    )  # fmt: skip
                    for result in run_phase(engine, job, phase, todo, len(shards), shown):
                        results[result.phase, result.shard] = result
                if phase.then is not None:
                    decide_global(engine, layout, phase.then, sorted(shards))
    finally:
        progress.attach(None)
    finish_run(layout, job.phases)
    return list(results.values())


def output_documents(result: ShardResult) -> int:
    """The documents a shard's phase handed on to the next one."""
    return result.steps[-1]["kept"] if result.steps else result.documents_in


def task_bytes(task: ShardTask) -> int:
    """The input bytes a task reads (0 after the first phase, which reads staged files)."""
    return sum(map(input_bytes, task.files)) if task.phase == 0 else 0


def run_phase(
    engine: Engine, job: ShardJob, phase: Phase, todo: list[ShardTask], total: int,
    shown: progress.PhaseProgress,
) -> list[ShardResult]:  # fmt: skip
    """Run one phase's unfinished shards; stop the run if any failed."""
    names = ", ".join(step.name for step in phase.steps)
    log.info("phase %d: %d of %d shards to run (%s)", phase.index, len(todo), total, names)
    results: list[ShardResult] = []
    failures: list[str] = []
    missing = {task.shard for task in todo}
    with shown.shown():
        for outcome in engine.run_tasks(job, todo):
            if outcome.task.shard not in missing:  # an engine's repeat must not count twice
                log.warning("shard %s: a second outcome, ignored", outcome.task.shard)
                continue
            missing.remove(outcome.task.shard)
            if outcome.result is not None:
                results.append(outcome.result)
                shown.finished(outcome.result.documents_in, task_bytes(outcome.task))
            else:
                failures.append(f"shard {outcome.task.shard}: {outcome.failure}")
    failures += [f"shard {shard}: the engine returned no outcome" for shard in sorted(missing)]
    raise_shard_failures(job.layout, phase.index, failures)
    return results


def decide_global(engine: Engine, layout: Layout, step: GlobalStep, shards: list[str]) -> None:
    """Run a global step's decide once, on the engine if it offers the step a distributed
    decide, else here; its done marker makes a resumed run skip it."""
    marker = layout.global_done(step)
    if layout.fs.exists(marker):
        return
    started = time.perf_counter()
    mirror = layout.global_files(step)
    before = mirror.snapshot()
    decision = engine.decide(step, shards, layout.global_location(step))
    where = "on the engine"
    if decision is None:
        where = "here"
        mirror.pull_all()  # this process decides from every shard's files
        before = mirror.snapshot()
        decision = step.decide(shards), []
    figures, written = decision
    mirror.push_decision(before, written, shards)
    write_atomic_bytes(marker, orjson.dumps(figures), layout.fs)
    log.info(
        "global step %s decided over %d shards %s in %.1fs",
        step.name, len(shards), where, time.perf_counter() - started,
    )  # fmt: skip


def raise_shard_failures(layout: Layout, phase: int, failures: list[str]) -> None:
    """After a phase: keep the finished shards, write what failed, tell the user to rerun."""
    if not failures:
        return
    log_path = join(layout.work, "failures.log")
    try:  # best effort: the disk that failed the shards may be full
        write_atomic_bytes(log_path, "\n\n".join(failures).encode("utf-8"), layout.fs)
        details = f"details in {layout.display(log_path)}"
    except OSError as error:
        details = f"no details written ({error.strerror or error})"
    first = failures[0].splitlines()[0]
    raise UserError(
        f"{len(failures)} shard(s) of phase {phase} failed ({first}); {details}. "
        "Finished shards are kept: run the same command again to resume."
    )


def finish_run(layout: Layout, phases: list[Phase]) -> None:
    """After the last phase: drop the staged phases, the failure log and dead attempts' files."""
    remove(layout.fs, join(layout.work, "failures.log"))
    for phase in phases[:-1]:
        remove(layout.fs, join(layout.work, f"stage-{phase.index}"), recursive=True)
    remove_stale_attempts(layout.fs, [layout.corpus, layout.removed, layout.work])


def summary_lines(report: dict[str, Any]) -> list[str]:
    annotated = report.get("annotated", False)
    what = "would remove (annotated: all kept)" if annotated else "top removal reasons"
    lines = [f"{'step':<20}{'in':>10}{'kept':>10}  {what}"]
    for step in report["steps"]:
        counts = Counter(step.get("flagged", {}) if annotated else step["removed"])
        reasons = ", ".join(f"{r} {c}" for r, c in counts.most_common(3))
        lines.append(f"{step['name']:<20}{step['in']:>10,}{step['kept']:>10,}  {reasons}")
    errors = sum(report["errors"].values())
    if annotated:
        lines.append(
            f"annotated: {report['documents_flagged']:,} documents would be removed "
            "(meta.removed_by, meta.reason); `mdfs filter` applies the verdicts"
        )
    lines.append(
        f"{report['documents_in']:,} documents in, {report['documents_kept']:,} kept; "
        f"{errors:,} unreadable records skipped"
        + (f" ({', '.join(f'{k} {v}' for k, v in report['errors'].items())})" if errors else "")
    )
    if skipped := report.get("skipped_inputs"):
        lines.append(f"{len(skipped):,} input files skipped (see skipped_inputs in report.json)")
    return lines
