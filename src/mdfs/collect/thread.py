"""Find the post bodies of a forum thread, Q&A page or comment list from the page's structure.

A thread is a run of records made by one template: every post body carries the same markup
(Discourse's ``cooked``, phpBB's ``content``, Stack Exchange's ``s-prose js-post-body``,
tieba's ``d_post_content``, Discuz's ``postmessage_<n>`` ids, schema.org's
``itemprop="text"``). So no engine is named here: elements are grouped by what a template
repeats (tag and class; an id with its digits taken out; an ``itemprop``), each group is
scored by the non-link text its elements hold, and the best group is followed inwards while
an inner group keeps most of its text: from the whole post (user name, date, buttons, body,
signature) down to the body alone.

lxml, not resiliparse, walks the tree: resiliparse's Python node wrappers cost ~25 us each
(a large page is 3,000+ elements), lxml's under 1 us.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import lxml.html
from lxml import etree

# Text in these is never shown as page text.
_NOT_SHOWN = frozenset({"script", "style", "noscript", "template", "head", "title", "meta"})
# Records are blocks; inline elements (spans, links) repeat for every user name and date.
_RECORD_TAGS = frozenset(
    {"div", "article", "section", "li", "td", "blockquote", "dd", "main", "table", "tr", "p"}
)
# Dialogs (cookie consent, user cards) and what the page hides: as extract.NOT_PAGE_TEXT
_HIDDEN = "//*[@role='dialog' or @role='alertdialog' or @aria-hidden='true' or @hidden]"
_DIGITS = re.compile(r"\d+")
# Links count against a group: a post body links little, a menu or a list of titles is links.
LINK_WEIGHT = 2.0
# Follow a group inwards while the inner one keeps this share of the best group's score.
INNER_KEEP = 0.6
# ... or this share when each outer element holds exactly one inner one (a post's body)
BODY_KEEP = 0.3
MIN_POSTS = 2


@dataclass
class _Group:
    elements: list  # lxml elements, document order, none inside another of the group
    score: float
    with_text: int  # elements that hold any text


def thread_posts(html: str) -> list[str]:
    """The HTML of each post body, in page order; ``[]`` when the page is not a thread."""
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    group = _thread_group(root)
    if group is None:
        return []
    return [lxml.html.tostring(el, encoding="unicode", with_tail=False) for el in group.elements]


def _thread_group(root) -> _Group | None:
    for el in root.xpath(_HIDDEN):
        el.drop_tree()
    text, links = _text_counts(root)
    members: dict[tuple[str, str], list] = defaultdict(list)
    for el in text:
        if el.tag not in _RECORD_TAGS or text[el] == 0:
            continue
        for key in _template_keys(el):
            members[key].append(el)
    groups = [
        _score(elements, text, links) for elements in members.values() if len(elements) >= 2
    ]
    groups = [g for g in groups if g.with_text >= MIN_POSTS and g.score > 0]
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


def _template_keys(el) -> list[tuple[str, str]]:
    """What a template repeats on this element: tag + class, id less its digits, itemprop."""
    keys = []
    if cls := el.get("class"):
        keys.append((el.tag, " ".join(cls.split())))
    if (ident := el.get("id")) and _DIGITS.search(ident):
        keys.append(("id", _DIGITS.sub("#", ident)))
    if prop := el.get("itemprop"):
        keys.append(("itemprop", prop))
    return keys


def _text_counts(root) -> tuple[dict, dict]:
    """Non-whitespace characters and link characters under every shown element, bottom up."""
    text: dict = {}
    links: dict = {}
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    for el in reversed(elements):  # children before parents
        if el.tag in _NOT_SHOWN:
            text[el] = links[el] = 0
            continue
        own = _chars(el.text)
        own_links = 0
        for child in el:
            own += _chars(child.tail)
            if isinstance(child.tag, str):
                own += text[child]
                own_links += links[child]
        text[el] = own
        links[el] = own if el.tag == "a" else own_links
    return text, links


def _chars(text: str | None) -> int:
    return sum(map(len, text.split())) if text else 0


def _score(elements: list, text: dict, links: dict) -> _Group:
    members = set(elements)
    outermost = [el for el in elements if not any(a in members for a in el.iterancestors())]
    score = sum(text[el] - (1 + LINK_WEIGHT) * links[el] for el in outermost)
    # a record with text: a post body, not a menu (a header and a main wrapper share classes)
    with_text = sum(1 for el in outermost if 0 < 2 * links[el] <= text[el] or links[el] == 0 < text[el])
    return _Group(outermost, score, with_text)


def _inside(inner: _Group, outer: _Group) -> bool:
    outer_set = set(outer.elements)
    return all(any(a in outer_set for a in el.iterancestors()) for el in inner.elements)
