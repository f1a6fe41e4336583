"""`mdfs train-classifier`: labelled lines in, a from_pretrained-loadable model dir out."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mdfs.fine import LABELS
from mdfs.fine.bert import (
    TinyBertSize,
    TrainSettings,
    balanced_subset,
    finetune,
    load_tokenizer,
    new_tokenizer,
    pretrain_mlm,
    set_threads,
)
from mdfs.fine.labelled import (
    SIDES,
    Example,
    assign_split,
    read_labelled,
    split_record,
    text_key,
)

log = logging.getLogger(__name__)


SPLIT_FILE = "split.json"  # beside a trained model: its train/dev split (`split_record`)


def split_sides(records: list[dict]) -> tuple[list[str], str]:
    """The side of every record and the rule that chose them: the file's own "split" field
    when every line has one, else by group (a line's "group", or its text's key when it has
    none) with near-duplicates joined; never by line number or path, so the split is the
    same wherever the file lies and in whatever order its lines come."""
    if all(r.get("split") in SIDES for r in records):
        return [r["split"] for r in records], "the labelled set's split field"
    examples = [
        Example(r["text"], r["label"], "", r.get("group") or f"text:{text_key(r['text'])}")
        for r in records
    ]
    return assign_split(
        examples
    ), "assign_split: hash of the group (or text key), near-duplicates joined"


def segments_only(records: list[dict]) -> list[dict]:
    """The lines of unit "segment" (all lines when the file has no units): segments are
    what the classifier scores at run time; documents are there for document-level models."""
    return [r for r in records if r.get("unit", "segment") == "segment"]


def per_class_report(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, dict]:
    report: dict[str, dict] = {}
    f1s = []
    for label in LABELS:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        support = tp + fn
        report[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
        if support:
            f1s.append(f1)
    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / max(1, len(gold))
    report["macro"] = {"f1": float(np.mean(f1s)) if f1s else 0.0, "accuracy": accuracy}
    return report


def format_report(report: dict[str, dict]) -> str:
    lines = [f"{'class':<8}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for label in LABELS:
        r = report[label]
        lines.append(
            f"{label:<8}{r['precision']:>10.3f}{r['recall']:>8.3f}{r['f1']:>8.3f}{r['support']:>9}"
        )
    lines.append(
        f"macro-F1 {report['macro']['f1']:.3f}  accuracy {report['macro']['accuracy']:.3f}"
    )
    return "\n".join(lines)


def train_classifier(
    data: Path,
    output: Path,
    base_model: str | None = None,
    settings: TrainSettings | None = None,
    size: TinyBertSize | None = None,
    vocab: str | None = None,
    report: Callable[[str], None] = print,
) -> dict[str, dict]:
    from mdfs.fine.bert import BertScorer

    settings = settings or TrainSettings()
    size = size or TinyBertSize()
    set_threads(settings.threads)
    records = segments_only(read_labelled(data))
    sides, rule = split_sides(records)
    train = [r for r, side in zip(records, sides, strict=True) if side == "train"]
    dev = [r for r, side in zip(records, sides, strict=True) if side == "dev"]
    report(f"{len(train)} train / {len(dev)} dev examples")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        if base_model is None:
            tokenizer = new_tokenizer(vocab)
            clean = [r["text"] for r in train if r["label"] == "high"]
            encoder = pretrain_mlm(clean, tokenizer, size, settings, report)
            encoder.save_pretrained(scratch)
            base: str = scratch
        else:
            tokenizer = load_tokenizer(base_model)
            base = base_model
        pretrain_seconds = time.perf_counter() - started
        subset = balanced_subset(train, settings.max_train_per_class, settings.seed)
        model = finetune(base, tokenizer, subset, settings, report)
    output.mkdir(parents=True, exist_ok=True)
    # the longest input fine-tuning (and, for the tiny encoder, pretraining) has seen
    trained = settings.max_length if base_model else min(settings.max_length, settings.pretrain_seq)
    model.config.mdfs_trained_length = trained
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    seconds = time.perf_counter() - started
    scorer = BertScorer(output, threads=settings.threads)
    evaluation = dev if dev else train
    probabilities = scorer.predict([r["text"] for r in evaluation])
    predicted = [LABELS[i] for i in probabilities.argmax(axis=1)]
    result = per_class_report([r["label"] for r in evaluation], predicted)
    report(f"{'dev' if dev else 'train (no dev split)'} split:\n{format_report(result)}")
    metrics = {
        "dev": result,
        "train_examples": len(subset),
        "dev_examples": len(dev),
        "pretrain_seconds": round(pretrain_seconds, 1),
        "train_seconds": round(seconds, 1),
        "base_model": base_model or "tiny BERT pretrained here (masked LM)",
        "settings": settings.__dict__,
    }
    (output / "training_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    split = split_record([r["text"] for r in records], sides, rule)
    (output / SPLIT_FILE).write_text(json.dumps(split, indent=1) + "\n")
    return result
