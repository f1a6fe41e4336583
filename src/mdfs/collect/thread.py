"""Find the post bodies of a forum thread, Q&A page or comment list from the page's structure.

A thread is a run of records made by one template: every post body carries the same markup
(Discourse's ``cooked``, phpBB's ``content``, Stack Exchange's ``s-prose js-post-body``,
tieba's ``d_post_content``, Discuz's ``postmessage_<n>`` ids, schema.org's
``itemprop="text"``). So no engine is named here: elements are grouped by what a template
repeats (tag and class; an id with its digits taken out; an ``itemprop``), each group is
scored by the non-link text its elements hold, and the best group is followed inwards while
an inner group keeps most of its text: from the whole post (user name, date, buttons, body,
signature) down to the body alone.

The same template makes lists: a thread list, a board index, headlines with teasers. Their
records lead with a title linking to a page of its own (distinct from every other record's),
a thread's with user names that repeat and permalinks; ``Thread.is_list`` tells them apart.

lxml, not resiliparse, walks the tree: resiliparse's Python node wrappers cost ~25 us each
(a large page is 3,000+ elements), lxml's under 1 us.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property

from lxml import etree

# collect_ids=False: no id hash table (duplicate ids are common and nothing here looks one up)
_PARSER = etree.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, collect_ids=False
)
# Text in these is never shown as page text.
_NOT_SHOWN = ("script", "style", "noscript", "template")  # and the head
_NOT_SHOWN_OPENINGS = {tag: f"<{tag}".encode() for tag in _NOT_SHOWN}
# Records are blocks (inline elements repeat for every user name and date) that carry what a
# template repeats.
_RECORD_TAGS = ("div", "article", "section", "li", "td", "blockquote", "dd", "main", "p")
# Dialogs (cookie consent, user cards): not the page's text (extract.NOT_PAGE_TEXT likewise)
_DIALOGS = etree.XPath("//*[@role='dialog' or @role='alertdialog']")
# The search walks the whole tree (~1.5 ms); half the pages say "dialog" (Bootstrap's
# "modal-dialog" class), few carry the role. A role's value may be quoted or not. (Case-
# sensitive: a literal start lets the regex engine skip ahead; upper-case attribute names
# are rare.)
_DIALOG_ROLE = re.compile(rb"""role\s*=\s*["']?(?:alert)?dialog\b""")
_DIGITS = re.compile(r"\d+")
# Links count against a group: a post body links little, a menu or a list of titles is links.
LINK_WEIGHT = 2.0
# Follow a group inwards while the inner one keeps this share of the best group's score.
INNER_KEEP = 0.6
# ... or this share when each outer element holds exactly one inner one (a post's body)
BODY_KEEP = 0.3
MIN_POSTS = 2
# Distinct link texts heading the records, as a share of the posts' text, that make a list
# page (tieba's thread list: 0.47; threads on the "tune" forum pages: at most 0.19).
LIST_TITLE_SHARE = 0.3


@dataclass
class _Group:
    elements: list  # lxml elements, document order, none inside another of the group
    score: float
    with_text: int  # elements that hold any text


class Thread:
    """The post bodies of a page and the heading above them. What is derived from them is
    worked out when first asked for: most pages' posts are a sidebar or a feed beside the
    article, which the extractor sets aside from their characters alone."""

    def __init__(self, elements: list, title: str) -> None:
        self._elements = elements  # lxml elements, in page order
        self.title = title  # the text of the heading before the first post ("" if none)

    def __len__(self) -> int:
        return len(self._elements)

    @cached_property
    def posts(self) -> list[str]:
        """The HTML of each post body, in page order."""
        return [_html(el) for el in self._elements]

    @cached_property
    def characters(self) -> frozenset[str]:
        """Every character of the posts' and the title's text. A rendering of the posts holds
        no other: it drops form fields and embedded objects and adds only whitespace."""
        return frozenset("".join(map(_text_of, self._elements)) + self.title)

    @cached_property
    def is_list(self) -> bool:
        """The records are headed by links of their own: titles with teasers."""
        return _is_list(self._elements)


def find_thread(data: bytes) -> Thread | None:
    """The posts of the page ``data`` (UTF-8 HTML) when it holds records made by one
    template, else ``None``.

    Scripts and styles are best cut from ``data`` before (extract.py does): libxml2 parses
    half the bytes."""
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.ParserError, ValueError):
        return None
    if root is None:
        return None
    # Stripping walks the whole tree; most pages (scripts and styles cut before) hold no
    # element to strip but the head, which libxml2 only ever puts under the root.
    lowered = data.lower()
    if shown := [tag for tag, opening in _NOT_SHOWN_OPENINGS.items() if opening in lowered]:
        etree.strip_elements(root, *shown, with_tail=False)
    for head in root.findall("head"):
        _remove(head)
    if _DIALOG_ROLE.search(data):
        for el in _DIALOGS(root):
            _remove(el)
    group = _thread_group(root)
    if group is None:
        return None
    posts = group.elements
    # The thread's title: the nearest <h1> or <h2> before the first post (phpBB puts the
    # site's name in <h1>, the topic in <h2>).
    heading = _heading_before(posts[0])
    title = " ".join(_text_of(heading).split()) if heading is not None else ""
    return Thread(posts, title)


