"""`mdfs show`, `mdfs stats` and `mdfs sample`: look into a finished run."""

from __future__ import annotations

import argparse
from pathlib import Path

from mdfs.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    defaults = argparse.ArgumentDefaultsHelpFormatter
    show = subparsers.add_parser(
        "show", help="print removed (or kept) documents of a run with their scores",
        formatter_class=defaults,
    )  # fmt: skip
    show.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    show.add_argument("--step", help="only documents this step removed")
    show.add_argument("--reason", help="only documents removed for this reason")
    show.add_argument("--kept", action="store_true", help="kept documents instead of removed")
    show.add_argument("-n", type=int, default=10, help="how many")
    show.add_argument("--width", type=int, default=300, help="characters of text per document")
    show.set_defaults(func=show_command)

    stats = subparsers.add_parser(
        "stats", help="the funnel of a run per source, domain or meta field",
        formatter_class=defaults,
    )  # fmt: skip
    stats.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    stats.add_argument("--by", default="source", help="source, domain or meta.FIELD")
    stats.add_argument("--top", type=int, default=50, help="groups to print, largest first")
    stats.set_defaults(func=stats_command)

    sample = subparsers.add_parser(
        "sample", help="a reproducible sample of a run's documents as JSONL, for reading or labelling",
        formatter_class=defaults,
    )  # fmt: skip
    sample.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    sample.add_argument("-n", type=int, required=True, help="how many documents")
    sample.add_argument("--output", "-o", type=Path, required=True, help="JSONL file to write")
    sample.add_argument("--from", dest="which", choices=("kept", "removed", "both"), default="both")
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(func=sample_command)


def _positive(n: int) -> int:
    if n < 1:
        raise UserError(f"-n must be at least 1, not {n}")
    return n


def show_command(args: argparse.Namespace) -> int:
    from mdfs.report import inspect

    found = inspect.examples(args.run_dir, args.step, args.reason, args.kept, _positive(args.n))
    for record in found:
        print(inspect.format_example(record, args.width))
    if not found:
        print("no documents match")
    return 0


def stats_command(args: argparse.Namespace) -> int:
    from mdfs.report import inspect

    print(inspect.format_funnel(inspect.funnel_by(args.run_dir, args.by), args.top))
    return 0


def sample_command(args: argparse.Namespace) -> int:
    import orjson

    from mdfs.report import inspect

    chosen = inspect.sample(args.run_dir, _positive(args.n), args.which, args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("wb") as out:
        for record in chosen:
            out.write(orjson.dumps({"status": inspect.status(record), **record}) + b"\n")
    print(f"{len(chosen)} documents written to {args.output}")
    return 0
