"""Core subcommands: `mdfs run` and `mdfs steps`."""

from __future__ import annotations

import argparse
import os
import sys

from mdfs.engines.spark import add_spark_arguments
from mdfs.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="collect and filter raw sources into a corpus",
        description="Read INPUT files (WARC/WET, HTML, JSONL, parquet, txt; files, directories "
        "or globs), run the recipe's steps and write DIR/corpus, DIR/removed and the report. "
        "Re-running the same command resumes an interrupted run.",
    )
    run.add_argument("inputs", nargs="+", metavar="INPUT")
    run.add_argument("--output", "-o", required=True, metavar="DIR")
    run.add_argument("--recipe", metavar="FILE", help="YAML recipe (default: recipes/default.yaml)")
    run.add_argument(
        "--workers", type=int, default=None, help="parallel processes (default: all cores)"
    )
    run.add_argument("--overwrite", action="store_true", help="discard a previous run in DIR")
    add_spark_arguments(run)
    run.set_defaults(func=run_command)

    steps = subparsers.add_parser("steps", help="list the steps a recipe can use")
    steps.set_defaults(func=steps_command)


def make_engine(args: argparse.Namespace):
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    if args.engine == "spark":
        try:
            from mdfs.engines.spark import SparkEngine
        except ImportError as error:
            raise UserError(
                f"--engine spark needs PySpark: pip install 'mdfs[spark]' ({error})"
            ) from None
        return SparkEngine(master=args.master, conf=args.spark_conf, workers=args.workers)
    from mdfs.engines.local import LocalEngine

    return LocalEngine(workers=args.workers or os.cpu_count())


def run_command(args: argparse.Namespace) -> int:
    from mdfs.recipe import load_recipe
    from mdfs.run import run_pipeline, summary_lines

    if not args.output.strip():
        raise UserError("--output is empty; name the folder (or URL) to write the run to")
    recipe = load_recipe(args.recipe)
    engine = make_engine(args)
    report = run_pipeline(args.inputs, args.output, recipe, engine, overwrite=args.overwrite)
    for line in summary_lines(report):
        print(line)
    print(f"corpus: {args.output}/corpus  report: {args.output}/report.html", file=sys.stderr)
    return 0


def steps_command(args: argparse.Namespace) -> int:
    from pydantic_core import PydanticUndefined

    from mdfs.recipe import load_step_modules

    for name, cls in sorted(load_step_modules().items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{name:<16} {doc}")
        for field_name, field in cls.model_fields.items():
            default = field.get_default(call_default_factory=True)
            shown = "(required)" if default is PydanticUndefined else repr(default)
            print(f"    {field_name} = {shown}")
    return 0
