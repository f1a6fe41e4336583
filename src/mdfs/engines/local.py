"""The embedded engine: shards in parallel processes on one machine."""

from __future__ import annotations

import logging
import multiprocessing
import os
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from tqdm import tqdm

from mdfs.engines.shards import (
    bind_global_steps,
    decide_global,
    finish_run,
    raise_shard_failures,
    run_shard,
)
from mdfs.layout import Layout, Phase, ShardResult, plan_phases
from mdfs.recipe import Recipe

log = logging.getLogger(__name__)

# Set once per worker process by `_init_worker`: steps load their resources once per process.
_WORKER: dict[str, object] = {}


def _init_worker(recipe: Recipe, layout: Layout) -> None:
    phases = plan_phases(recipe.steps)
    bind_global_steps(layout, phases)
    _WORKER.update(recipe=recipe, layout=layout, phases=phases)


def _run_in_worker(phase: int, shard: str, files: list[str]) -> ShardResult:
    try:
        return run_shard(
            _WORKER["recipe"],
            _WORKER["phases"],
            _WORKER["layout"],
            phase,
            shard,
            files,  # type: ignore[arg-type]
        )
    except Exception as error:  # a bug in a step: report it with its traceback, keep the run
        raise ShardFailed(f"{type(error).__name__}: {error}\n{traceback.format_exc()}") from None


class ShardFailed(Exception):
    pass


class LocalEngine:
    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def run(
        self, recipe: Recipe, layout: Layout, shards: dict[str, list[str]]
    ) -> list[ShardResult]:
        """Run every phase over every shard; returns the stats of all (phase, shard) pairs."""
        phases = plan_phases(recipe.steps)
        _init_worker(recipe, layout)
        results: list[ShardResult] = []
        pool = None
        in_process = "memory" in layout.fs.protocol  # other processes would not see its files
        if in_process and self.workers > 1:
            log.warning(
                "%s is in this process's memory: shards run here, one at a time", layout.output
            )
        if self.workers > 1 and len(shards) > 1 and not in_process:
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker,
                initargs=(recipe, layout),
            )  # fmt: skip
        try:
            for phase in phases:
                results.extend(self._run_phase(phase, layout, shards, pool))
                if phase.then is not None:
                    decide_global(layout, phase.then, sorted(shards))
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        finish_run(layout, phases)
        return results

    def _run_phase(
        self, phase: Phase, layout: Layout, shards: dict[str, list[str]],
        pool: ProcessPoolExecutor | None,
    ) -> list[ShardResult]:  # fmt: skip
        results, todo = [], []
        for shard, files in shards.items():
            finished = layout.finished(phase.index, shard)
            if finished is not None:
                results.append(finished)
            else:
                todo.append((shard, files))
        names = ", ".join(step.name for step in phase.steps)
        progress = tqdm(
            total=len(shards), initial=len(results), unit="shard", desc=f"phase {phase.index}",
            disable=None, postfix={"steps": names},
        )  # fmt: skip
        failures: list[str] = []
        with progress:
            if pool is None:
                for shard, files in todo:
                    try:
                        results.append(_run_in_worker(phase.index, shard, files))
                    except ShardFailed as error:
                        failures.append(f"shard {shard}: {error}")
                    progress.update()
            else:
                pending: dict[Future[ShardResult], str] = {
                    pool.submit(_run_in_worker, phase.index, shard, files): shard
                    for shard, files in todo
                }
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        shard = pending.pop(future)
                        try:
                            results.append(future.result())
                        except ShardFailed as error:
                            failures.append(f"shard {shard}: {error}")
                        progress.update()
        raise_shard_failures(layout, phase.index, failures)
        return results
