"""`mdfs filter`: an annotated run's documents, filtered again from the verdicts and scores
it stored, into a normal run folder, without loading a model or running a step.

Per step, the new recipe either leaves the step's settings as the annotated run had them
(its stored verdict stands), or changes only fields the step's `judge` reads (its
`thresholds`): the step judges the stored scores again. Any other change would need new
scores, and is refused with a one-line message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from mdfs.errors import UserError
from mdfs.layout import part_files
from mdfs.pipeline import Step
from mdfs.recipe import Recipe, load_recipe
from mdfs.storage import filesystem

RECIPE_FILE = "recipe.yaml"


def annotated_run(run_dir: str | os.PathLike[str]) -> tuple[Recipe, list[str]]:
    """The recipe an annotated run ran with, and its corpus parts in order."""
    root = Path(run_dir)
    report = root / "report.json"
    if not report.is_file() or not (root / RECIPE_FILE).is_file():
        raise UserError(f"{run_dir} is not a finished `mdfs run` output (no report.json)")
    if not orjson.loads(report.read_bytes()).get("annotated"):
        raise UserError(
            f"{run_dir} is not an annotated run: its documents hold no verdicts to apply; "
            "run `mdfs run ... --annotate` first"
        )
    recipe = load_recipe(root / RECIPE_FILE)
    return recipe, part_files(filesystem(root)[0], str(root / "corpus"))


def with_settings(recipe: Recipe, settings: list[str]) -> Recipe:
    """The recipe with `STEP.PARAM=VALUE` settings (VALUE read as YAML) in place."""
    steps = list(recipe.steps)
    names = [step.name for step in steps]
    for setting in settings:
        where, equals, raw = setting.partition("=")
        step_name, dot, param = where.strip().partition(".")
        if not equals or not dot or not param:
            raise UserError(f"--set {setting}: write STEP.PARAM=VALUE, e.g. language.min_score=0.8")
        if step_name not in names:
            raise UserError(f"--set {setting}: no step {step_name!r} (steps: {', '.join(names)})")
        index = names.index(step_name)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise UserError(f"--set {setting}: {raw!r} is not a value") from None
        step = steps[index]
        if param not in type(step).model_fields:
            known = ", ".join(type(step).model_fields)
            raise UserError(f"--set {setting}: {step_name} has no {param!r} (has: {known})")
        params: dict[str, Any] = {**step.model_dump(), param: value}
        try:
            steps[index] = type(step).model_validate(params)
        except ValidationError as error:
            message = error.errors()[0]["msg"]
            raise UserError(f"--set {setting}: {message}") from None
    return recipe.model_copy(update={"steps": steps})


def plan_replay(annotated: Recipe, new: Recipe) -> dict[str, bool]:
    """Per step name: True to judge the stored scores again, False to keep the stored
    verdict. Refuses a recipe whose steps differ or that changes more than thresholds."""
    before = [step.name for step in annotated.steps]
    after = [step.name for step in new.steps]
    if before != after:
        raise UserError(
            "the recipe must have the annotated run's steps, in its order "
            f"({', '.join(before)}); got {', '.join(after)}"
        )
    plan = {}
    for old, step in zip(annotated.steps, new.steps, strict=True):
        changed = _changed_fields(old, step)
        beyond = sorted(changed - type(step).thresholds)
        if beyond:
            raise UserError(
                f"{step.name}.{beyond[0]} changes what the step computes, not a threshold "
                "on its stored scores; run `mdfs run` with it instead"
                + (
                    f" (thresholds: {', '.join(sorted(step.thresholds))})"
                    if step.thresholds
                    else ""
                )
            )
        plan[step.name] = bool(changed)
    return plan


def _changed_fields(old: Step, new: Step) -> set[str]:
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    return {name for name in after if before.get(name) != after[name]}


def stale_duplicates(output: str | os.PathLike[str], plan: dict[str, bool]) -> list[str]:
    """The ids a filtered run removed as duplicates of a document it removed on a threshold
    judged again: a normal run with these thresholds would have kept one of each such group
    (deduplication decided among the documents the annotated run's thresholds kept)."""
    from mdfs.layout import read_records

    folder = Path(output) / "removed"
    fs = filesystem(folder)[0]
    records = [r for p in sorted(folder.glob("*.jsonl.gz")) for r in read_records(fs, str(p))]
    judged_out = {r["id"] for r in records if plan.get(r["removed_by"])}
    return [
        r["id"]
        for r in records
        if not plan.get(r["removed_by"]) and r["meta"].get("duplicate_of") in judged_out
    ]
