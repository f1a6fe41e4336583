"""Document-level quality rules with Chinese defaults.

Defaults and where they come from:
- `min_chars=200`, `min_mean_line_chars=10`: ChineseWebText's preparation rules.
- `min_complete_chars=80`: MDFS's own. A news flash or a photo caption is a complete document
  in 100-200 characters (财联社 flashes, 证券时报 briefs); below `min_chars` a text is kept
  from this length when it reads as finished prose: a sentence ends in its last 20 characters
  (a photo credit may follow) and it has at least `min_complete_clauses` clause marks (a
  title, a menu or a cut-off teaser has not).
- `max_repeated_ngram_char_fraction=0.5` over 13-grams: ChineseWebText (a character is
  "repeated" when it lies inside a 13-character n-gram that occurs more than once).
- `max_duplicate_line_fraction=0.3`, `max_duplicate_line_char_fraction=0.2`,
  `max_symbol_ratio=0.1`, `max_ellipsis_line_fraction=0.3`: Gopher (Rae et al. 2021).
- `min_ellipsis_lines=2`: MDFS's own. Gopher's ellipsis rule is for pages of cut-off
  teasers; one paragraph that trails off (……, ordinary punctuation in Chinese prose, and the
  way plot summaries end) is no such page, though it is all of a one-line document.
- `max_digit_ratio=0.3`: MDFS's own, against tables of numbers and lottery pages.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from typing import ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field

from mdfs.coarse.text_stats import DIGIT, visible_length
from mdfs.document import Document
from mdfs.histogram import Histogram, Histograms
from mdfs.pipeline import Filter, register

# A sentence end, near the end of the text: a photo credit ("新华社记者 李梦馨 摄") or an
# editor's name may follow the last sentence of a complete news item.
_SENTENCE_END = re.compile(r"[。！？!?…]")
_SENTENCE_END_WITHIN = 20
_CLAUSE_MARK = re.compile(r"[，。！？；：、,!?;]")


def reads_complete(text: str, min_clauses: int) -> bool:
    """Finished prose: a sentence ends near the end and it has clauses; a title, a menu or a
    cut-off teaser has not."""
    return (
        _SENTENCE_END.search(text.rstrip()[-_SENTENCE_END_WITHIN:]) is not None
        and len(_CLAUSE_MARK.findall(text)) >= min_clauses
    )


def repeated_ngram_char_fraction(text: str, n: int) -> float:
    """Share of characters covered by a character n-gram that occurs more than once.

    The n-grams are compared by a 64-bit hash of their code points, in numpy: 4x faster than
    counting the strings. Grams that share a hash are then compared whole, and should two
    differ (a collision), the strings decide (`_repeated_ngram_char_fraction_exact`).
    """
    text = "".join(text.split())
    if len(text) < n * 2:
        return 0.0
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(text) - n + 1  # grams; gram i is text[i : i + n]
    multipliers = _gram_multipliers(n)
    hashes = codes[:count] * multipliers[0]  # uint64 arithmetic wraps: a hash mod 2**64
    for k in range(1, n):
        hashes += codes[k : k + count] * multipliers[k]
    order = np.argsort(hashes)
    ranked = hashes[order]
    shared = ranked[1:] == ranked[:-1]  # neighbours in hash order with the same hash
    if not shared.any():
        return 0.0
    grams = sliding_window_view(codes, n)
    if not np.array_equal(grams[order[:-1][shared]], grams[order[1:][shared]]):
        return _repeated_ngram_char_fraction_exact(text, n)
    repeated = np.zeros(count, dtype=bool)
    repeated[:-1] |= shared
    repeated[1:] |= shared
    starts = order[repeated]
    # the union of the windows [i, i + n) of repeated grams, as +1/-1 at their edges
    edges = np.zeros(len(text) + 1, dtype=np.int32)
    edges[starts] += 1
    edges[starts + n] -= 1
    return int(np.count_nonzero(np.cumsum(edges[:-1]))) / len(text)


@functools.cache
def _gram_multipliers(n: int) -> np.ndarray:
    """Odd 64-bit multipliers of a gram's code points, fixed (seeded) per gram size."""
    return np.random.default_rng(n).integers(1, 2**63, size=n, dtype=np.uint64) | np.uint64(1)


def _repeated_ngram_char_fraction_exact(text: str, n: int) -> float:
    """`repeated_ngram_char_fraction` by counting the grams as strings (``text`` without
    whitespace, at least ``2 * n`` characters)."""
    grams = [text[i : i + n] for i in range(len(text) - n + 1)]
    counts = Counter(grams)
    covered = 0
    end = 0
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            covered += i + n - max(i, end)
            end = i + n
    return covered / len(text)


def symbol_ratio(text: str) -> float:
    length = visible_length(text)
    if not length:
        return 0.0
    # a page has a few thousand distinct characters at most: classify each once, not per use
    symbols = sum(
        count
        for ch, count in Counter(text).items()
        if ch == "#" or unicodedata.category(ch).startswith("S")
    )
    return symbols / length


@register
class QualityRules(Filter):
    name = "quality_rules"
    histograms: ClassVar[Histograms] = {
        "length": Histogram("min_chars", low=10, high=1_000_000, bins=25, log=True)
    }
    min_chars: int = Field(200, ge=0)
    min_complete_chars: int = Field(
        80, ge=0, description="below min_chars, complete prose from this length is kept"
    )
    min_complete_clauses: int = Field(3, ge=0)
    max_chars: int = Field(1_000_000, gt=0)
    min_mean_line_chars: float = Field(10.0, ge=0)
    ngram_size: int = Field(13, gt=1)
    max_repeated_ngram_char_fraction: float = Field(0.5, ge=0, le=1)
    max_duplicate_line_fraction: float = Field(0.3, ge=0, le=1)
    max_duplicate_line_char_fraction: float = Field(0.2, ge=0, le=1)
    max_symbol_ratio: float = Field(0.1, ge=0, le=1)
    max_digit_ratio: float = Field(0.3, ge=0, le=1)
    max_ellipsis_line_fraction: float = Field(0.3, ge=0, le=1)
    min_ellipsis_lines: int = Field(2, ge=1)

    def keep(self, document: Document) -> bool | str:
        text = document.text
        length = visible_length(text)
        if length < self.min_chars and not (
            length >= self.min_complete_chars and reads_complete(text, self.min_complete_clauses)
        ):
            return "too_short"
        if length > self.max_chars:
            return "too_long"
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if length / len(lines) < self.min_mean_line_chars:
            return "short_lines"
        counts = Counter(lines)
        duplicate_lines = sum(c for c in counts.values() if c > 1)
        if duplicate_lines / len(lines) > self.max_duplicate_line_fraction:
            return "duplicate_lines"
        duplicate_chars = sum(len(line) * c for line, c in counts.items() if c > 1)
        if duplicate_chars / length > self.max_duplicate_line_char_fraction:
            return "duplicate_line_chars"
        if symbol_ratio(text) > self.max_symbol_ratio:
            return "too_many_symbols"
        if len(DIGIT.findall(text)) / length > self.max_digit_ratio:
            return "too_many_digits"
        ellipsis = sum(1 for line in lines if line.endswith(("…", "...", "……")))
        if (
            ellipsis >= self.min_ellipsis_lines
            and ellipsis / len(lines) > self.max_ellipsis_line_fraction
        ):
            return "truncated_lines"
        fraction = repeated_ngram_char_fraction(text, self.ngram_size)
        if fraction > self.max_repeated_ngram_char_fraction:
            return "repeated_ngrams"
        return True
