"""The Chinese forum/Q&A gold set: well formed, every page documented, gold copied from its page.

The set measures main-text extraction on threads (`benchmarks/extraction_f1.py`, half of it
held out), so a page without gold, a key that is not its URL's hash, or gold text that is not on its page
would quietly measure the wrong thing.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache

import pytest
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from tests.conftest import REPO

SET = REPO / "benchmarks" / "data" / "zh_forum"
KINDS = {"thread", "comments", "list"}


@cache
def _gold() -> dict[str, dict]:
    return json.loads((SET / "gold.json").read_text(encoding="utf-8"))


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_page_has_gold_and_every_gold_a_page() -> None:
    pages = {path.stem for path in (SET / "htmls").glob("*.html")}
    assert pages == set(_gold())
    assert len(pages) >= 15


def test_keys_are_the_sha256_of_the_url() -> None:
    for key, entry in _gold().items():
        assert set(entry) == {"url", "kind", "content"}, key
        assert hashlib.sha256(entry["url"].encode()).hexdigest() == key, entry["url"]


def test_threads_have_gold_and_list_pages_none() -> None:
    kinds = {entry["kind"] for entry in _gold().values()}
    assert kinds == KINDS
    for entry in _gold().values():
        if entry["kind"] == "list":
            assert entry["content"] == "", entry["url"]
        else:
            assert len(entry["content"]) >= 300, entry["url"]
            assert entry["content"] == entry["content"].strip()


@pytest.mark.parametrize("key", sorted(_gold()))
def test_gold_lines_are_copied_from_the_visible_page(key: str) -> None:
    html = (SET / "htmls" / f"{key}.html").read_text(encoding="utf-8")
    visible = _squeeze(extract_plain_text(HTMLTree.parse(html), main_content=False))
    for line in _gold()[key]["content"].splitlines():
        assert _squeeze(line) in visible, line[:60]


def test_every_page_is_documented_and_the_set_is_small() -> None:
    sources = (SET / "SOURCES.md").read_text(encoding="utf-8")
    for key in _gold():
        assert f"`{key[:12]}`" in sources, key
    assert (SET / "RULES.md").exists()
    sizes = [path.stat().st_size for path in (SET / "htmls").glob("*.html")]
    assert max(sizes) < 400_000
    assert sum(sizes) < 3_000_000
