"""The Chinese gold sets written for MDFS: well formed, every page documented, gold copied from
its page.

``zh_forum`` (threads, Q&A, comment threads, list pages), ``zh_thread`` (forum and Q&A
threads), ``zh_article`` (articles) and ``zh_web`` (articles and threads, all held out) measure main-text extraction
(`benchmarks/extraction_f1.py`), so a page without gold, a key that is not its URL's hash, gold
text that is not on its page or a page in two sets would quietly measure the wrong thing.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path

import pytest
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from tests.conftest import REPO

DATA = REPO / "benchmarks" / "data"
KINDS = {
    "zh_forum": {"thread", "comments", "list"},
    "zh_thread": {"thread"},
    "zh_article": {"article"},
    "zh_web": {"article", "forum"},
}
MIN_PAGES = {"zh_forum": 15, "zh_thread": 1, "zh_article": 20, "zh_web": 6}
# short news is real news (zh_article's hexun page: 137 characters); a title alone is no gold
MIN_GOLD_CHARS = {"zh_forum": 300, "zh_thread": 300, "zh_article": 100, "zh_web": 100}


@cache
def _gold(name: str) -> dict[str, dict]:
    return json.loads((DATA / name / "gold.json").read_text(encoding="utf-8"))


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pages(name: str) -> Path:
    return DATA / name / "htmls"


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_page_has_gold_and_every_gold_a_page(name: str) -> None:
    pages = {path.stem for path in _pages(name).glob("*.html")}
    assert pages == set(_gold(name))
    assert len(pages) >= MIN_PAGES[name]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_keys_are_the_sha256_of_the_url(name: str) -> None:
    for key, entry in _gold(name).items():
        assert set(entry) == {"url", "kind", "content"}, key
        assert hashlib.sha256(entry["url"].encode()).hexdigest() == key, entry["url"]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_pages_with_text_have_gold_and_list_pages_none(name: str) -> None:
    kinds = {entry["kind"] for entry in _gold(name).values()}
    assert kinds == KINDS[name]
    for entry in _gold(name).values():
        if entry["kind"] == "list":
            assert entry["content"] == "", entry["url"]
        else:
            assert len(entry["content"]) >= MIN_GOLD_CHARS[name], entry["url"]
            assert entry["content"] == entry["content"].strip()


@pytest.mark.parametrize(
    ("one", "other"), [(a, b) for a in sorted(KINDS) for b in sorted(KINDS) if a < b]
)
def test_no_page_is_in_two_sets(one: str, other: str) -> None:
    pages = {path.read_bytes() for path in _pages(one).glob("*.html")}
    assert not any(path.read_bytes() in pages for path in _pages(other).glob("*.html"))
    assert not set(_gold(one)) & set(_gold(other))


@pytest.mark.parametrize(
    ("name", "key"), [(name, key) for name in sorted(KINDS) for key in sorted(_gold(name))]
)
def test_gold_lines_are_copied_from_the_visible_page(name: str, key: str) -> None:
    html = (_pages(name) / f"{key}.html").read_text(encoding="utf-8")
    visible = _squeeze(extract_plain_text(HTMLTree.parse(html), main_content=False))
    for line in _gold(name)[key]["content"].splitlines():
        assert _squeeze(line) in visible, line[:60]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_page_is_documented_and_the_set_is_small(name: str) -> None:
    sources = (DATA / name / "SOURCES.md").read_text(encoding="utf-8")
    for key in _gold(name):
        assert f"`{key[:12]}`" in sources, key
    assert (DATA / name / "RULES.md").exists()
    sizes = [path.stat().st_size for path in _pages(name).glob("*.html")]
    assert max(sizes) < 400_000
    assert sum(sizes) < 3_000_000
