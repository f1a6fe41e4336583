"""Main-text extraction: keep a page's article body, drop navigation, link farms and footers.

Resiliparse (Lexbor, C) renders the whole page to lightly marked-up text, one block per line,
with links kept as ``<a>``. On those lines we choose the article the way BTE (Finn et al., 2001,
"body text extraction") and the Chinese line-block methods do: every line scores its
non-link characters and its punctuation, minus its link characters and a fixed per-line cost,
and the contiguous run of lines with the largest total is the main text. Prose (long,
punctuated, unlinked lines) pays for the short lines between its paragraphs; menus, city lists
and headline lists (short lines, mostly links) never do.

Why not resiliparse's own ``main_content=True``: on Chinese portals it keeps most of the
boilerplate (mean char-F1 0.68 on the magic-html pages) and drops content some sites hide until
scripts run (WeChat's ``js_content``). Why not trafilatura: it is as accurate here but about 20x
slower than resiliparse. ``benchmarks/extraction_f1.py`` measures all three.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from dataclasses import dataclass
from typing import NamedTuple

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from mdfs.collect.thread import Thread, find_thread

log = logging.getLogger(__name__)

# Real pages are under 2 MB of HTML; larger ones are mostly inline scripts, data blobs or
# endless comment threads. Scripts and styles are cut first (they never hold main text), then
# the rest is truncated, so a 50 MB document costs a fraction of a second, not minutes.
MAX_HTML_CHARS = 4_000_000
# On UTF-8 bytes: libxml2 parses bytes, and tags are ASCII (as an HTML parser reads them:
# ASCII case, ASCII white space). The one "<" before the alternatives is a literal prefix
# the regex engine skips ahead to.
_NOT_TEXT_OPEN = re.compile(rb"<(?:(script|style)\b|!--)", re.IGNORECASE)
_NOT_TEXT_CLOSE = {
    b"script": re.compile(rb"</script\s*>", re.IGNORECASE),
    b"style": re.compile(rb"</style\s*>", re.IGNORECASE),
    None: re.compile(rb"-->"),
}

# Dialogs (cookie consent, user cards) are not the page's text; thread.py drops them too.
# Bootstrap's ``modal`` is a dialog whatever its role: hidden until a script opens it. (Only
# here: thread.py would pay a walk of the whole tree on every page with a class "*modal".)
NOT_PAGE_TEXT = "[role=dialog], [role=alertdialog], .modal"
# a tag inside one line: the rendering writes each tag on one line, attributes included
_TAG_IN_LINE = re.compile(r"<[^>\n]*>")
# Case-sensitive: resiliparse writes its tags in lower case and escapes "<" in text and
# attribute values (an ignore-case search costs 0.2-0.3 ms a page).
_LINK = re.compile(r"<a\b[^>]*>(.*?)</a\s*>", re.DOTALL)
_HEADING = re.compile(r"\s*<h[1-6]\b", re.IGNORECASE)
# Clause punctuation marks running prose; titles, menus and headline lists rarely carry it.
_PUNCT = re.compile(r"[，。！？；：、,!?;]")
_SENTENCE_PUNCT = re.compile(r"[，。！？；,!?;]")
# Site-wide footer and disclaimer lines: they are punctuated prose, so they would otherwise
# score like article text and pull the region past the article's end.
_FOOTER_PHRASES = (
    "ICP备", "ICP证", "公网安备", "版权所有", "all rights reserved", "copyright", "©", "举报电话",
    "举报邮箱", "免责声明", "郑重声明", "特别声明", "平台声明", "版权声明",
)  # fmt: skip
# The lookahead on the phrases' first characters is only a fast path (the regex engine skips
# positions by one character class instead of trying every phrase, case-insensitively, at each
# position: 4x faster); what matches is exactly the phrases.
_FOOTER = re.compile(
    f"(?=[{''.join(sorted({p[0] for p in _FOOTER_PHRASES}))}])"
    f"(?:{'|'.join(map(re.escape, _FOOTER_PHRASES))})",
    re.IGNORECASE,
)
# Ad slots inside an article leave only their label behind.
_AD_LABELS = frozenset({"广告", "广告位", "推广", "AD", "Ad", "ad", "Advertisement"})
# Lines that sit at the edges of an article on most Chinese news and self-media platforms and
# are never part of it: editor credits, the source and original-title notes of a reprint,
# platform disclaimers, copyright and share prompts.
_EDGE_BOILERPLATE = re.compile(
    r"^\s*[（(【\[]?\s*(责任编辑|责编|编辑[:：]|(本文)?来源[:：]|(本文)?原标题|"
    r"(免责|特别|平台|版权)?声明[:：]|版权所有|copyright|©|"
    r"查看原图|点击(查看|阅读|进入)|扫码|扫一扫|分享到|举报|相关(阅读|推荐|新闻))",
    re.IGNORECASE,
)

# The line under a headline: a date, or the labels of source, author and time, with no clause
# of prose ("2019-09-26 12:11 来源：证券时报网 作者：李在山").
_DATELINE = re.compile(
    r"^\s*(\d{4}\s*[-/.年]\s*\d{1,2}|(发布|更新)?时间\s*[:：]|来源\s*[:：]|作者\s*[:：]|发布于)"
)
# A related-articles heading: the list under it is teasers of other pages, and the article
# has ended ("相关阅读", "您可能感兴趣的文章", "Related articles").
_RELATED_HEADING = re.compile(
    r"^\s*(相关(阅读|推荐|新闻|文章|报道|链接)|推荐阅读|延伸阅读|猜你喜欢|热门推荐|为你推荐|精彩推荐|"
    r"(您|你)可能(感兴趣|会喜欢|还喜欢)|related (articles|posts|stories)|you may also like|"
    r"recommended)",
    re.IGNORECASE,
)
RELATED_HEADING_CHARS = 12  # a heading, not a sentence that mentions related news
# The editor's credit closes a Chinese news article; what follows is the platform's (comment
# widgets, feeds). Some sites put it under the headline instead, so it ends the article only
# below most of the region's prose.
_EDITOR_CREDIT = re.compile(r"^\s*[（(【\[]?\s*(责任编辑|责编)\s*[:：]")
# Self-media platforms (sohu, 163, 360kuai, baijiahao) close every user's article with a
# statement that they only store it; below it comes their feed, often the next article whole.
_PLATFORM_STATEMENT = re.compile(r"仅提供信息(存储|发布)")


@dataclass(frozen=True)
class LineScoring:
    """Weights of the per-line score; chosen on half of the magic-html pages (see benchmark)."""

    line_cost: float = 20.0  # what a line must carry to pay for itself (~ a short clause)
    punct_weight: float = 4.0  # bonus per clause mark: prose, not a title or a menu entry
    link_weight: float = 2.0  # link text counts against a line: link farms, related lists
    max_link_density: float = 0.5  # inside the article, drop lines that are mostly links
    short_edge_chars: int = 15  # unpunctuated lines shorter than this are trimmed at edges
    # Prose has a clause mark every 10-50 characters. A long line with (almost) none is a
    # keyword-stuffing or tag-cloud block; it counts against the region and is never kept.
    stuffing_min_chars: int = 300
    stuffing_chars_per_punct: int = 100


DEFAULT_SCORING = LineScoring()
# A page is a thread when its posts hold this share of the article region's prose lines.
THREAD_COVERAGE = 0.8
THREAD_PROSE_CHARS = 20
THREAD_SKIP_SHARE = 0.9  # ... unless the article region holds this share of the page's prose
THREAD_DISTINCT_SHARE = 0.5  # of a thread's lines, at least this share are distinct
# A footer line in the last this share of the region's characters ends the article there.
CLOSING_FOOTER_SHARE = 0.25
# Below this many characters the primary found no main text: a fallback extractor gets a try.
FALLBACK_BELOW_CHARS = 50
# Posts that do not hold the article are its readers' replies (V2EX's replies under the topic,
# a news site's comment list) when they follow it under a heading that counts them ("24 条回复",
# "热门评论 7条", "跟贴 19", "12 Comments") within this many lines of the first reply. Sidebars,
# photo feeds and "related" lists that repeat a template are not headed so.
REPLIES_HEADING_LINES = 12
_REPLIES = r"(?:评论|回复|跟贴|跟帖|留言|comments?|repl(?:y|ies)|answers?|responses?)"
_REPLIES_HEADING = re.compile(
    rf"\d\s*[条个]?\s*{_REPLIES}|{_REPLIES}\s*[（(\[：:]?\s*\d", re.IGNORECASE
)
# ... and when they are replies, not the user names, dates and counts of a comment widget
# whose bodies were left out: most of their text is in lines with a clause mark (a full stop
# only before a space or the line's end: "2019.05.17" is a date).
REPLIES_PUNCTUATED_SHARE = 0.5
_REPLY_PUNCT = re.compile(r"[，。！？；,!?;]|\.(?:\s|$)")


class _Line(NamedTuple):  # a tuple: a page has hundreds of lines, a dataclass costs 4x more
    text: str
    chars: int  # non-whitespace characters
    link_chars: int
    punct: int
    raw: str  # the rendered line with its markup (headings are checked at the edges only)
    footer: bool
    code: bool  # inside <pre>: code or preformatted text, neither prose nor a menu


def extract_main_text(html: str, url: str | None = None) -> str:
    """Return the main text of ``html``, paragraphs separated by ``"\\n"``; ``""`` if none.

    ``url`` is accepted for interface stability (other extractors use it for site rules);
    this one is purely structural. Never raises: junk, binary or empty input gives ``""``.
    """
    if not isinstance(html, str) or not html.strip():
        return ""
    try:
        return _extract(html, DEFAULT_SCORING)
    except Exception:  # a corrupt page must cost one document, never the whole shard
        log.debug("main-text extraction failed for %s", url, exc_info=True)
        return ""


def _extract(html: str, scoring: LineScoring) -> str:
    if len(html) > MAX_HTML_CHARS:
        kept = _drop_scripts(html.encode("utf-8", errors="replace"))
        html = kept.decode("utf-8", errors="replace")[:MAX_HTML_CHARS]
    html = html.replace("\x00", "")  # NULs make some parsers stop early; they are never text
    lines = _render_lines(html)
    start, end = _best_span(lines, scoring)
    region = _trim_edges(lines[start:end], scoring)
    article = [line.text for line in region if not _link_heavy(line, scoring)]
    text = "\n".join(article)
    # Where the region already holds (nearly) all of the page's prose, posts could add
    # nothing, and where it holds none, no posts can cover it (list and navigation pages):
    # either way the second parse is skipped.
    region_prose = _prose_chars(region, scoring)
    may_be_thread = 0 < region_prose < THREAD_SKIP_SHARE * _prose_chars(lines, scoring)
    thread = None
    if may_be_thread:
        # resiliparse's parse left the UTF-8 bytes of ``html`` cached on it: encoding copies
        thread = find_thread(_drop_scripts(html.encode("utf-8", errors="replace")))
    # Rendering the posts is paid only where they may hold the article or be its replies.
    if (
        thread is not None
        and len(thread) >= 2
        and (_may_cover(thread, article) or _replies_heading(lines[end:]))
    ):
        titled = _thread_lines(thread, scoring)
        posts = titled[1:] if thread.title else titled
        if _is_thread(titled, article):
            if thread.is_list:
                # The region was a list of titles and teasers: the article, if any, is the
                # best region of what the list does not hold (a list page keeps none).
                listed = set(posts)
                rest = [line for line in lines if line.text not in listed]
                region = _trim_edges(_best_region(rest, scoring), scoring)
                article = [line.text for line in region if not _link_heavy(line, scoring)]
                return "\n".join(article) if _mostly_prose("\n".join(article)) else ""
            text = "\n".join(titled)
        elif posts and _are_replies(posts, lines[end:]) and not thread.is_list:
            # the replies hang under the article's headline: the heading nearest above it
            above = lines[: start + lines[start:end].index(region[0])] if region else []
            headline = [line.text for line in above if _HEADING.match(line.raw)][-1:]
            text = "\n".join(_once(headline + article + posts))
    if _count_chars(text) < FALLBACK_BELOW_CHARS and not _link_page(lines, scoring):
        fallback = _fallback(html)
        if _mostly_prose(fallback) and _count_chars(fallback) > _count_chars(text):
            text = fallback
    return text


def _link_page(lines: list[_Line], scoring: LineScoring) -> bool:
    """Most of the page's text is links: a list or navigation page, where the fallback
    (seconds on a large portal page) finds no article either."""
    chars = sum(line.chars for line in lines)
    return sum(line.link_chars for line in lines) > scoring.max_link_density * chars


def _mostly_prose(text: str) -> bool:
    """Most characters sit in distinct lines of prose length: not a menu or a list of
    titles, which fallback extractors return from list pages."""
    lines = text.splitlines()
    prose = {line for line in lines if len(line) >= THREAD_PROSE_CHARS}
    return 2 * sum(map(len, prose)) >= sum(map(len, lines)) > 0


def _fallback(html: str) -> str:
    """trafilatura's text: its own fallbacks (readability, jusText) find articles the line
    scores miss (a single long paragraph between link-heavy lines). ~15x the primary's
    time, paid on the few pages where the primary found (almost) nothing."""
    import trafilatura  # imported here: it costs ~0.5 s, and most pages never need it

    return trafilatura.extract(html, include_comments=False, fast=True) or ""


def _thread_lines(thread: Thread, scoring: LineScoring) -> list[str]:
    # one rendering for all posts; the <div> around each keeps two posts off one line
    lines = _render_lines("".join(f"<div>{post}</div>" for post in thread.posts))
    kept = [line.text for line in lines if not line.footer and not _link_heavy(line, scoring)]
    # the title stays even as a link (often a permalink to the thread)
    kept = [thread.title, *kept] if thread.title else kept
    # A share button or a "reply" box repeated under every item of a list page is no thread.
    return kept if len(set(kept)) >= THREAD_DISTINCT_SHARE * len(kept) else []


def _may_cover(thread: Thread, article: list[str]) -> bool:
    """Whether the posts may hold the article's prose as ``_is_thread`` asks, judged before
    they are rendered: a prose line with a character the posts' text lacks is not in them."""
    prose = [line for line in article if len(line) >= THREAD_PROSE_CHARS]
    chars = thread.characters
    held = sum(len(line) for line in prose if chars.issuperset(line.replace(" ", "")))
    return bool(prose) and held >= THREAD_COVERAGE * sum(len(line) for line in prose)


