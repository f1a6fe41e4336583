"""Benchmark decontamination: no evaluation text in the training corpus.

Web crawl holds the sources of CLUE's sets (news headlines, app descriptions, idioms, paper
abstracts), so a filter that keeps more of them would "win" a corpus comparison for the wrong
reason. Following GPT-3 (Brown et al. 2020, appendix C), documents are compared with each
evaluation item through `ngram`-character sequences (13 by default): a document that holds
at least `min_fraction` of the n-grams of one text field of an item (a headline, a review, a
premise, an abstract), or `min_ngrams` of them for a long field, is removed as
`benchmark_overlap`, or loses the lines that hold them (`action: cut`). Any single shared
13-gram is not enough in Chinese: People's Daily shares set phrases such as
以江泽民同志为核心的党中央 (13 characters) with CSLDCP abstracts; of its 2,436 eight-line
articles, 73 share a 13-gram with FewCLUE and none holds half of a field (PaLM's rule is
70 % of an example's 8-grams). Fields shorter than `ngram` cannot match.

Characters are compared after the coarse `normalize` (which the benchmark text goes through
here too), keeping only letters, digits and CJK: whitespace, punctuation and case do not hide
a copy.

The benchmark n-grams live in one sorted array of 64-bit rolling hashes (8 bytes each, with the
owning item beside it): a document's n-grams are hashed and looked up with numpy's
vectorised binary search, and every hit is checked against the item's text, so a hash
collision never removes a document. Unlike an Aho-Corasick automaton over millions of 13-grams
(tens of bytes per trie node), this stays small for test sets of any size and scans at numpy
speed; it is the "hashed n-grams in a set" of datatrove's and OLMo's decontamination.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, PrivateAttr, model_validator

from mdfs.coarse.normalize import Normalize
from mdfs.document import Document
from mdfs.errors import UserError
from mdfs.pipeline import Filter, register

log = logging.getLogger(__name__)

REASON = "benchmark_overlap"
# Matches recorded in a removed document's meta (the count is always complete).
MAX_RECORDED_MATCHES = 10
_WORD = re.compile(r"[^\W_]+")
_NON_WORD = re.compile(r"[\W_]+")
_KEY_SEPARATOR = "\0"  # between keys hashed as one string; never in a key
# Between evaluation items normalised as one text: a symbol (not a word character, so it is
# never part of a key) that normalisation leaves alone.
_ITEM_SEPARATOR = "\n\u241e\n"
_HASH_BASE = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime: odd, spreads code points


@dataclass(frozen=True)
class BenchmarkItem:
    benchmark: str
    split: str
    id: str
    key: str  # the matching characters of one text field of the item

    def ngrams(self, n: int) -> int:
        return max(0, len(self.key) - n + 1)


def match_key(text: str) -> str:
    """Letters, digits and CJK of `text`, lower-cased where that keeps each one a character."""
    key = _NON_WORD.sub("", text)
    lowered = key.lower()
    # Rare characters lower-case to two ("İ"): then the key stays as it is, so that its
    # positions still map one to one onto `key_offsets`.
    return lowered if len(lowered) == len(key) else key


def key_offsets(text: str) -> np.ndarray:
    """The offset in `text` of each character of `match_key(text)`."""
    spans = [np.arange(m.start(), m.end()) for m in _WORD.finditer(text)]
    return np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)


def ngram_hashes(key: str, n: int) -> np.ndarray:
    """A polynomial hash of every n-character window of `key` (uint64, wrapping)."""
    count = len(key) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    codes = np.frombuffer(key.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    hashes = codes[:count].copy()
    for j in range(1, n):
        hashes *= _HASH_BASE
        hashes += codes[j : j + count]
    return hashes


def strings_of(value: Any) -> list[str]:
    """Every string inside a JSON value (CHID candidates, CLUEWSC spans included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_of(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_of(v)]
    return []


def fewclue_files(folder: Path) -> list[tuple[str, str, Path]]:
    """(benchmark, split, file) for every file `mdfs eval` reads from a FewCLUE folder."""
    from mdfs.evaluate.task import SPLIT_FILES, TASK_NAMES, TRAIN_FILE

    names = [TRAIN_FILE, *SPLIT_FILES.values()]
    found = [
        (f"fewclue/{task}", name.removesuffix(".json"), folder / task / name)
        for task in TASK_NAMES
        for name in names
        if (folder / task / name).is_file()
    ]
    if not found:
        raise UserError(f"decontaminate: no FewCLUE task files ({', '.join(names)}) in {folder}")
    return found


def read_items(benchmark: str, split: str, path: Path) -> list[tuple[str, str, str, str]]:
    """(benchmark, split, id, text) per string field of each record of a JSON-lines file.

    Fields are matched apart, so that no n-gram spans two (a headline and its keywords) and
    a copy of one field (an OCNLI premise, a CSL abstract) is found however short the others.
    """
    items = []
    with path.open(encoding="utf-8") as lines:
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise UserError(f"{path}:{line_no}: not a JSON line") from None
            item_id = record.get("id", record.get("idx")) if isinstance(record, dict) else None
            item_id = f"line {line_no}" if item_id is None else str(item_id)
            items += [(benchmark, split, item_id, text) for text in strings_of(record)]
    return items


def normalize_all(normalizer: Normalize, texts: list[str]) -> list[str]:
    """`normalizer.normalize` of each text, in one call: per-call overhead dominates short items."""
    parts = normalizer.normalize(_ITEM_SEPARATOR.join(texts)).split(_ITEM_SEPARATOR.strip())
    if len(parts) != len(texts):  # a text held the separator itself
        return [normalizer.normalize(text) for text in texts]
    return parts


@register
class Decontaminate(Filter):
    """Remove documents (or the lines) sharing an n-gram with the evaluation sets.

    Put it after `normalize`. The sets: every FewCLUE file `mdfs eval` reads (train_few_all
    for demonstrations, dev_few_all, test_public where present) from `fewclue` and any
    JSON-lines `files` (every string field of a record is its text). `meta.benchmark_overlap`
    names the benchmark, split and item id of the matches.
    """

    name = "decontaminate"
    fewclue: str | None = Field(
        "auto", description="FewCLUE folder; auto: the one `mdfs eval` uses; null: none"
    )
    files: list[str] = Field(default_factory=list, description="more JSON-lines eval sets")
    ngram: int = Field(13, ge=5, description="characters (letters, digits, CJK) in a match")
    min_fraction: float = Field(
        0.5, gt=0, le=1, description="share of an item's n-grams a document must hold"
    )
    min_ngrams: int = Field(
        20, ge=1, description="... or this many of a long item's (a shared passage)"
    )
    action: Literal["remove", "cut"] = Field(
        "remove", description="remove the document, or cut the lines that hold a match"
    )

    _sources: list[tuple[str, str, Path]] = PrivateAttr(default_factory=list)
    _items: list[BenchmarkItem] = PrivateAttr(default_factory=list)
    _hashes: np.ndarray = PrivateAttr(default=None)
    _owners: np.ndarray = PrivateAttr(default=None)
    _bloom: np.ndarray = PrivateAttr(default=None)
    _bloom_bits: int = PrivateAttr(default=1)

    @model_validator(mode="after")
    def _find_sources(self) -> Decontaminate:
        # Checked when the recipe is read, so a wrong path fails before any shard runs.
        sources: list[tuple[str, str, Path]] = []
        if self.fewclue is not None:
            from mdfs.shared import fewclue_folder

            folder = fewclue_folder(None if self.fewclue == "auto" else Path(self.fewclue))
            sources += fewclue_files(folder)
        for file in map(Path, self.files):
            if not file.is_file():
                raise ValueError(f"evaluation file {file} does not exist")
            sources.append((file.name.removesuffix(".jsonl").removesuffix(".json"), "", file))
        if not sources:
            raise ValueError("no evaluation sets: give `fewclue` or `files`")
        self._sources = sources
        return self

    def setup(self) -> None:
        normalizer = Normalize()
        normalizer.setup()
        items = []
        for source in self._sources:
            records = read_items(*source)
            texts = normalize_all(normalizer, [text for *_, text in records])
            for (benchmark, split, item_id, _), text in zip(records, texts, strict=True):
                item = BenchmarkItem(benchmark, split, item_id, match_key(text))
                if item.ngrams(self.ngram):
                    items.append(item)
        # All keys hashed as one string; a window with a separator belongs to no item.
        joined = _KEY_SEPARATOR.join(item.key for item in items)
        hashes = ngram_hashes(joined, self.ngram)
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4")
        separators = np.concatenate([[0], np.cumsum(codes == ord(_KEY_SEPARATOR))])
        windows = np.arange(len(hashes))
        inside = separators[windows + self.ngram] == separators[windows]
        starts = np.cumsum([0] + [len(item.key) + 1 for item in items[:-1]])
        owners = np.searchsorted(starts, windows, side="right") - 1
        order = np.argsort(hashes[inside])
        self._hashes = hashes[inside][order]
        self._owners = owners[inside][order].astype(np.int32)
        self._items = items
        # One hash, 16 bits per n-gram: ~6 % false positives, 2 bytes per n-gram.
        self._bloom_bits = max(3, int(np.ceil(np.log2(16 * max(1, len(self._hashes))))))
        self._bloom = np.zeros(1 << (self._bloom_bits - 3), dtype=np.uint8)
        bit = self._hashes >> np.uint64(64 - self._bloom_bits)
        np.bitwise_or.at(
            self._bloom, bit >> np.uint64(3), np.left_shift(1, bit & 7).astype(np.uint8)
        )
        log.info(
            "decontaminate: %d evaluation items, %d %d-grams from %d files",
            len(items), len(self._hashes), self.ngram, len(self._sources),
        )  # fmt: skip

    def matches(self, key: str) -> dict[int, set[str]]:
        """The n-grams of `key` found in each benchmark item it shares any with."""
        hashes = ngram_hashes(key, self.ngram)
        if not len(hashes) or not len(self._hashes):
            return {}
        # The Bloom filter answers most n-grams from one cache line; only its few positives
        # (real ones and ~6 % false) pay for the binary search.
        bit = hashes >> np.uint64(64 - self._bloom_bits)
        maybe = np.flatnonzero((self._bloom[bit >> np.uint64(3)] >> (bit & np.uint64(7))) & 1)
        first = np.searchsorted(self._hashes, hashes[maybe], side="left")
        last = np.searchsorted(self._hashes, hashes[maybe], side="right")
        found: dict[int, set[str]] = {}
        for position, start, stop in zip(
            maybe.tolist(), first.tolist(), last.tolist(), strict=True
        ):
            ngram = key[position : position + self.ngram]
            for owner in self._owners[start:stop].tolist():
                if ngram in self._items[owner].key:  # a hash collision is not a match
                    found.setdefault(owner, set()).add(ngram)
        return found

    def required(self, item: BenchmarkItem) -> int:
        """Distinct n-grams of `item` a document must hold to count as a copy of it."""
        ngrams = item.ngrams(self.ngram)
        return min(self.min_ngrams, max(1, math.ceil(self.min_fraction * ngrams)))

    def keep(self, document: Document) -> bool | str:
        key = match_key(document.text)
        found = {
            owner: ngrams
            for owner, ngrams in self.matches(key).items()
            if len(ngrams) >= self.required(self._items[owner])
        }
        if not found:
            return True
        shared = set().union(*found.values())
        items = list(
            dict.fromkeys((i.benchmark, i.split, i.id) for i in map(self._items.__getitem__, found))
        )
        document.meta[REASON] = {
            "items": len(items),
            "ngrams": len(shared),
            "matches": [
                {"benchmark": benchmark, "split": split, "id": item_id}
                for benchmark, split, item_id in items[:MAX_RECORDED_MATCHES]
            ],
        }
        if self.action == "remove":
            return REASON
        remaining = cut_lines(document.text, key, shared, self.ngram)
        if not remaining:
            return REASON  # the removed record keeps the text as it came in
        document.meta[REASON]["cut_chars"] = len(document.text) - len(remaining)
        document.text = remaining
        return True


def cut_lines(text: str, key: str, ngrams: set[str], n: int) -> str:
    """`text` without the lines that hold (part of) one of `ngrams` of its key."""
    offsets = key_offsets(text)
    edges = np.zeros(len(text) + 1, dtype=np.int64)  # +1 / -1 where each occurrence begins / ends
    for position in range(len(key) - n + 1):
        if key[position : position + n] in ngrams:
            edges[offsets[position]] += 1
            edges[offsets[position + n - 1] + 1] -= 1
    matched = np.cumsum(edges[:-1]) > 0
    kept, start = [], 0
    for line in text.split("\n"):
        if not matched[start : start + len(line)].any():
            kept.append(line)
        start += len(line) + 1
    return "\n".join(kept).strip()
