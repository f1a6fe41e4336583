"""`mdfs train-classifier`'s bookkeeping: per-class scores worked by hand, the lines it trains
on, its split, and the metrics file of a real (tiny) training run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdfs.fine.labelled import split_record
from mdfs.fine.training import (
    format_report,
    per_class_report,
    segments_only,
    split_sides,
    train_classifier,
)


def test_per_class_report_by_hand() -> None:
    gold = ["high", "high", "high", "low", "low", "ad"]
    predicted = ["high", "high", "low", "low", "ad", "high"]
    report = per_class_report(gold, predicted)
    # high: tp 2, fp 1 (the ad), fn 1; low: tp 1, fp 1, fn 1; ad: tp 0, fp 1, fn 1
    assert report["high"] == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}
    )
    assert report["low"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    assert report["ad"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["macro"]["f1"] == pytest.approx((2 / 3 + 0.5 + 0.0) / 3)
    assert report["macro"]["accuracy"] == pytest.approx(3 / 6)


def test_per_class_report_leaves_absent_classes_out_of_the_macro_f1() -> None:
    report = per_class_report(["high", "low"], ["high", "high"])
    assert report["high"]["precision"] == 0.5 and report["high"]["recall"] == 1.0
    assert report["high"]["f1"] == pytest.approx(2 / 3)
    assert report["ad"]["support"] == 0
    assert report["macro"]["f1"] == pytest.approx((2 / 3 + 0.0) / 2)  # ad has no support
    assert per_class_report([], [])["macro"] == {"f1": 0.0, "accuracy": 0.0}
    assert per_class_report(["low"], ["low"])["macro"] == {"f1": 1.0, "accuracy": 1.0}


def test_format_report_rows() -> None:
    text = format_report(per_class_report(["high", "low", "ad"], ["high", "low", "low"]))
    lines = text.splitlines()
    assert lines[0].split() == ["class", "precision", "recall", "f1", "support"]
    assert lines[1].split() == ["high", "1.000", "1.000", "1.000", "1"]
    assert lines[2].split() == ["low", "0.500", "1.000", "0.667", "1"]
    assert lines[3].split() == ["ad", "0.000", "0.000", "0.000", "1"]
    assert lines[4] == "macro-F1 0.556  accuracy 0.667"


def test_segments_only_keeps_segments_and_unitless_lines() -> None:
    records = [
        {"text": "a", "unit": "segment"},
        {"text": "b", "unit": "document"},
        {"text": "c"},
    ]
    assert [r["text"] for r in segments_only(records)] == ["a", "c"]


def test_split_sides_follows_the_files_own_split() -> None:
    records = [
        {"text": "a", "label": "high", "split": "train"},
        {"text": "b", "label": "low", "split": "dev"},
        {"text": "c", "label": "ad", "split": "train"},
    ]
    sides, rule = split_sides(records)
    assert sides == ["train", "dev", "train"]
    assert rule == "the labelled set's split field"


def test_split_sides_without_a_split_field_follow_the_text_not_the_order(shared: Path) -> None:
    """No "split" field: each line's side comes from its group or its text, so the same
    lines in another order (or in a file elsewhere) get the same sides."""
    wiki = json.loads(
        (shared / "data" / "text" / "cmrc2018_wikipedia" / "cmrc2018_trial.json").read_text()
    )["data"]
    texts = [p["context"][:200] for a in wiki for p in a["paragraphs"]][:80]
    records = [{"text": t, "label": ("high", "low", "ad")[i % 3]} for i, t in enumerate(texts)]
    sides, rule = split_sides(records)
    assert rule.startswith("assign_split")
    assert 0 < sides.count("dev") < len(sides) // 2
    again, _ = split_sides(records[::-1])
    assert again[::-1] == sides
    grouped = [{**r, "group": "one"} for r in records]  # one group: one side for all
    assert len(set(split_sides(grouped)[0])) == 1


def test_train_classifier_metrics_file(shared: Path, tmp_path: Path) -> None:
    """A tiny real training run: its metrics file records what it trained on and scores the
    dev lines of the file's own split with the saved model."""
    from mdfs.fine.bert import TinyBertSize, TrainSettings

    wiki = json.loads(
        (shared / "data" / "text" / "cmrc2018_wikipedia" / "cmrc2018_trial.json").read_text()
    )["data"]
    high = [p["context"][:120] for a in wiki for p in a["paragraphs"]][:12]
    low = [f"今天{i}点吃饭了吗哈哈哈" for i in range(12)]
    ad = [f"本店{i}折优惠大酬宾，详询热线" for i in range(12)]
    rows = []
    for label, texts in (("high", high), ("low", low), ("ad", ad)):
        rows += [
            {"text": t, "label": label, "split": "dev" if i < 3 else "train"}
            for i, t in enumerate(texts)
        ]
    rows.append(
        {"text": "整篇文档不参与训练", "label": "high", "unit": "document", "split": "train"}
    )
    data = tmp_path / "labelled.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    printed: list[str] = []
    settings = TrainSettings(
        pretrain_steps=2, pretrain_seq=32, epochs=1, max_length=32, max_train_per_class=8, threads=1
    )
    size = TinyBertSize(hidden=32, layers=1, heads=1, intermediate=64, max_positions=64)
    model = tmp_path / "models" / "tiny"  # a folder that does not exist yet, nor its parent
    result = train_classifier(data, model, settings=settings, size=size, report=printed.append)
    metrics = json.loads((model / "training_metrics.json").read_text())
    assert printed[0] == "27 train / 9 dev examples"
    assert printed[-1].startswith("dev split:\n")
    assert metrics["train_examples"] == 24  # 8 a class
    assert metrics["dev_examples"] == 9
    assert metrics["base_model"] == "tiny BERT pretrained here (masked LM)"
    assert metrics["settings"]["max_train_per_class"] == 8
    assert metrics["dev"] == json.loads(json.dumps(result))
    assert sum(result[label]["support"] for label in ("high", "low", "ad")) == 9
    config = json.loads((model / "config.json").read_text())
    assert config["mdfs_trained_length"] == min(settings.max_length, settings.pretrain_seq)
    # the split beside the model rebuilds exactly the sides of the segments it trained on
    split = json.loads((model / "split.json").read_text())
    segments = [r for r in rows if r.get("unit") != "document"]
    assert split["rule"] == "the labelled set's split field"
    assert split["examples"] == {"train": 27, "dev": 9}
    texts = [r["text"] for r in segments]
    assert split == split_record(texts, [r["split"] for r in segments], split["rule"])
