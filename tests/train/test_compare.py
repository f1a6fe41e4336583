"""`mdfs compare` end to end: two tiny proxies, scored by `mdfs eval` on a few examples."""

from __future__ import annotations

import importlib.util
import json

import pytest

from mdfs.cli import main
from tests.conftest import missing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("mdfs.evaluate.harness") is None,
        reason="the evaluation harness (mdfs.evaluate) is not there yet",
    ),
]


def test_compare_two_corpora(paragraphs, corpus_writer, fewclue_dir, tmp_path, monkeypatch, capsys):
    if not fewclue_dir.is_dir():
        missing(f"FewCLUE data in {fewclue_dir}")
    monkeypatch.setenv("MDFS_CLUE_DIR", str(fewclue_dir))
    # B holds one FewCLUE review (eprstmt train) and one paragraph of the reference set:
    # decontamination must take both out before training.
    review = json.loads((fewclue_dir / "eprstmt/train_few_all.json").open().readline())
    reference = tmp_path / "reference.jsonl"
    reference.write_text(
        "".join(json.dumps({"text": p}, ensure_ascii=False) + "\n" for p in paragraphs[300:340])
    )
    corpus_a = corpus_writer(tmp_path / "a", paragraphs[:80])
    corpus_b = corpus_writer(
        tmp_path / "b", [*paragraphs[80:200], review["sentence"], paragraphs[310]]
    )
    code = main(
        ["compare", str(corpus_a), str(corpus_b), "--output", str(tmp_path / "cmp"),
         "--model-size", "tiny", "--seq-len", "32", "--steps", "3", "--batch-size", "4",
         "--vocab-size", "800", "--device", "cpu", "--tasks", "eprstmt", "--limit", "4",
         "--reference", str(reference), "--heldout-fraction", "0.2", "--heldout-tokens", "256",
         "--decontaminate"]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "eprstmt" in out and "average" in out and "reference" in out
    runs = json.loads((tmp_path / "cmp/compare.json").read_text())
    a, b = runs["A"], runs["B"]
    assert a["summary"]["tokens"] == b["summary"]["tokens"] == 3 * 4 * 32
    assert set(a["eval"]["tasks"]) == {"eprstmt"}
    assert a["decontamination"]["removed"] == {}
    assert b["decontamination"]["removed"] == {"benchmark_overlap": 2}
    assert a["split"]["train"] + a["split"]["heldout"] == 80
    assert b["split"]["train"] + b["split"]["heldout"] == 120
    # Both models scored on the same three sets of the same tokens.
    for name in ("reference", "A", "B"):
        ha, hb = a["summary"]["heldout"][name], b["summary"]["heldout"][name]
        assert ha["tokens"] == hb["tokens"] == 256 and ha["chars"] == hb["chars"]
        assert ha["loss"] != hb["loss"]
    assert a["eval"]["tasks"]["eprstmt"]["stderr"] >= 0
