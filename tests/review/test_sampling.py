"""The stratified sample: coverage of every stratum, the fraction, determinism, reuse."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import orjson
import pytest

from mdfs.errors import UserError
from mdfs.review.sampling import draw_sample, iter_decisions
from mdfs.review.store import ensure_sample
from tests.review.fake_run import FakeRun, write_shard


def test_only_fine_stage_decisions_are_read(fake_run: FakeRun) -> None:
    ids = {record["id"] for record, _ in iter_decisions(fake_run.root)}
    assert ids == set(fake_run.model)
    assert not ids & fake_run.undecided


def test_every_stratum_gives_at_least_one_document(fake_run: FakeRun) -> None:
    sample, summary = draw_sample(fake_run.root, fraction=0.05, seed=0, bins=4)
    strata = summary["strata"]
    assert len(strata) == 12  # 3 labels x 4 confidence bins, all non-empty here
    assert sum(s["size"] for s in strata.values()) == len(fake_run.model)
    # 5 % of ~15 documents rounds to 0 or 1; the floor of one keeps every stratum in view.
    assert all(s["sampled"] == 1 for s in strata.values())
    assert len(sample) == 12
    assert {r["stratum"] for r in sample} == set(strata)
    assert {r["model_label"] for r in sample} == {"high", "low", "ad"}
    for item in sample:
        assert item["model_label"] == fake_run.model[item["id"]]
        label = item["stratum"].split("/")[0]
        low, high = strata[item["stratum"]]["confidence"]
        assert label == item["model_label"] and low <= item["scores"][label] <= high


def test_fraction_is_taken_of_each_stratum(fake_run: FakeRun) -> None:
    sample, summary = draw_sample(fake_run.root, fraction=0.5, seed=0, bins=2)
    for name, stratum in summary["strata"].items():
        assert stratum["sampled"] == max(1, round(0.5 * stratum["size"]))
        assert sum(r["stratum"] == name for r in sample) == stratum["sampled"]
    everything, _ = draw_sample(fake_run.root, fraction=1.0, seed=0)
    assert {r["id"] for r in everything} == set(fake_run.model)


def test_sample_depends_on_seed_not_on_shard_layout(fake_run: FakeRun, tmp_path: Path) -> None:
    first, _ = draw_sample(fake_run.root, fraction=0.2, seed=3)
    again, _ = draw_sample(fake_run.root, fraction=0.2, seed=3)
    other, _ = draw_sample(fake_run.root, fraction=0.2, seed=4)
    assert [r["id"] for r in first] == [r["id"] for r in again]
    assert {r["id"] for r in first} != {r["id"] for r in other}

    # The same documents in one reversed shard (as another worker count would write them).
    records = []
    for path in sorted(fake_run.root.glob("*/*.jsonl.gz")):
        with gzip.open(path, "rb") as handle:
            records += [{**orjson.loads(line), "shard": path.name} for line in handle]
    write_shard(tmp_path / "relaid/removed/all.jsonl.gz", records[::-1])
    relaid, _ = draw_sample(tmp_path / "relaid", fraction=0.2, seed=3)
    assert [r["id"] for r in relaid] == [r["id"] for r in first]


def test_sample_is_drawn_once_and_reused(fake_run: FakeRun, caplog) -> None:
    sample, summary, drawn = ensure_sample(fake_run.root, None, None, None)
    assert drawn and summary["fraction"] == 0.05 and summary["seed"] == 0
    with caplog.at_level(logging.WARNING):
        again, _, drawn_again = ensure_sample(fake_run.root, 0.5, 9, None)
    assert not drawn_again
    assert [e.id for e in again.entries] == [e.id for e in sample.entries]
    assert "fraction=0.05" in caplog.text and "seed=0" in caplog.text
    first = sample.entries[0]
    assert again.record(first.id)["text"] == sample.record(first.id)["text"]


def test_user_mistakes_are_one_line_errors(tmp_path: Path, fake_run: FakeRun) -> None:
    with pytest.raises(UserError, match="not an `mdfs run` output"):
        draw_sample(tmp_path, fraction=0.05, seed=0)
    with pytest.raises(UserError, match="not a directory"):
        draw_sample(tmp_path / "missing", fraction=0.05, seed=0)
    write_shard(tmp_path / "coarse/corpus/part-00000.jsonl.gz", [{"id": "a", "text": "x"}])
    with pytest.raises(UserError, match="no fine-stage decisions"):
        draw_sample(tmp_path / "coarse", fraction=0.05, seed=0)
    with pytest.raises(UserError, match="--fraction"):
        draw_sample(fake_run.root, fraction=0, seed=0)
    (tmp_path / "broken/corpus").mkdir(parents=True)
    (tmp_path / "broken/corpus/part-00000.jsonl.gz").write_bytes(b"not gzip")
    with pytest.raises(UserError, match="cannot read"):
        draw_sample(tmp_path / "broken", fraction=0.05, seed=0)
