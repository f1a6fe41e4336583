"""The shortcuts of thread detection give what the long way gives, on real pages."""

from pathlib import Path

import pytest
from lxml import etree

import mdfs.collect.extract as extract
from mdfs.collect.thread import _PARSER, _heading_before, find_thread

PAGES = Path(__file__).parent.parent / "fixtures" / "pages"
REPO_PAGES = Path(__file__).parent.parent.parent / "benchmarks" / "data"


def real_pages() -> list[Path]:
    """Threads, list pages, articles with comment lists and sidebars (fixtures and the
    repository's Chinese gold sets)."""
    return sorted(PAGES.glob("*.html")) + sorted(REPO_PAGES.glob("zh_*/htmls/*.html"))


def test_the_pages_hold_posts_set_aside_and_posts_used() -> None:
    # the equivalence below means something only if both kinds of page are among them
    used = []
    for path in real_pages():
        html = path.read_text(encoding="utf-8")
        thread = find_thread(extract._drop_scripts(html.encode()))
        if thread is not None:
            lines = extract._render_lines(html)
            start, end = extract._best_span(lines, extract.DEFAULT_SCORING)
            region = extract._trim_edges(lines[start:end], extract.DEFAULT_SCORING)
            article = [line.text for line in region]
            used.append(
                extract._may_cover(thread, article) or extract._replies_heading(lines[end:])
            )
    assert used.count(True) >= 20 and used.count(False) >= 10


def test_the_posts_are_set_aside_only_where_they_could_not_change_the_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the posts rendered and judged on every page, as before the shortcut, give the same text
    texts = [extract.extract_main_text(path.read_text(encoding="utf-8")) for path in real_pages()]
    monkeypatch.setattr(extract, "_may_cover", lambda thread, article: True)
    monkeypatch.setattr(extract, "_replies_heading", lambda after: True)
    for path, text in zip(real_pages(), texts, strict=True):
        assert extract.extract_main_text(path.read_text(encoding="utf-8")) == text, path.name


def test_the_rendered_posts_hold_only_characters_of_the_posts_text() -> None:
    # what the shortcut rests on: rendering adds no character (form fields and embedded
    # objects are dropped, entities decoded, only whitespace added)
    for path in real_pages():
        thread = find_thread(extract._drop_scripts(path.read_bytes()))
        if thread is None:
            continue
        for line in extract._thread_lines(thread, extract.DEFAULT_SCORING):
            assert thread.characters.issuperset(line.replace(" ", "")), path.name


def test_the_heading_before_an_element_is_the_xpath_preceding_one() -> None:
    preceding = etree.XPath("preceding::*[self::h1 or self::h2][1]")
    checked = 0
    for path in real_pages():
        root = etree.fromstring(path.read_bytes(), _PARSER)
        # every 7th element (the XPath walks the whole page before each)
        for el in list(root.iter("div", "li", "p", "h1", "h2", "td"))[::7]:
            expected = preceding(el)
            assert _heading_before(el) is (expected[0] if expected else None), path.name
            checked += bool(expected)
    assert checked > 300
