"""Keyword and domain filters with Aho-Corasick automata (pyahocorasick)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr

from mdfs.document import Document
from mdfs.errors import UserError
from mdfs.pipeline import Filter, register
from mdfs.recipe_files import TextFile


def default_lexicon(name: str) -> str:
    return str(resources.files("mdfs") / "data" / "lexicon" / name)


def read_words(path: str) -> list[tuple[str, str]]:
    """(category, word) pairs from a word list: `word` lines, or `category<TAB>word` lines."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"word list {path} does not exist")
    category = file.stem
    pairs = []
    for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "\t" in line:
            line_category, word = line.split("\t", 1)
            pairs.append((line_category.strip(), word.strip().lower()))
        else:
            pairs.append((category, line.lower()))
    return [(c, w) for c, w in pairs if w]


def build_automaton(pairs: list[tuple[str, str]]):
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for category, word in pairs:
        automaton.add_word(word, (category, word))
    automaton.make_automaton()
    return automaton


def matches(automaton, text: str) -> Iterator[tuple[str, str]]:
    """(category, word) of every hit, in order, the longest where words overlap: 六合彩 is
    one hit, not 六合彩 and 合彩. A Latin word must stand alone: "av" is not a hit inside
    "java"."""
    if not len(automaton):
        return
    lowered = text.lower()
    for end, (category, word) in automaton.iter_long(lowered):
        if word.isascii():
            start = end - len(word) + 1
            before = lowered[start - 1] if start > 0 else " "
            after = lowered[end + 1] if end + 1 < len(lowered) else " "
            if (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum()):
                continue
        yield category, word


def count_hits(automaton, text: str) -> Counter[str]:
    """Hits per category (`matches`)."""
    return Counter(category for category, _ in matches(automaton, text))


@register
class Keywords(Filter):
    """Sensitive words, advertising phrases and blocked domains.

    - `sensitive_words`: more than `max_sensitive_hits_per_line` hits per line (0.5 is
      ChineseWebText's rule);
    - `ad_keywords`: at least `min_ad_hits` advertising phrases and more than
      `max_ad_hits_per_line` per line;
    - `blocked_domain`: the document's URL is on a blocked domain (or a subdomain of one), or
      its text names `min_domain_hits_in_text` blocked domains (gambling link farms).
    """

    name = "keywords"
    sensitive_files: list[TextFile] = Field(
        default_factory=lambda: [default_lexicon("sensitive.tsv")]
    )
    ad_files: list[TextFile] = Field(default_factory=lambda: [default_lexicon("advertising.txt")])
    domain_files: list[TextFile] = Field(
        default_factory=lambda: [default_lexicon("blocked_domains.txt")]
    )
    max_sensitive_hits_per_line: float = Field(0.5, ge=0)
    min_ad_hits: int = Field(3, ge=1)
    max_ad_hits_per_line: float = Field(0.5, ge=0)
    min_domain_hits_in_text: int = Field(2, ge=1)
    line_chars: int = Field(100, gt=0)

    _sensitive: object = PrivateAttr(default=None)
    _ads: object = PrivateAttr(default=None)
    _domains: object = PrivateAttr(default=None)
    _domain_set: set[str] = PrivateAttr(default_factory=set)

    def setup(self) -> None:
        self._sensitive = build_automaton([p for f in self.sensitive_files for p in read_words(f)])
        self._ads = build_automaton(
            [("advertising", w) for f in self.ad_files for _, w in read_words(f)]
        )
        domains = [w for f in self.domain_files for _, w in read_words(f)]
        self._domain_set = set(domains)
        self._domains = build_automaton([("domain", d) for d in domains])

    def on_blocked_domain(self, url: str | None) -> bool:
        if not url:
            return False
        host = (urlsplit(url).hostname or "").lower()
        parts = host.split(".")
        return any(".".join(parts[i:]) in self._domain_set for i in range(len(parts) - 1))

    def keep(self, document: Document) -> bool | str:
        text = document.text
        # A paragraph counts as one line per `line_chars` characters, so a one-paragraph
        # document is not removed for a single ambiguous hit (三级 in 三级联赛).
        lines = sum(
            max(1, -(-len(line) // self.line_chars)) for line in text.split("\n") if line.strip()
        )
        lines = max(1, lines)
        if self.on_blocked_domain(document.url):
            return "blocked_domain"
        sensitive = count_hits(self._sensitive, text)
        ads = count_hits(self._ads, text)["advertising"]
        if sensitive:
            document.meta["sensitive_hits"] = dict(sensitive)
        if ads:
            document.meta["ad_hits"] = ads
        if sum(sensitive.values()) / lines > self.max_sensitive_hits_per_line:
            return "sensitive_words"
        if ads >= self.min_ad_hits and ads / lines > self.max_ad_hits_per_line:
            return "ad_keywords"
        if count_hits(self._domains, text)["domain"] >= self.min_domain_hits_in_text:
            return "blocked_domain"
        return True
