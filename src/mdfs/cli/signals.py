"""Commands that build the fine filter's signal models: the fluency n-gram and the combiner."""

from __future__ import annotations

import argparse
from pathlib import Path

from mdfs.cli.fine import _data_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    fluency = subparsers.add_parser(
        "train-fluency-model",
        help="train the character n-gram model of the fluency step from ../shared/data",
        description="Train the character n-gram (Kneser-Ney) model of clean Chinese that the "
        "`fluency` step scores perplexity with (People's Daily + Wikipedia; seconds).",
    )
    fluency.add_argument("--data-dir", help="the shared data folder (default ../shared/data)")
    fluency.add_argument("--output", help=".npz to write (default: the shipped model's path)")
    fluency.add_argument("--order", type=int, default=3, help="n-gram order (default 3)")
    fluency.set_defaults(func=train_fluency_model_command)


def train_fluency_model_command(args: argparse.Namespace) -> int:
    from mdfs.fine.fluency import DEFAULT_FLUENCY_MODEL, train_fluency_model

    output = Path(args.output) if args.output else DEFAULT_FLUENCY_MODEL
    model = train_fluency_model(_data_dir(args.data_dir), output, args.order)
    sizes = ", ".join(f"{len(o.keys):,}" for o in model.orders)
    print(f"wrote {output}: {model.vocab_size:,} characters, n-grams of order 2.. {sizes}")
    return 0
