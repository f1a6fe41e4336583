"""The embedded engine: shards in parallel processes on one machine."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

import orjson
from tqdm import tqdm

from mdfs.engines.shards import (
    Layout,
    Phase,
    ShardResult,
    plan_phases,
    raise_shard_failures,
    run_shard,
    write_atomic_bytes,
)
from mdfs.recipe import Recipe

log = logging.getLogger(__name__)

# Set once per worker process by `_init_worker`: steps load their resources once per process.
_WORKER: dict[str, object] = {}


def _init_worker(recipe: Recipe, layout: Layout) -> None:
    phases = plan_phases(recipe.steps)
    for phase in phases:
        if phase.then is not None:
            phase.then.bind(layout.global_dir(phase.then))
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
        if self.workers > 1 and len(shards) > 1:
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker,
                initargs=(recipe, layout),
            )  # fmt: skip
        try:
            for phase in phases:
                results.extend(self._run_phase(phase, layout, shards, pool))
                if phase.then is not None:
                    self._decide(phase, layout, list(shards))
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        (layout.work / "failures.log").unlink(missing_ok=True)
        for phase in phases[:-1]:
            shutil.rmtree(layout.work / f"stage-{phase.index}", ignore_errors=True)
        return results

    def _run_phase(
        self, phase: Phase, layout: Layout, shards: dict[str, list[str]],
        pool: ProcessPoolExecutor | None,
    ) -> list[ShardResult]:  # fmt: skip
        results, todo = [], []
        for shard, files in shards.items():
            marker = layout.stats(phase.index, shard)
            if marker.exists():
                results.append(ShardResult.from_json(marker.read_bytes()))
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

    def _decide(self, phase: Phase, layout: Layout, shards: list[str]) -> None:
        step = phase.then
        assert step is not None
        marker = layout.global_done(step)
        if marker.exists():
            return
        log.info("global step %s: deciding over %d shards", step.name, len(shards))
        figures = step.decide(sorted(shards))
        write_atomic_bytes(marker, orjson.dumps(figures))
