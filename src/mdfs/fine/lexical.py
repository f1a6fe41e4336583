"""Lexical signals: densities of junk vocabulary, keyword repetition, title-body agreement.

Web junk that reads fluently still gives itself away in its words. Gambling and porn
anchors injected into real news, hospital and clinic marketing written as an article, loan
and investment scams, franchise copy and the calls to contact that close every ad each
have a vocabulary ordinary news rarely uses (`data/lexicon/signals.tsv`, plus the gambling
and porn rows of `sensitive.tsv`), so their hits per 1,000 characters are a cheap signal.
SEO pages repeat their target keyword through the text (`top_ngram_share`), and spun or
collaged pages carry a title that does not match the body (`title_overlap`). Two figures
of line shape go with them (`mean_line_chars`, `sentence_end_fraction`): lists and link
blocks are short lines that end no sentence.
"""

from __future__ import annotations

import re
from collections import Counter

from pydantic import Field, PrivateAttr

from mdfs.coarse.keywords import build_automaton, default_lexicon, matches, read_words
from mdfs.document import Document
from mdfs.pipeline import Filter, register

CATEGORIES = ("gambling", "porn", "medical", "finance", "marketing", "contact")
# the rows of sensitive.tsv that name the same kinds of junk
SENSITIVE_CATEGORIES = {"赌博": "gambling", "色情": "porn"}
ADVERTISING = ("medical", "finance", "marketing", "contact")
JUNK = ("gambling", "porn")


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def top_ngram_share(text: str, n: int = 4) -> float:
    """Share of the Chinese characters covered by the most frequent Chinese n-gram."""
    cjk = "".join(c for c in text if _is_cjk(c))
    if len(cjk) < 5 * n:
        return 0.0
    counts = Counter(cjk[i : i + n] for i in range(len(cjk) - n + 1))
    return min(1.0, counts.most_common(1)[0][1] * n / len(cjk))


SENTENCE_ENDS = tuple("。！？…”」』）.!?;；:：")
_ENDS = re.escape("".join(SENTENCE_ENDS))
_LAST_SENTENCE_END = re.compile(f"[{_ENDS}][^{_ENDS}]*$")


def line_shape(text: str) -> tuple[float, float]:
    """(mean characters per non-blank line, share of their characters that lie in finished
    sentences: up to the last sentence end of their line).

    Prose is long lines ending in sentence punctuation; navigation, headline walls, tag
    lists and link farms are short lines that end anywhere. Counted in characters, not
    lines: a one-paragraph article whose last words are a link or a list item (官方网站, a
    "see also" run) is prose up to there, not a line that ends no sentence.
    """
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not lines:
        return 0.0, 0.0
    characters = sum(map(len, lines))
    finished = sum(m.start() + 1 for line in lines if (m := _LAST_SENTENCE_END.search(line)))
    return characters / len(lines), finished / characters


def title_overlap(text: str, title: str | None = None, max_title_chars: int = 64) -> float | None:
    """Share of the title's Chinese characters that occur in the body.

    The title is the record's own (`title`) when it has one, else the first line of the text.
    None when it does not look like a title (too long, no Chinese) or there is no body. A
    real headline shares most of its characters with its article; a station-group page
    keeps a keyword title over whatever body it was given.
    """
    if title is None:
        title, _, body = text.strip().partition("\n")
    else:
        body = text
    title_chars = {c for c in title if _is_cjk(c)}
    if len(title) > max_title_chars or len(title_chars) < 4 or len(body) < 2 * len(title):
        return None
    body_chars = {c for c in body if _is_cjk(c)}
    return len(title_chars & body_chars) / len(title_chars)


def own_title(document: Document) -> str | None:
    """The record's own title (`meta["title"]`, as a JSONL dump or ChineseWebText's `info`
    gives it), if it has one."""
    title = document.meta.get("title")
    return title if isinstance(title, str) and title.strip() else None