def _replies_heading(after: list[_Line]) -> bool:
    """A heading that counts replies follows the article (``_are_replies`` needs one)."""
    return any(_REPLIES_HEADING.search(line.text) for line in after)


def _are_replies(posts: list[str], after: list[_Line]) -> bool:
    """The posts are replies to the article: they follow it (``after`` are the page's lines
    after the article region) under a heading that counts them, and most of their text is
    punctuated, as replies are and user names, dates and vote counts are not."""
    texts = [line.text for line in after]
    try:
        first = texts.index(posts[0])
    except ValueError:  # the first post is not after the article: a sidebar or a feed above it
        return False
    heading = texts[max(0, first - REPLIES_HEADING_LINES) : first]
    if not any(_REPLIES_HEADING.search(text) for text in heading):
        return False
    punctuated = sum(len(line) for line in posts if _REPLY_PUNCT.search(line))
    return punctuated >= REPLIES_PUNCTUATED_SHARE * sum(map(len, posts))


def _once(lines: list[str]) -> list[str]:
    """Each line at its first place: a comment list shows its hot replies twice."""
    return list(dict.fromkeys(lines))


def _is_thread(thread: list[str], article: list[str]) -> bool:
    """The posts hold the article's prose: the best region was one post, or several with
    the user names and dates between them; a comment list beside an article never does."""
    prose = [line for line in article if len(line) >= THREAD_PROSE_CHARS]
    if not prose or not thread:  # no prose anywhere: a list or navigation page
        return False
    posts_text = "\n".join(thread)
    covered = sum(len(line) for line in prose if line in posts_text)
    return covered >= THREAD_COVERAGE * sum(len(line) for line in prose)


