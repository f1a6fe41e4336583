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
    corpus_a = corpus_writer(tmp_path / "a", paragraphs[:80])
    corpus_b = corpus_writer(tmp_path / "b", paragraphs[80:200])
    code = main(
        ["compare", str(corpus_a), str(corpus_b), "--output", str(tmp_path / "cmp"),
         "--model-size", "tiny", "--seq-len", "32", "--steps", "3", "--batch-size", "4",
         "--vocab-size", "800", "--device", "cpu", "--tasks", "eprstmt", "--limit", "4"]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "eprstmt" in out and "average" in out
    runs = json.loads((tmp_path / "cmp/compare.json").read_text())
    assert runs["A"]["summary"]["tokens"] == runs["B"]["summary"]["tokens"] == 3 * 4 * 32
    assert set(runs["A"]["eval"]["tasks"]) == {"eprstmt"}
