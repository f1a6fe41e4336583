"""`mdfs dedup`: only the deduplication stages, over any inputs (e.g. a run's corpus)."""

from __future__ import annotations

import argparse
import sys

from mdfs.cli.run import add_run_arguments, run_recipe
from mdfs.errors import UserError

DEDUP_RECIPE = {"steps": [{"exact_dedup": {}}, {"near_dedup": {}}, {"paragraph_dedup": {}}]}


def register(subparsers: argparse._SubParsersAction) -> None:
    dedup = subparsers.add_parser(
        "dedup",
        help="remove exact, near and paragraph duplicates across inputs",
        description="Read INPUT files (a previous run's DIR/corpus, JSONL, parquet, txt, ...), "
        "remove exact duplicates, near-duplicates (MinHash LSH) and paragraphs repeated across "
        "documents, and write DIR/corpus, DIR/removed and the report, as `mdfs run` does. "
        "DIR then also holds a near-duplicate index that --reference can name later.",
    )
    add_run_arguments(dedup)
    dedup.add_argument(
        "--threshold", type=float, default=None,
        help="Jaccard similarity above which documents are near-duplicates (default 0.8)",
    )  # fmt: skip
    dedup.add_argument(
        "--reference", metavar="DIR", default=None,
        help="an earlier run's output folder: remove documents that near-duplicate its corpus",
    )  # fmt: skip
    dedup.add_argument(
        "--memory-budget-mb", type=int, default=None, metavar="MB",
        help="working memory of the near-duplicate clustering (default 1024)",
    )  # fmt: skip
    dedup.add_argument(
        "--recipe", metavar="FILE", help="YAML recipe (default: exact, near, paragraph dedup)"
    )
    dedup.set_defaults(func=dedup_command)


def dedup_recipe(
    path: str | None, threshold: float | None, reference: str | None, budget: int | None
):
    """The recipe to run, with the command line's settings applied to its near_dedup step."""
    from mdfs.recipe import load_recipe, parse_recipe

    recipe = load_recipe(path) if path else parse_recipe(DEDUP_RECIPE, origin="dedup recipe")
    overrides = {
        key: value
        for key, value in (
            ("threshold", threshold), ("reference_index", reference), ("memory_budget_mb", budget),
        )
        if value is not None
    }  # fmt: skip
    if not overrides:
        return recipe
    positions = [n for n, step in enumerate(recipe.steps) if step.name == "near_dedup"]
    if not positions:
        raise UserError("--threshold, --reference and --memory-budget-mb need a near_dedup step")
    if reference is not None:
        from mdfs.coarse.near_dedup import resolve_index

        overrides["reference_index"] = str(resolve_index(reference).resolve())
    position = positions[0]
    settings = recipe.steps[position].model_dump() | overrides
    data = {
        "collect": recipe.collect.model_dump(),
        "steps": [
            {step.name: settings if n == position else step.model_dump()}
            for n, step in enumerate(recipe.steps)
        ],
    }
    return parse_recipe(data, origin="dedup recipe")


def dedup_command(args: argparse.Namespace) -> int:
    run_recipe(
        args, dedup_recipe(args.recipe, args.threshold, args.reference, args.memory_budget_mb)
    )
    print(f"corpus: {args.output}/corpus  report: {args.output}/report.html", file=sys.stderr)
    return 0
