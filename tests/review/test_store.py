"""Labels on disk (append-only, latest wins, survives a torn line) and the export."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from mdfs.cli import main
from mdfs.review.store import LabelStore, ReviewPaths, ensure_sample, resolve
from tests.review.fake_run import FakeRun


def test_latest_label_per_reviewer_wins_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "review/labels.jsonl"
    store = LabelStore(path)
    store.add("ann", "d1", "high", "high")
    store.add("ann", "d1", "ad", "high")  # ann changes her mind
    store.add("bob", "d1", "low", "high")
    store.add("ann", "d2", "skip", "low")
    expected = {("ann", "d1"): "ad", ("bob", "d1"): "low", ("ann", "d2"): "skip"}
    assert store.latest() == expected
    assert LabelStore(path).latest() == expected  # a restart reads the same
    assert len(path.read_bytes().splitlines()) == 4  # appended, never rewritten
    with pytest.raises(ValueError):
        store.add("ann", "d3", "great", "high")


def test_a_torn_line_loses_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    LabelStore(path).add("ann", "d1", "high", "high")
    with open(path, "ab") as handle:
        handle.write(b'{"reviewer": "ann", "id": "d2", "lab')  # killed mid-write
    reader = LabelStore(path)
    assert reader.latest() == {("ann", "d1"): "high"}
    writer = LabelStore(path)
    writer.add("ann", "d3", "low", "low")
    # Another store on the same file (a second server, the export) sees the new label.
    assert reader.latest() == {("ann", "d1"): "high", ("ann", "d3"): "low"}


def test_resolve_takes_the_majority_and_drops_ties() -> None:
    latest = {
        ("ann", "a"): "high", ("bob", "a"): "high", ("cy", "a"): "low",
        ("ann", "b"): "ad", ("bob", "b"): "low",
        ("ann", "c"): "skip", ("bob", "c"): "low",
        ("ann", "d"): "skip",
    }  # fmt: skip
    assert resolve(latest) == ({"a": "high", "c": "low"}, 1)


def test_export_command_writes_training_lines(fake_run: FakeRun, tmp_path: Path, capsys) -> None:
    out = tmp_path / "corrections.jsonl"
    assert main(["review", str(fake_run.root), "--export", str(out)]) == 2
    assert "no review labels" in capsys.readouterr().err

    sample, _, _ = ensure_sample(fake_run.root, 0.2, 0, None)
    store = LabelStore(ReviewPaths(fake_run.root).labels)
    entries = sample.entries[:6]
    for entry in entries[:5]:
        store.add("ann", entry.id, fake_run.truth[entry.id], entry.model_label)
    store.add("ann", entries[5].id, "skip", entries[5].model_label)

    assert main(["review", str(fake_run.root), "--export", str(out)]) == 0
    assert "wrote 5 labelled documents" in capsys.readouterr().out
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [line["id"] for line in lines] == [e.id for e in entries[:5]]
    for line in lines:
        assert set(line) == {"id", "text", "label", "model_label"}
        assert line["label"] == fake_run.truth[line["id"]]
        assert line["model_label"] == fake_run.model[line["id"]]
        assert line["text"] == sample.record(line["id"])["text"] and line["text"]