def _prose_chars(lines: list[_Line], scoring: LineScoring) -> int:
    return sum(
        line.chars
        for line in lines
        if line.chars >= THREAD_PROSE_CHARS and not _link_heavy(line, scoring)
    )


def _link_heavy(line: _Line, scoring: LineScoring) -> bool:
    return line.link_chars > scoring.max_link_density * line.chars


def _drop_scripts(html: bytes) -> bytes:
    """Cut scripts, styles and comments in one linear pass.

    A plain ``<script>.*?</script>`` regex rescans to the end of the input for every unclosed
    tag, which is quadratic on exactly the junk this guards against; here an unclosed one
    ends the document instead.
    """
    kept = []
    pos = 0
    while (opening := _NOT_TEXT_OPEN.search(html, pos)) is not None:
        kept.append(html[pos : opening.start()])
        tag = opening.group(1)
        closing = _NOT_TEXT_CLOSE[tag.lower() if tag else None].search(html, opening.end())
        if closing is None:
            return b"".join(kept)
        pos = closing.end()
    kept.append(html[pos:])
    return b"".join(kept)


def _render_lines(html: str) -> list[_Line]:
    # main_content=False on purpose: the region choice below does the boilerplate removal, and
    # resiliparse's own heuristics drop text hidden until scripts run (WeChat articles).
    tree = HTMLTree.parse(html)
    if tree.body is not None:
        for node in tree.body.query_selector_all(NOT_PAGE_TEXT):
            node.decompose()
    rendered = extract_plain_text(
        tree,
        preserve_formatting="minimal_html",
        main_content=False,
        links=True,
        list_bullets=False,
        alt_texts=False,
        noscript=False,
        form_fields=False,
    )
    # Inside <pre> the rendering keeps a <br> as a tag, not a line break (code blocks written
    # with <br>, as WeChat's editors do); outside it, a <br> is already followed by one.
    has_pre = "<pre>" in rendered  # resiliparse writes its tags lower-case, without attributes
    if has_pre:
        rendered = rendered.replace("<br>", "\n")
    raw_lines = rendered.split("\n")
    # Tags and entities go in one call over the whole rendering, not one per line: neither a
    # tag (by this pattern) nor an entity spans a line break, so the result is the same unless
    # a character reference expands to a line break, which would shift lines; then per line.
    plain_lines = html_lib.unescape(_TAG_IN_LINE.sub("", rendered)).split("\n")
    if len(plain_lines) != len(raw_lines):
        plain_lines = [html_lib.unescape(_TAG_IN_LINE.sub("", raw)) for raw in raw_lines]
    lines = []
    in_pre = False
    for raw, plain in zip(raw_lines, plain_lines, strict=True):
        code = in_pre
        if has_pre:  # most renderings have none: no search of every line
            if "<pre>" in raw:
                code = in_pre = True
            if "</pre>" in raw:
                in_pre = False
        text = " ".join(plain.split())  # the same whitespace as re.sub(r"\s+", " ", ...).strip()
        if not text:
            continue
        chars = len(text) - text.count(" ")  # whitespace is single spaces by now
        link_chars = 0
        if "<a" in raw:  # most lines have no link: skip the regex
            # all the line's link texts in one call, one per line: tags and entities cannot
            # cross the "\n" between them, so this counts exactly what link by link would
            links = "\n".join(_LINK.findall(raw))
            link_chars = min(_count_chars(html_lib.unescape(_TAG_IN_LINE.sub("", links))), chars)
        punct = len(_PUNCT.findall(text))
        lines.append(_Line(text, chars, link_chars, punct, raw, False, code))
    return _mark_footers(lines)


