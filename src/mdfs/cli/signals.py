"""Commands that build the fine filter's signal models: the fluency n-gram and the combiner."""

from __future__ import annotations

import argparse
from pathlib import Path

from mdfs.cli.fine import _data_dir
from mdfs.errors import UserError

# the sources of the hand-labelled dev set, never trained on (present in a source checkout)
RESERVED_SOURCES = (
    Path(__file__).resolve().parents[3] / "benchmarks" / "data" / "fine_dev" / "sources.txt"
)


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

    combiner = subparsers.add_parser(
        "train-combiner",
        help="fit the fine filter's combiner (all signals -> high/low/ad) and its threshold",
        description="Score labelled documents with every fine-filter signal (fluency, lexical, "
        "URL, the BERT classifier), fit a logistic regression on 70 % of them and choose the "
        "keep threshold on the other 30 %, balancing kept-good against good-kept. Without --labelled, the "
        "documents are the dev side of the labelled set built from ../shared/data.",
    )
    combiner.add_argument(
        "--labelled", help="JSONL {text, label[, unit, split, group, url]} (build-training-set)"
    )
    combiner.add_argument("--data-dir", help="the shared data folder (default ../shared/data)")
    combiner.add_argument(
        "--exclude-sources",
        default=str(RESERVED_SOURCES),
        help="file of ../shared/data paths never trained on (default: the fine dev set's)",
    )
    combiner.add_argument(
        "--output",
        help="JSON to write (default: the shipped combiner); a second file, NAME-no-classifier"
        ".json, is fitted without the classifier's features",
    )
    combiner.add_argument(
        "--good-share",
        type=float,
        default=None,
        help="share of good text in the input the threshold is chosen for (default: a third)",
    )
    combiner.add_argument("--model", help="classifier model (default: the shipped one)")
    combiner.add_argument("--backend", choices=("bert", "fasttext"), default="bert")
    combiner.add_argument(
        "--no-classifier",
        action="store_true",
        help="fit only the combiner without the classifier (NAME-no-classifier.json)",
    )
    combiner.set_defaults(func=train_combiner_command)


def train_fluency_model_command(args: argparse.Namespace) -> int:
    from mdfs.fine.fluency import DEFAULT_FLUENCY_MODEL, train_fluency_model

    output = Path(args.output) if args.output else DEFAULT_FLUENCY_MODEL
    model = train_fluency_model(_data_dir(args.data_dir), output, args.order)
    sizes = ", ".join(f"{len(o.keys):,}" for o in model.orders)
    print(f"wrote {output}: {model.vocab_size:,} characters, n-grams of order 2.. {sizes}")
    return 0


def train_combiner_command(args: argparse.Namespace) -> int:
    from mdfs.document import Document
    from mdfs.fine.combiner import DEFAULT_COMBINER
    from mdfs.fine.combiner_training import (
        GOOD_SHARE,
        fit_combiner,
        read_labelled_documents,
        read_reserved_sources,
        score_signals,
        signal_steps,
        training_documents,
    )

    good_share = GOOD_SHARE if args.good_share is None else args.good_share
    if not 0 < good_share < 1:
        raise UserError("--good-share must be between 0 and 1")
    if args.labelled:
        labelled = read_labelled_documents(Path(args.labelled))
    else:
        reserved = read_reserved_sources(Path(args.exclude_sources))
        labelled = training_documents(_data_dir(args.data_dir), reserved)
    if len({d.label for d in labelled}) < 2:
        raise UserError("the labelled documents need at least two classes")
    output = Path(args.output) if args.output else DEFAULT_COMBINER
    fits = [(output.with_name(f"{output.stem}-no-classifier.json"), signal_steps(bert=False))]
    if not args.no_classifier:  # the classifier cuts segments first, as in the default recipe
        fits.append((output, signal_steps(True, args.model, args.backend)))
    for path, steps in fits:
        documents = [Document(str(i), d.text, "labelled", d.url) for i, d in enumerate(labelled)]
        for document, item in zip(score_signals(documents, steps), labelled, strict=True):
            item.meta = document.meta
        combiner = fit_combiner(labelled, good_share)
        combiner.save(path)
        print(
            f"\n{path.name}: {combiner.about['fitted_on']}; keep at {combiner.high_threshold:.3f}"
        )
        _print_figures(combiner.about["threshold_split_figures"])
        print(f"wrote {path}")
    return 0


def _print_figures(figures: dict) -> None:
    print(f"{'':<8}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
    for label in ("high", "low", "ad"):
        f = figures[label]
        row = f"{f['precision']:>10.3f}{f['recall']:>8.3f}{f['f1']:>8.3f}{f['support']:>9}"
        print(f"{label:<8}{row}")
    print(f"macro-F1 {figures['macro']['f1']:.3f}")
