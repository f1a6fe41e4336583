"""`mdfs filter`: apply an annotated run's verdicts, or new thresholds on its stored scores."""

from __future__ import annotations

import argparse
import sys

from mdfs.cli.run import run_recipe


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "filter",
        help="filter an annotated run (`mdfs run --annotate`) from its stored verdicts and "
        "scores, with new thresholds, without running a model",
        description="Write a normal run folder (corpus, removed, report) from RUN_DIR, a run "
        "made with --annotate. Each step keeps the verdict it stored, or, where --recipe or "
        "--set changes its thresholds, judges its stored scores again. A change that needs "
        "new scores (a model, a word list, the text) is refused: run `mdfs run` for it.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="an annotated `mdfs run` output")
    parser.add_argument("--output", "-o", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--recipe", metavar="FILE",
        help="the annotated run's recipe with other thresholds (default: RUN_DIR/recipe.yaml)",
    )  # fmt: skip
    parser.add_argument(
        "--set", action="append", default=[], dest="settings", metavar="STEP.PARAM=VALUE",
        help="change one step setting (repeatable), e.g. fine_decision.high_threshold=0.9",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=["jsonl", "parquet"], default=None,
        help="corpus files (default: the annotated run's)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=None, help="parallel processes (default: all cores)"
    )
    parser.add_argument("--overwrite", action="store_true", help="discard a previous run in DIR")
    parser.set_defaults(func=filter_command)


def filter_command(args: argparse.Namespace) -> int:
    import orjson

    from mdfs.recipe import load_recipe
    from mdfs.replay import annotated_run, plan_replay, stale_duplicates, with_settings
    from mdfs.storage import join, write_atomic_bytes

    annotated, parts = annotated_run(args.run_dir)
    recipe = load_recipe(args.recipe) if args.recipe else annotated
    recipe = with_settings(recipe, args.settings)
    output = recipe.output.model_copy(
        update={"annotate": False, "format": args.format or recipe.output.format}
    )
    recipe = recipe.model_copy(update={"output": output})
    replay = plan_replay(annotated, recipe)
    # the shared run arguments, as a local run of the parts
    args.inputs, args.engine, args.progress_every = parts, "local", 30.0
    args.text_field = args.id_field = None  # the parts are documents, read with their meta
    report = run_recipe(args, recipe, replay=replay)
    stale = stale_duplicates(args.output, replay)
    if stale:
        report["stale_duplicates"] = {"documents": len(stale), "examples": stale[:10]}
        write_atomic_bytes(
            join(args.output, "report.json"), orjson.dumps(report, option=orjson.OPT_INDENT_2)
        )
        print(
            f"warning: {len(stale)} documents were removed as duplicates of one that a new "
            "threshold removed; a normal run with these thresholds keeps one of each "
            f"(e.g. {stale[0]}; report.json: stale_duplicates)",
            file=sys.stderr,
        )
    judged = [name for name, again in replay.items() if again]
    print(
        f"re-judged from stored scores: {', '.join(judged) or 'none'}; every other step kept "
        f"its stored verdicts. corpus: {args.output}/corpus  report: {args.output}/report.html",
        file=sys.stderr,
    )
    return 0