def _mark_footers(lines: list[_Line]) -> list[_Line]:
    """Flag footer lines with one search over the page rather than one per line.

    Footers are a few lines a page; no footer phrase spans a line break, so every line holding
    one has a match that starts inside it.
    """
    joined = "\n".join(line.text for line in lines)
    for match in _FOOTER.finditer(joined):
        index = joined.count("\n", 0, match.start())
        if not lines[index].footer:
            lines[index] = lines[index]._replace(footer=True)
    return lines


def _count_chars(text: str) -> int:
    # str.split() splits on exactly the characters str.isspace() accepts, in C
    return sum(map(len, text.split()))


def _is_stuffing(line: _Line, scoring: LineScoring) -> bool:
    return (
        line.chars >= scoring.stuffing_min_chars
        and line.punct * scoring.stuffing_chars_per_punct < line.chars
    )


def _line_score(line: _Line, scoring: LineScoring) -> float:
    own = line.chars - line.link_chars
    if line.code:
        # Code is short lines without clause marks, yet a tutorial's main text: each line pays
        # for itself, and a code block alone can be a page's main text.
        return own - scoring.link_weight * line.link_chars
    if line.footer or _is_stuffing(line, scoring):
        return -line.chars - scoring.line_cost
    # Punctuation only counts outside links: a linked headline with a comma is still a link.
    punct = line.punct if own > 0 else 0
    return (
        own
        + scoring.punct_weight * punct
        - scoring.link_weight * line.link_chars
        - scoring.line_cost
    )