def _heading_before(el):
    """The last <h1> or <h2> before ``el`` in document order that is not its ancestor (XPath's
    ``preceding::*[self::h1 or self::h2][1]``), found walking back from ``el``: the XPath
    walks the whole page before it, half a millisecond a page."""
    while el is not None:
        for sibling in el.itersiblings(preceding=True):
            # a sibling comes before its descendants: the last heading found is the nearest
            if headings := list(sibling.iter("h1", "h2")):
                return headings[-1]
        el = el.getparent()
    return None


def _html(el) -> str:
    return etree.tostring(el, method="html", encoding="unicode", with_tail=False)


def _is_list(posts: list) -> bool:
    """A list of titles with teasers, not a thread: each record leads with a link of its own
    (the title, distinct from every other record's) carrying a good share of the text.

    A post's record is its largest ancestor holding no other post. A thread's records are
    headed by user names (short, repeated across records) and permalinks (a date, "#3"); a
    list's by titles linking to their own pages, as long as a good part of the teasers."""
    shared: Counter = Counter()
    chains = [list(post.iterancestors()) for post in posts]
    for chain in chains:
        shared.update(chain)
    headings = []
    for post, chain in zip(posts, chains, strict=True):
        record = post
        for ancestor in chain:
            if shared[ancestor] > 1:
                break
            record = ancestor
        inside = set(post.iter("a"))
        links = [_text(a) for a in record.iter("a") if a not in inside]
        headings.append(max(links, key=len, default=""))
    repeated = Counter(headings)
    title_chars = sum(len(h) for h in headings if repeated[h] == 1)
    return title_chars >= LIST_TITLE_SHARE * sum(map(_chars, posts))


def _text_of(el) -> str:
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


def _text(el) -> str:
    """The text under ``el`` without whitespace."""
    return "".join(_text_of(el).split())


def _thread_group(root) -> _Group | None:
    counts = _TextCounts()
    repeated = [elements for elements in _template_members(root).values() if len(elements) >= 2]
    # Most groups (menus, icons, list items) are scored only by their text, an upper bound
    # of the score: links cost a second walk, paid only where the group may be chosen.
    bounds = sorted(
        ((sum(map(counts.text, els)), els) for els in repeated), reverse=True, key=lambda b: b[0]
    )
    groups: list[_Group] = []
    for bound, elements in bounds:
        if groups and bound < BODY_KEEP * max(g.score for g in groups):
            break
        group = _score(elements, counts)
        if group.with_text >= MIN_POSTS and group.score > 0:
            groups.append(group)
    if not groups:
        return None
    groups.sort(key=lambda g: g.score, reverse=True)
    top = best = groups[0]
    for inner in groups[1:]:
        if inner.score < BODY_KEEP * top.score:
            break
        # one inner element per record is the record's body, however much chrome it leaves
        keep = BODY_KEEP if len(inner.elements) == len(best.elements) else INNER_KEEP
        if inner.score >= keep * top.score and _inside(inner, best):
            best = inner
    return best


def _template_members(root) -> dict[tuple[str, str], list]:
    """Record elements by what a template repeats on them: tag + class, an id less its
    digits, an itemprop. (One loop, no call per element: a page has hundreds of records.)"""
    members: dict[tuple[str, str], list] = defaultdict(list)
    for el in root.iter(_RECORD_TAGS):
        get = el.get
        if cls := get("class"):
            members[el.tag, " ".join(cls.split())].append(el)
        if (ident := get("id")) and _DIGITS.search(ident):
            members["id", _DIGITS.sub("#", ident)].append(el)
        if prop := get("itemprop"):
            members["itemprop", prop].append(el)
    return members


class _TextCounts:
    """Non-whitespace characters under an element, and how many of them are link text.

    libxml2 serialises the subtree's text in C (twice as fast as an XPath ``string()``);
    nested candidates cost a walk each, which is still far cheaper than one Python visit per
    element of the page."""

    def __init__(self) -> None:
        self._text: dict = {}

    def text(self, el) -> int:
        if (chars := self._text.get(el)) is None:
            chars = self._text[el] = _chars(el)
        return chars

    def links(self, el) -> int:
        # through the cache: nested candidate groups hold the same links
        return sum(map(self.text, el.iter("a")))


def _chars(el) -> int:
    """Non-whitespace characters of the text under ``el``."""
    return len(_text(el))


def _score(elements: list, counts: _TextCounts) -> _Group:
    members = set(elements)
    outermost = [el for el in elements if not any(a in members for a in el.iterancestors())]
    score = 0.0
    with_text = 0
    for el in outermost:
        text = counts.text(el)
        links = counts.links(el) if text else 0
        score += text - (1 + LINK_WEIGHT) * links
        # a record with text: a post body, not a menu (a header and a main wrapper share a class)
        with_text += text > 0 and 2 * links <= text
    return _Group(outermost, score, with_text)


def _inside(inner: _Group, outer: _Group) -> bool:
    outer_set = set(outer.elements)
    return all(any(a in outer_set for a in el.iterancestors()) for el in inner.elements)


def _remove(el) -> None:
    """Take ``el`` out of the tree, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)
