"""`mdfs run`: inputs → shards → phases on an engine → corpus, removed, report."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from typing import Any, Protocol

import orjson

from mdfs.collect.readers import expand_inputs, shard_inputs
from mdfs.errors import UserError
from mdfs.layout import Layout, ShardResult
from mdfs.recipe import Recipe
from mdfs.report.build import build_report
from mdfs.report.html import render_html
from mdfs.storage import basename, join, remove, write_atomic_bytes

log = logging.getLogger(__name__)


class Engine(Protocol):
    def run(
        self, recipe: Recipe, layout: Layout, shards: dict[str, list[str]]
    ) -> list[ShardResult]: ...


def recipe_fingerprint(recipe: Recipe) -> list[dict[str, Any]]:
    return [{step.name: step.model_dump(mode="json")} for step in recipe.steps] + [
        {"collect": recipe.collect.model_dump(mode="json")}
    ]


def run_pipeline(
    inputs: list[str], output: str | os.PathLike[str], recipe: Recipe, engine: Engine,
    overwrite: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Run `recipe` over `inputs` into `output`, a local folder or an fsspec URL."""
    layout = Layout.for_output(output)
    try:
        return _run(inputs, layout, recipe, engine, overwrite)
    finally:
        layout.close()  # a URL output's scratch: what must survive a resume is under the URL


def _run(
    inputs: list[str], layout: Layout, recipe: Recipe, engine: Engine, overwrite: bool
) -> dict[str, Any]:
    fs = layout.fs
    if overwrite:
        remove(fs, layout.root, recursive=True)
    input_errors = ShardResult(phase=0, shard="inputs")

    def on_error(kind: str, message: str) -> None:
        input_errors.errors[kind] += 1
        input_errors.error_examples.append(message)
        log.warning("%s", message)

    files = expand_inputs(inputs, on_error)
    if not files:
        raise UserError(f"no input files found in {' '.join(inputs)}")
    shards = {
        f"{index:05d}": group
        for index, group in enumerate(
            shard_inputs(files, recipe.collect.shard_max_bytes, recipe.collect.shard_max_files)
        )
    }
    manifest = orjson.dumps(
        {"recipe": recipe_fingerprint(recipe), "shards": shards}, option=orjson.OPT_SORT_KEYS
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

    started = time.perf_counter()
    results = engine.run(recipe, layout, shards)
    global_figures = {
        basename(path).removesuffix(".done.json"): orjson.loads(fs.cat_file(path))
        for path in sorted(fs.glob(join(layout.work, "global", "*.done.json")))
    }
    report = build_report(
        [*results, input_errors],
        extra={
            "inputs": {"files": len(files), "shards": len(shards)},
            "global_steps": global_figures,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
    report_json = orjson.dumps(report, option=orjson.OPT_INDENT_2)
    write_atomic_bytes(join(layout.root, "report.json"), report_json, fs)
    write_atomic_bytes(join(layout.root, "report.html"), render_html(report).encode("utf-8"), fs)
    return report


def summary_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"{'step':<20}{'in':>10}{'kept':>10}  top removal reasons"]
    for step in report["steps"]:
        reasons = ", ".join(f"{r} {c}" for r, c in Counter(step["removed"]).most_common(3))
        lines.append(f"{step['name']:<20}{step['in']:>10,}{step['kept']:>10,}  {reasons}")
    errors = sum(report["errors"].values())
    lines.append(
        f"{report['documents_in']:,} documents in, {report['documents_kept']:,} kept; "
        f"{errors:,} unreadable records skipped"
        + (f" ({', '.join(f'{k} {v}' for k, v in report['errors'].items())})" if errors else "")
    )
    return lines
