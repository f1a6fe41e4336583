"""Fine-filter commands: build the labelled set, train, distil, classify, rebuild the default.

torch and transformers are imported inside the functions so `mdfs --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mdfs.cli.run import add_run_arguments, run_recipe
from mdfs.errors import UserError
from mdfs.shared import SHARED_ENV, shared_folder

if TYPE_CHECKING:  # the pipeline's modules stay out of `mdfs --help`
    from mdfs.layout import Layout
    from mdfs.recipe import Recipe


def _data_dir(value: str | None) -> Path:
    path = Path(value) if value else shared_folder() / "data"
    if not path.is_dir():
        raise UserError(f"data folder {path} does not exist (pass --data-dir, or set {SHARED_ENV})")
    return path


def register(subparsers: argparse._SubParsersAction) -> None:
    build = subparsers.add_parser(
        "build-training-set",
        help="assemble the labelled high/low/ad set from ../shared/data",
        description="Write the fine filter's labelled set as JSON lines {text, label, source, "
        "unit (document|segment), group, split (train|dev)} assembled from ../shared/data: "
        "real text, real web junk, junk made from real text the way spammers make it, and "
        "real ads (see mdfs.fine.labelled). Same data and seed: the same bytes.",
    )
    build.add_argument("--output", required=True, help="JSONL file to write")
    build.add_argument(
        "--data-dir", help="the shared data folder (default: data/ in $MDFS_SHARED or ../shared)"
    )
    build.add_argument("--seed", type=int, default=13)
    _add_exclusions(build)
    build.set_defaults(func=build_training_set_command)

    train = subparsers.add_parser(
        "train-classifier",
        help="train the BERT quality classifier; prints per-class P/R/F1 on the dev split",
    )
    train.add_argument("--data", required=True, help='JSONL lines {"text", "label"}')
    train.add_argument("--output", required=True, help="model directory to write")
    train.add_argument(
        "--base-model",
        help="pretrained checkpoint name or path (e.g. bert-base-chinese); "
        "default: pretrain a tiny encoder here with masked LM",
    )
    train.add_argument("--vocab", help="WordPiece vocab for the tiny encoder")
    train.add_argument("--pretrain-steps", type=int, help="masked-LM steps (default 2000)")
    train.add_argument("--epochs", type=float, help="fine-tuning epochs (default 2)")
    train.add_argument("--max-per-class", type=int, help="training examples per class")
    train.add_argument("--threads", type=int, help="torch threads (default 1; 0 = all cores)")
    train.set_defaults(func=train_classifier_command)

    distill = subparsers.add_parser(
        "distill-fasttext", help="train a fastText classifier on the BERT model's labels"
    )
    distill.add_argument("--model", help="BERT model dir (default: the shipped one)")
    distill.add_argument("--data", required=True, help="JSONL lines with a 'text' field")
    distill.add_argument("--output", required=True, help=".bin file to write")
    distill.add_argument(
        "--max-texts", type=int, help="distil on this many texts drawn at random (seed 13)"
    )
    distill.add_argument(
        "--own-labels",
        action="store_true",
        help="learn the labelled set's own labels instead of the BERT model's",
    )
    distill.add_argument("--epochs", type=int, default=25, help="fastText epochs")
    distill.set_defaults(func=distill_fasttext_command)

    classify = subparsers.add_parser(
        "classify",
        help="label documents high/low/ad; writes DIR/predictions.jsonl",
        description="Read INPUT files, take the main text of pages and judge every document "
        "as the default recipe's fine stage does (the lexical and URL signals, the quality "
        "classifier, fluency and the combined decision), removing none: DIR/predictions.jsonl "
        "has one line {id, label, reason, scores, classifier} per document in input order, "
        "DIR/corpus the documents with their scores, and the report. Re-running the same "
        "command resumes.",
    )
    add_run_arguments(classify)
    classify.add_argument(
        "--classifier-only",
        action="store_true",
        help="label by the quality classifier alone (its most likely class), no other signal",
    )
    classify.add_argument(
        "--combiner", help="fine_decision's JSON (`mdfs train-combiner`; default: the shipped)"
    )
    classify.add_argument("--model", help="model dir or .bin (default: the shipped model)")
    classify.add_argument("--backend", choices=("bert", "fasttext"), default="bert")
    classify.add_argument("--device", default="cpu")
    classify.add_argument("--batch-size", type=int, default=64)
    classify.add_argument(
        "--quantize",
        action="store_true",
        help="BERT in int8 on the CPU: ~1.2x faster, probabilities move a little",
    )
    classify.set_defaults(func=classify_command)

    rebuild = subparsers.add_parser(
        "build-default-model",
        help="rebuild the shipped default models from ../shared/data (~30 min on 2 cores)",
    )
    rebuild.add_argument(
        "--data-dir", help="the shared data folder (default: data/ in $MDFS_SHARED or ../shared)"
    )
    rebuild.add_argument("--output", help="models folder (default: src/mdfs/data/models)")
    _add_exclusions(rebuild)
    rebuild.set_defaults(func=build_default_model_command)


def _add_exclusions(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--exclude-sources",
        metavar="LIST",
        help="file of paths relative to the data folder (a trailing / is a folder): "
        "nothing drawn from them enters the set",
    )
    parser.add_argument(
        "--exclude-texts",
        metavar="JSONL",
        help='held-out {"text": ...} lines: every example that is a near-duplicate of one '
        "(3-gram Jaccard >= 0.5) is dropped",
    )


def _exclusions(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    from mdfs.fine.labelled import read_source_list, read_texts

    sources = read_source_list(Path(args.exclude_sources)) if args.exclude_sources else []
    texts = read_texts(Path(args.exclude_texts)) if args.exclude_texts else []
    return sources, texts


def build_training_set_command(args: argparse.Namespace) -> int:
    from mdfs.fine.labelled import write_labelled_set

    data = _data_dir(args.data_dir)
    counts = write_labelled_set(data, Path(args.output), args.seed, *_exclusions(args))
    _print_counts(counts)
    print(f"wrote {args.output}")
    return 0


def _print_counts(counts) -> None:
    from mdfs.fine import LABELS

    print(f"segments{'train':>8}{'dev':>8}")
    for label in LABELS:
        print(f"{label:<8}{counts[('train', label)]:>8}{counts[('dev', label)]:>8}")
    for (kind, name), n in sorted(counts.items()):
        if kind == "source":
            print(f"  {name:<40}{n:>7}")


def _settings(args: argparse.Namespace):
    from mdfs.fine.bert import TrainSettings

    settings = TrainSettings()
    if args.pretrain_steps is not None:
        settings.pretrain_steps = args.pretrain_steps
    if args.epochs is not None:
        settings.epochs = args.epochs
    if args.max_per_class is not None:
        settings.max_train_per_class = args.max_per_class
    if args.threads is not None:
        settings.threads = args.threads
    return settings


def train_classifier_command(args: argparse.Namespace) -> int:
    from mdfs.fine.training import train_classifier

    data = Path(args.data)
    if not data.is_file():
        raise UserError(f"labelled data {data} does not exist")
    train_classifier(data, Path(args.output), args.base_model, _settings(args), vocab=args.vocab)
    print(f"model written to {args.output}")
    return 0


def distill_fasttext_command(args: argparse.Namespace) -> int:
    from mdfs.fine.labelled import read_labelled
    from mdfs.fine.training import segments_only

    records = read_labelled(Path(args.data)) if _labelled(args.data) else _texts(args.data)
    # the dev split stays unseen, so the student can be scored on it honestly
    train = [r for r in segments_only(records) if r.get("split") != "dev"]
    if args.max_texts is not None and args.max_texts < len(train):
        random.Random(13).shuffle(train)  # the teacher labels every text: bound its time
        train = train[: args.max_texts]
    texts = [r["text"] for r in train]
    if args.own_labels:
        from mdfs.fine.fasttext_model import train_fasttext

        if "label" not in train[0]:
            raise UserError(f"{args.data} has no labels to learn (--own-labels)")
        train_fasttext(texts, [r["label"] for r in train], Path(args.output), args.epochs)
        print(f"fastText model written to {args.output} (the set's own labels)")
        return 0
    _distill(args.model, texts, Path(args.output), args.epochs)
    return 0


def _labelled(path: str) -> bool:
    if not Path(path).is_file():
        raise UserError(f"data {path} does not exist")
    with open(path, encoding="utf-8") as stream:
        first = stream.readline()
    try:
        return "label" in json.loads(first)
    except json.JSONDecodeError:
        raise UserError(f"{path}:1: not JSON") from None


def _texts(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def _distill(model: str | None, texts: list[str], output: Path, epochs: int = 25) -> dict:
    from mdfs.fine import LABELS
    from mdfs.fine.fasttext_model import FastTextScorer, train_fasttext
    from mdfs.fine.scoring import load_scorer
    from mdfs.fine.training import format_report, per_class_report

    teacher = load_scorer(model, "bert")
    started = time.perf_counter()
    taught = [LABELS[i] for i in teacher.predict(texts).argmax(axis=1)]
    print(f"BERT labelled {len(texts)} texts in {time.perf_counter() - started:.0f}s")
    train_fasttext(texts, taught, output, epochs)
    student = FastTextScorer(output).predict(texts)
    agreement = per_class_report(taught, [LABELS[i] for i in student.argmax(axis=1)])
    print(f"fastText agreement with BERT (its training texts):\n{format_report(agreement)}")
    print(f"fastText model written to {output} ({output.stat().st_size / 1e6:.1f} MB)")
    return agreement


# The classify recipe's collect settings (tests make shards smaller to exercise the engines).
CLASSIFY_COLLECT: dict[str, object] = {}


def classify_recipe(args: argparse.Namespace) -> Recipe:
    """Main text of pages, then the default recipe's fine stage (or the classifier alone),
    in an annotated run: no document removed, each with the verdict it would get."""
    import yaml

    from mdfs.recipe import default_recipe_path, load_step_modules, parse_recipe, stage_of

    classifier = {
        "model": str(Path(args.model).resolve()) if args.model else None,
        "backend": args.backend,
        "device": args.device,
        "batch_size": args.batch_size,
        "quantize": args.quantize,
    }
    if args.classifier_only:
        steps: list[dict] = [{"quality_classifier": {**classifier, "annotate_only": True}}]
    else:  # the default recipe's fine stage
        registry = load_step_modules()
        steps = [
            entry
            for entry in yaml.safe_load(default_recipe_path().read_text("utf-8"))["steps"]
            if stage_of(registry[next(iter(entry))]) == "fine"
        ]
        for entry in steps:
            ((name, settings),) = entry.items()
            if name == "quality_classifier":
                entry[name] = {**(settings or {}), **classifier}
            if name == "fine_decision" and args.combiner:
                entry[name] = {**(settings or {}), "model": str(Path(args.combiner).resolve())}
    recipe = {"collect": CLASSIFY_COLLECT, "output": {"annotate": True}, "steps": [
        {"extract": {}}, *steps]}  # fmt: skip
    return parse_recipe(recipe, origin="classify recipe")


def classify_command(args: argparse.Namespace) -> int:
    from mdfs.fine.scoring import default_model
    from mdfs.layout import Layout
    from mdfs.storage import join

    if args.quantize and args.backend != "bert":
        raise UserError("--quantize applies to the bert backend only")
    model = Path(args.model) if args.model else default_model(args.backend)
    if not model.exists():
        hint = "" if args.model else " (rebuild it with `mdfs build-default-model`)"
        raise UserError(f"model {model} does not exist{hint}")
    started = time.perf_counter()
    run_recipe(args, classify_recipe(args), summary=sys.stderr)
    layout = Layout(args.output)
    target = join(layout.root, "predictions.jsonl")
    count = write_predictions(layout, target)
    seconds = time.perf_counter() - started
    print(f"{count} documents classified in {seconds:.1f}s -> {layout.display(target)}")
    return 0


def write_predictions(layout: Layout, target: str) -> int:
    """One line per classified document of the run's corpus, in input order (shards are
    runs of input files, in order); returns how many."""
    from mdfs.layout import part_files, read_records
    from mdfs.storage import committed

    fs = layout.fs
    count = 0
    with committed(fs, target) as stream:
        for part in part_files(fs, layout.corpus):
            for document in read_records(fs, part):
                record = prediction(document["id"], document["meta"])
                stream.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
                count += 1
    return count


def prediction(document_id: str, meta: dict) -> dict:
    """{id, label, reason, scores, classifier}: the label is the fine stage's verdict (high
    when no step would remove the document; ad when the reason is an advertisement; low
    otherwise), `scores` the combined decision's probabilities (the classifier's when the
    decision did not run), `classifier` the quality classifier's own."""
    reason = meta.get("reason")
    label = "high" if reason is None else "ad" if reason.startswith("advertisement") else "low"
    quality = meta.get("quality", {})
    if reason is None and "fine" not in meta:  # --classifier-only: its most likely class
        label = quality.get("label", label)
    classifier = quality.get("scores")
    scores = meta.get("fine", {}).get("scores", classifier)
    return {"id": document_id, "label": label, "reason": reason, "scores": scores,
            "classifier": classifier}  # fmt: skip


def build_default_model_command(args: argparse.Namespace) -> int:
    from mdfs.fine.labelled import read_labelled, write_labelled_set
    from mdfs.fine.scoring import MODELS_DIR
    from mdfs.fine.training import segments_only, train_classifier

    data = _data_dir(args.data_dir)
    models = Path(args.output) if args.output else MODELS_DIR
    labelled = models / "labelled.jsonl"
    counts = write_labelled_set(data, labelled, 13, *_exclusions(args))
    _print_counts(counts)
    bert_dir = models / "quality-bert"
    train_classifier(labelled, bert_dir)
    records = segments_only(read_labelled(labelled))
    texts = [r["text"] for r in records if r.get("split") != "dev"]
    _distill(str(bert_dir), texts, models / "quality-fasttext" / "model.bin")
    labelled.unlink()  # rebuilt in a minute; the texts are not ours to ship
    return 0
