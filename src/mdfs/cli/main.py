"""The `mdfs` parser and dispatch; the subcommands are registered by the modules beside this."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from mdfs.errors import UserError
from mdfs.version import __version__

# Each module has `register(subparsers)`, which adds subcommands whose `func(args) -> int` runs them.
COMMAND_MODULES = [
    "mdfs.cli.run",
    "mdfs.cli.filter",
    "mdfs.cli.dedup",
    "mdfs.cli.fine",
    "mdfs.cli.signals",
    "mdfs.cli.train",
    "mdfs.cli.eval",
    "mdfs.cli.review",
    "mdfs.cli.report",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mdfs",
        description="MDFS: collect, coarse-filter and fine-filter Chinese web data into a "
        "pretraining corpus; train and evaluate proxy models on it.",
    )
    parser.add_argument("--version", action="version", version=f"mdfs {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    _show_defaults(parser)
    return parser


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's default in `--help` (unless its help already names it, or there is
    none to name); descriptions keep their own line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or _unset(action.default) or "default" in text:
            return action.help
        return f"{text} (default: %(default)s)"


def _unset(default: object) -> bool:
    return default is None or default is False or default == [] or default == argparse.SUPPRESS


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if action.help is None and action.option_strings and not _unset(action.default):
            action.help = "(default: %(default)s)"  # argparse prints nothing for no help
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                subparser.formatter_class = HelpFormatter
                _show_defaults(subparser)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        print(f"mdfs {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"mdfs {args.command}: interrupted; run the same command again to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