@register
class LexicalSignals(Filter):
    """Hits per 1,000 characters of gambling, porn, medical, finance, marketing and contact
    words, the top n-gram's share, the title-body overlap and the line shape
    (`meta["lexical"]`).

    Scores only, unless `remove` is set: then a document with at least `min_words` different
    gambling and porn words whose density reaches `max_gambling_density` goes as
    `low_quality:gambling`, and one with at least `min_words` different advertising words
    (medical + finance + marketing + contact) whose density reaches `max_ad_density` goes as
    `advertisement:lexical`. The count guards short texts, where one ambiguous word (伦理,
    成人, 金沙) would already be a high density, and reports on one subject (电话 twenty times
    in a story on telephone bills). A record with its own title (`meta["title"]`)
    goes as `low_quality:title_hijacked` when the title has gambling or porn words its body
    never uses, and as `low_quality:title_mismatch` when under `min_title_overlap` of the
    title's characters occur in the body. In the default recipe this step removes, and
    runs before the classifier cuts segments: a real article carrying injected gambling
    anchors is junk as a whole, and the anchors must still be there to be counted.
    """

    name = "lexical_signals"
    word_files: list[str] = Field(default_factory=lambda: [default_lexicon("signals.tsv")])
    sensitive_files: list[str] = Field(default_factory=lambda: [default_lexicon("sensitive.tsv")])
    # words that ordinary prose uses too (scripts/ambiguous_signal_words.py): not counted
    ambiguous_files: list[str] = Field(
        default_factory=lambda: [default_lexicon("signals_ambiguous.txt")]
    )
    ngram: int = Field(4, ge=2)
    remove: bool = False
    max_gambling_density: float = Field(3.0, gt=0)
    max_ad_density: float = Field(25.0, gt=0)
    min_words: int = Field(3, ge=1)
    # Under a fifth of a record's own title's characters anywhere in its body: the title
    # was not written for it. 0 of 709 Wikipedia paragraphs under their article's title and
    # 1 of 99 real pages under their <title> (an extraction that kept only a promo line) fall
    # below it.
    min_title_overlap: float = Field(0.2, ge=0, le=1)

    _automaton: object = PrivateAttr(default=None)

    def setup(self) -> None:
        pairs = [p for f in self.word_files for p in read_words(f)]
        for path in self.sensitive_files:
            pairs += [
                (SENSITIVE_CATEGORIES[c], w)
                for c, w in read_words(path)
                if c in SENSITIVE_CATEGORIES
            ]
        ambiguous = {w for path in self.ambiguous_files for _, w in read_words(path)}
        self._automaton = build_automaton([(c, w) for c, w in pairs if w not in ambiguous])

    thresholds = frozenset(
        {"remove", "max_gambling_density", "max_ad_density", "min_words", "min_title_overlap"}
    )

    def measure(self, document: Document) -> None:
        text = document.text
        found = list(matches(self._automaton, text))
        hits = Counter(category for category, _ in found)
        words = Counter(category for category, _ in set(found))
        per_mille = 1000.0 / max(len(text), 100)  # a short text is read as 100 characters
        figures: dict[str, float] = {
            f"{c}_density": round(hits[c] * per_mille, 3) for c in CATEGORIES
        }
        # One junk word is no evidence: clean prose has one now and then (the surname 加藤,
        # 菠菜 the vegetable, a court report's 强奸). The combiner reads the hits after the first.
        for c in JUNK:
            figures[f"{c}_evidence"] = round(max(0, hits[c] - 1) * per_mille, 3)
        figures["gambling_hits"] = hits["gambling"] + hits["porn"]
        figures["advertising_hits"] = sum(hits[c] for c in ADVERTISING)
        # a news report on telephone bills says 电话 twenty times; an ad uses many such words
        figures["gambling_words"] = words["gambling"] + words["porn"]
        figures["advertising_words"] = sum(words[c] for c in ADVERTISING)
        figures["top_ngram_share"] = round(top_ngram_share(text, self.ngram), 4)
        mean_line_chars, sentence_end_fraction = line_shape(text)
        figures["mean_line_chars"] = round(mean_line_chars, 1)
        figures["sentence_end_fraction"] = round(sentence_end_fraction, 4)
        title = own_title(document)
        overlap = title_overlap(text, title)
        if overlap is not None:
            figures["title_overlap"] = round(overlap, 4)
        if title is not None:
            figures["title_junk_hits"] = len(self.hijacking_words(title, text))
        document.meta["lexical"] = figures

    def hijacking_words(self, title: str, body: str) -> set[str]:
        """Gambling and porn words of a record's own title that its body never uses: a
        hijacked or station-group page keeps the spammer's title over a borrowed body, while
        a real report on gambling uses its title's words in its text."""
        in_title = {word for category, word in matches(self._automaton, title) if category in JUNK}
        lowered = body.lower()
        return {word for word in in_title if word not in lowered}

    def judge(self, document: Document) -> bool | str:
        figures = document.meta["lexical"]
        if not self.remove:
            return True
        if own_title(document) is not None:
            if figures["title_junk_hits"] >= 1:
                return "low_quality:title_hijacked"
            if figures.get("title_overlap", 1.0) < self.min_title_overlap:
                return "low_quality:title_mismatch"
        gambling = figures["gambling_density"] + figures["porn_density"]
        if figures["gambling_words"] >= self.min_words and gambling >= self.max_gambling_density:
            return "low_quality:gambling"
        advertising = sum(figures[f"{c}_density"] for c in ADVERTISING)
        if figures["advertising_words"] >= self.min_words and advertising >= self.max_ad_density:
            return "advertisement:lexical"
        return True
