"""`mdfs.process`: a recipe over texts in memory, as a notebook calls it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import mdfs
from mdfs.errors import UserError
from mdfs.recipe import parse_recipe

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "dump.jsonl.gz"
RECIPE = {"steps": ["normalize", "language", "quality_rules", "exact_dedup"]}


def sample_texts() -> list[str]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines][:12]


def test_process_returns_kept_and_removed_with_reasons_and_scores() -> None:
    texts = sample_texts()
    english = " ".join(["This page is written in English only, with no Chinese at all."] * 5)
    items = [*texts, texts[0], {"id": "en", "text": english, "domain": "example.com"}]
    result = mdfs.process(items, recipe=RECIPE)
    assert len(result.kept) + len(result.removed) == len(items)
    assert result.report["documents_kept"] == len(result.kept) > 0
    removed = {r["id"]: (r["removed_by"], r["reason"]) for r in result.removed}
    assert removed["en"] == ("language", "wrong_language")
    assert removed[str(len(texts))] == ("exact_dedup", "exact_duplicate")  # the repeat
    english_record = next(r for r in result.removed if r["id"] == "en")
    assert english_record["meta"]["domain"] == "example.com"  # other fields go into meta
    assert english_record["text"] == english
    assert all(0 <= r["meta"]["language_score"] <= 1 for r in result.kept)
    assert [r["id"] for r in result.kept] == sorted(
        (r["id"] for r in result.kept), key=int
    )  # input order


def test_process_annotates_and_reuses_a_loaded_recipe() -> None:
    recipe = parse_recipe(RECIPE)
    texts = sample_texts()
    first = mdfs.process(texts, recipe=recipe)
    annotated = mdfs.process(texts, recipe=recipe, annotate=True)
    assert not annotated.removed and len(annotated.kept) == len(texts)
    flagged = sorted(
        (r["id"], r["meta"]["removed_by"], r["meta"]["reason"])
        for r in annotated.kept
        if r["meta"]["removed_by"]
    )
    assert flagged == sorted((r["id"], r["removed_by"], r["reason"]) for r in first.removed)


def test_process_refuses_what_is_not_text() -> None:
    with pytest.raises(UserError, match="text 1: give a string or a dict"):
        mdfs.process(["好", {"body": "x"}], recipe=RECIPE)