def _best_region(lines: list[_Line], scoring: LineScoring) -> list[_Line]:
    start, end = _best_span(lines, scoring)
    return lines[start:end]


def _best_span(lines: list[_Line], scoring: LineScoring) -> tuple[int, int]:
    """Where the contiguous run of lines with the largest total score starts and ends
    (Kadane's algorithm)."""
    best_total = running = 0.0
    best = (0, 0)
    start = 0
    for i, line in enumerate(lines):
        if running <= 0:
            running, start = 0.0, i
        running += _line_score(line, scoring)
        if running > best_total:
            best_total, best = running, (start, i + 1)
    return best


def _is_edge_noise(line: _Line, scoring: LineScoring) -> bool:
    if line.footer or _HEADING.match(line.raw) or _EDGE_BOILERPLATE.match(line.text):
        return True
    if _link_heavy(line, scoring):  # never output; an edge beyond it may still be noise
        return True
    if line.code:
        return False
    if _DATELINE.match(line.text) and not _SENTENCE_PUNCT.search(line.text):
        return True
    # Bylines, dates, "+关注" buttons and image captions border the article but are no prose.
    return line.chars < scoring.short_edge_chars and not _SENTENCE_PUNCT.search(line.text)


def _is_related_heading(line: _Line) -> bool:
    return line.chars <= RELATED_HEADING_CHARS and _RELATED_HEADING.match(line.text) is not None


