"""The `mdfs` command: argument parsing for every subcommand, and nothing else.

One top layer: each module here registers its subcommands and turns their arguments into
calls of the library (`mdfs.run.run_pipeline`, `mdfs.fine.training`, `mdfs.train.launch`…).
Modules import only `argparse` and light helpers at the top, and the library inside the
command functions, so `mdfs --help` loads neither numpy nor fsspec.
"""

from mdfs.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
