"""`mdfs run` and `mdfs steps`, and what every command that runs a recipe shares: its
arguments (inputs, output, workers, engine), the engine they name, the run and its summary."""

from __future__ import annotations

import argparse
import os
import sys
from typing import IO, TYPE_CHECKING

from mdfs.errors import UserError

if TYPE_CHECKING:  # the pipeline stays out of `mdfs --help`
    from mdfs.recipe import Recipe
    from mdfs.tasks import Engine


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="collect and filter raw sources into a corpus",
        description="Read INPUT files (WARC/WET, HTML, JSONL, parquet, CSV, txt, ...; files, "
        "directories or globs), run the recipe's steps and write DIR/corpus, DIR/removed and the report. "
        "Re-running the same command resumes an interrupted run.",
    )
    add_run_arguments(run)
    run.add_argument("--recipe", metavar="FILE", help="YAML recipe (default: recipes/default.yaml)")
    add_output_arguments(run)
    run.set_defaults(func=run_command)

    steps = subparsers.add_parser(
        "steps", help="list the steps a recipe can use: stage, default recipe or not, parameters"
    )
    steps.set_defaults(func=steps_command)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """INPUT..., --output, --workers, --overwrite and the engine: one set for every command
    that runs a recipe (`run`, `dedup`, `classify`)."""
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="files, folders, globs; a run's output folder stands for its corpus/",
    )  # fmt: skip
    parser.add_argument(
        "--output", "-o", required=True, metavar="DIR",
        help="output folder: a local path or an fsspec URL (s3://…)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=None, help="parallel processes (default: all cores)"
    )
    parser.add_argument("--overwrite", action="store_true", help="discard a previous run in DIR")
    parser.add_argument(
        "--text-field", metavar="NAME", default=None,
        help="JSONL/parquet/CSV field holding the text (default: the recipe's "
        "collect.text_field, 'text'); every other field is kept in meta",
    )  # fmt: skip
    parser.add_argument(
        "--id-field", metavar="NAME", default=None,
        help="field holding the document id (default: the recipe's collect.id_field, 'id'; "
        "without one: FILE#LINE)",
    )  # fmt: skip
    parser.add_argument(
        "--progress-every", type=float, default=30.0, metavar="SECONDS",
        help="when stderr is not a terminal, log progress this often (default: 30)",
    )  # fmt: skip
    parser.add_argument(
        "--engine", choices=["local", "spark"], default="local", help="where shards run"
    )
    parser.add_argument(
        "--master", default=None,
        help="Spark master URL (--engine spark; default local[*], or spark-submit's)",
    )  # fmt: skip
    parser.add_argument(
        "--spark-conf", action="append", default=[], metavar="KEY=VALUE",
        help="Spark setting, repeatable (--engine spark)",
    )  # fmt: skip


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """What the run writes, over the recipe's `output:` section."""
    parser.add_argument(
        "--annotate", action="store_true", default=None,
        help="remove nothing: keep every document with each step's verdict and scores in meta "
        "(removed_by, reason, verdicts); `mdfs filter` applies them later",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=["jsonl", "parquet"], default=None,
        help="corpus files: gzip JSON lines or Parquet (default: the recipe's, else jsonl)",
    )  # fmt: skip
    parser.add_argument(
        "--tokenizer", metavar="PATH", default=None,
        help="tokenizer.json (or its folder) for the report's token counts (default: the "
        "recipe's, else an estimate from the characters)",
    )  # fmt: skip
    parser.add_argument(
        "--plugins", action="append", default=[], metavar="MODULE",
        help="import MODULE (repeatable) so the recipe can use the steps it registers",
    )  # fmt: skip


def with_output_arguments(recipe: Recipe, args: argparse.Namespace) -> Recipe:
    """The recipe with the command line's output settings in place of its own."""
    given = {"annotate": args.annotate, "format": args.format, "tokenizer": args.tokenizer}
    changes = {key: value for key, value in given.items() if value is not None}
    output = recipe.output.model_copy(update=changes)
    return recipe.model_copy(update={"output": output})


def make_engine(args: argparse.Namespace) -> Engine:
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    if args.engine == "spark":
        from mdfs.engines.spark import SparkEngine

        return SparkEngine(master=args.master, conf=args.spark_conf, workers=args.workers)
    from mdfs.engines.local import LocalEngine

    return LocalEngine(workers=args.workers or os.cpu_count())


def run_recipe(
    args: argparse.Namespace, recipe: Recipe, summary: IO[str] | None = None,
    replay: dict[str, bool] | None = None,
) -> dict:  # fmt: skip
    """Run `recipe` as the arguments say; print the funnel (to stdout unless `summary`).
    `replay`: filter an annotated run's documents (`mdfs filter`)."""
    from mdfs.run import run_pipeline, summary_lines

    if not args.output.strip():
        raise UserError("--output is empty; name the folder (or URL) to write the run to")
    engine = make_engine(args)
    if args.progress_every <= 0:
        raise UserError("--progress-every must be positive")
    recipe = with_fields(recipe, args.text_field, args.id_field)
    report = run_pipeline(
        args.inputs, args.output, recipe, engine, overwrite=args.overwrite,
        progress_seconds=args.progress_every, replay=replay,
    )  # fmt: skip
    for line in summary_lines(report):
        print(line, file=summary or sys.stdout)
    if report["documents_in"] == 0:
        raise UserError(nothing_read(report, args.output))
    return report


def with_fields(recipe: Recipe, text_field: str | None, id_field: str | None) -> Recipe:
    """The recipe with the command line's --text-field and --id-field in its collect section."""
    names = {"text_field": text_field, "id_field": id_field}
    changes = {key: value for key, value in names.items() if value is not None}
    for key, value in changes.items():
        if not value.strip():
            raise UserError(f"--{key.replace('_', '-')} is empty; name the field")
    if not changes:
        return recipe
    return recipe.model_copy(update={"collect": recipe.collect.model_copy(update=changes)})


def nothing_read(report: dict, output: str) -> str:
    """One line for a run that read no document at all, with the commonest reason."""
    skipped = report.get("skipped_inputs", {})
    first = next(iter(skipped.values()), None) or next(iter(report["error_examples"]), None)
    errors = ", ".join(f"{kind} {count}" for kind, count in report["errors"].items())
    why = f" ({errors}); first: {first}" if first else ""
    return f"no document was read from the inputs{why}; see {output}/report.json"


def run_command(args: argparse.Namespace) -> int:
    from mdfs.recipe import load_recipe

    recipe = load_recipe(args.recipe, plugins=args.plugins)
    run_recipe(args, with_output_arguments(recipe, args))
    print(f"corpus: {args.output}/corpus  report: {args.output}/report.html", file=sys.stderr)
    return 0


def steps_command(args: argparse.Namespace) -> int:
    from pydantic_core import PydanticUndefined

    from mdfs.recipe import STAGES, load_recipe, load_step_modules, stage_of

    in_default = [step.name for step in load_recipe().steps]

    def order(item: tuple[str, type]) -> tuple[int, int, str]:
        name, cls = item
        position = in_default.index(name) if name in in_default else len(in_default)
        return STAGES.index(stage_of(cls)), position, name

    for name, cls in sorted(load_step_modules().items(), key=order):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        stage = stage_of(cls)
        used = "default recipe" if name in in_default else "not in the default recipe"
        print(f"{name:<20} [{stage}; {used}] {doc}")
        for field_name, field in cls.model_fields.items():
            default = field.get_default(call_default_factory=True)
            shown = "(required)" if default is PydanticUndefined else repr(default)
            print(f"    {field_name} = {shown}")
    return 0