def _end_of_article(region: list[_Line], scoring: LineScoring) -> list[_Line]:
    """The region above the line that ends its article, if one does: a related-articles
    heading after the first prose (its teasers are punctuated prose too), a platform's
    statement that it only stores the article, or the editor's credit below most of the prose
    (a comment box and a feed follow it). Except under the statement, the best span is
    chosen again above that line: the share bars and comment boxes between the article and
    the teasers or the feed were only bridged for their sake."""
    total = _prose_chars(region, scoring)
    prose = 0
    for i, line in enumerate(region):
        if prose and _PLATFORM_STATEMENT.search(line.text) is not None:
            return region[:i]  # it sits right under the article: nothing to choose again
        if prose and (
            _is_related_heading(line)
            or (2 * prose >= total and _EDITOR_CREDIT.match(line.text) is not None)
        ):
            return _best_region(region[:i], scoring)
        if line.chars >= THREAD_PROSE_CHARS and not _link_heavy(line, scoring):
            prose += line.chars
    return region


def _trim_edges(region: list[_Line], scoring: LineScoring) -> list[_Line]:
    region = _end_of_article(region, scoring)
    start, end = 0, len(region)
    # A disclaimer or copyright line near the end closes the article: what follows it (its
    # translation, share bars, related links) is the platform's, not the author's.
    tail = 0
    total = sum(line.chars for line in region)
    for i in range(len(region) - 1, -1, -1):
        if region[i].footer:
            end = i
            break
        tail += region[i].chars
        if tail > CLOSING_FOOTER_SHARE * total:
            break
    while start < end and _is_edge_noise(region[start], scoring):
        start += 1
    while end > start and _is_edge_noise(region[end - 1], scoring):
        end -= 1
    return region[start:end]
