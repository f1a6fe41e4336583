"""The fine filter's hand-labelled dev set: well formed, balanced, and cut verbatim from its sources.

The set is the held-out measure of every fine-filter signal, so a text that drifted from its
source, or a source outside the reserved list, would quietly measure the wrong thing.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

from resiliparse.extract.html2text import extract_plain_text

from tests.conftest import REPO

DEV = REPO / "benchmarks" / "data" / "fine_dev"
FIELDS = {"id", "kind", "source", "label", "text"}
OPTIONAL = {"note"}


def _items() -> list[dict]:
    lines = (DEV / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _reserved() -> list[str]:
    lines = (DEV / "sources.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


ITEMS = _items()


def test_schema_and_unique_ids() -> None:
    assert len(ITEMS) >= 150
    for item in ITEMS:
        assert FIELDS <= item.keys() <= FIELDS | OPTIONAL, item.get("id")
        assert item["kind"] in {"document", "segment"}
        assert item["label"] in {"high", "low", "ad"}
        assert isinstance(item["text"], str) and item["text"].strip() == item["text"] != ""
    assert len({item["id"] for item in ITEMS}) == len(ITEMS)
    assert len({item["text"] for item in ITEMS}) == len(ITEMS), "the same text labelled twice"
    assert (DEV / "labels.jsonl").stat().st_size < 1_000_000


def test_every_source_is_reserved() -> None:
    reserved = _reserved()
    for item in ITEMS:
        path, _, locator = item["source"].partition("#")
        assert locator, item["id"]
        assert any(path == r or (r.endswith("/") and path.startswith(r)) for r in reserved), path


def test_class_balance() -> None:
    share = {label: n / len(ITEMS) for label, n in Counter(i["label"] for i in ITEMS).items()}
    assert 0.33 <= share["high"] <= 0.47
    assert 0.33 <= share["low"] <= 0.47
    assert 0.13 <= share["ad"] <= 0.27
    kinds = Counter(item["kind"] for item in ITEMS)
    assert kinds["document"] >= 0.3 * len(ITEMS) and kinds["segment"] >= 0.3 * len(ITEMS)


@cache
def _jsonl_texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


@cache
def _csv_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as rows:
        return [row["content"] for row in csv.DictReader(rows)]


@cache
def _page_text(path: Path) -> str:
    return extract_plain_text(path.read_bytes().decode("utf-8"), main_content=False)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_text_comes_from_its_source(shared: Path) -> None:
    for item in ITEMS:
        path, _, locator = item["source"].partition("#")
        source, text = shared / "data" / path, item["text"]
        if source.suffix == ".jsonl":
            record = int(re.match(r"record (\d+)", locator)[1])
            assert text in _jsonl_texts(source)[record], item["id"]
        elif source.suffix == ".csv":
            row = int(re.match(r"row (\d+)", locator)[1])
            assert text in _csv_texts(source)[row], item["id"]
        elif item["kind"] == "segment":
            assert text in _page_text(source), item["id"]
        else:
            # a page document is its main text or its whole text: every line is on the page
            # (compared without whitespace, which main-text extraction normalises)
            page = _squeeze(_page_text(source))
            missing = [line for line in text.split("\n") if _squeeze(line) not in page]
            assert not missing, (item["id"], missing[:2])
