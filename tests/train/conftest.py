"""Fixtures: a small real corpus (Chinese Wikipedia paragraphs from CMRC 2018) and a tokenizer."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.conftest import SHARED, missing

WIKI = SHARED / "data/text/cmrc2018_wikipedia"


def wiki_paragraphs() -> list[str]:
    paragraphs = []
    for file in sorted(WIKI.glob("*.json")):
        for article in json.loads(file.read_text("utf-8"))["data"]:
            paragraphs += [p["context"] for p in article["paragraphs"]]
    if not paragraphs:
        missing(f"CMRC 2018 paragraphs in {WIKI}")
    return paragraphs


def write_corpus(root: Path, texts: list[str]) -> Path:
    """An MDFS output directory: ROOT/corpus/part-00000.jsonl.gz."""
    (root / "corpus").mkdir(parents=True)
    with gzip.open(root / "corpus/part-00000.jsonl.gz", "wt", encoding="utf-8") as handle:
        for i, text in enumerate(texts):
            handle.write(json.dumps({"id": f"wiki-{i}", "text": text}, ensure_ascii=False) + "\n")
    return root


@pytest.fixture(scope="session")
def fewclue_dir() -> Path:
    return SHARED / "data/clue/fewclue"


@pytest.fixture(scope="session")
def corpus_writer():
    return write_corpus


@pytest.fixture(scope="session")
def paragraphs() -> list[str]:
    return wiki_paragraphs()


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory, paragraphs: list[str]) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"), paragraphs[:150])


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory, paragraphs: list[str]) -> Path:
    from mdfs.train.tokenizer import train_tokenizer

    return train_tokenizer(paragraphs[:300], tmp_path_factory.mktemp("tok"), vocab_size=1200)
