"""Paragraph-level deduplication across documents (CCNet style): site boilerplate,
disclaimers and copied paragraphs that recur in many documents.

A paragraph is a line. Its key is a hash of the line normalised as CCNet does (lower case,
digits to 0, whitespace and punctuation dropped), so "发布时间：2024-01-02" and
"发布时间: 2023-12-30" are one paragraph. Lines shorter than `min_paragraph_chars` after
normalisation are left alone: short lines ("一、", "第一章") recur everywhere and carry
structure, not boilerplate. A paragraph found in at least `min_documents` documents of the
run is removed. With `keep_first` (the default) the first document in run order that has it
keeps it, like exact_dedup's "first one wins", so a paragraph quoted by many pages stays in
the corpus once; with `keep_first: false` it is removed from every document, as in CCNet. A
document that loses paragraphs and is left with fewer than `min_chars` characters is removed
as `too_short_after_paragraph_dedup`; a document that loses nothing is never removed here.

Memory: each shard's `observe` saves its documents' distinct paragraph keys sorted (see
`dedup_store`); `decide` counts documents per key one key range at a time, as many ranges as
`memory_budget_mb` requires, and keeps only the frequent keys (and the first document of
each), which `filter_shard` looks up with a binary search.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import orjson
import xxhash
from pydantic import Field

from mdfs.coarse import dedup_store
from mdfs.document import Document, Removed
from mdfs.pipeline import GlobalStep, register

_NOT_WORD = re.compile(r"[\W_]+")
_DIGIT = re.compile(r"\d")


def paragraph_key(line: str) -> tuple[int, int]:
    """(64-bit hash, length) of a line normalised CCNet's way."""
    normalised = _DIGIT.sub("0", _NOT_WORD.sub("", line.lower()))
    return xxhash.xxh3_64_intdigest(normalised.encode("utf-8")), len(normalised)


@register
class ParagraphDedup(GlobalStep):
    """Remove paragraphs (lines) repeated across many documents: boilerplate, disclaimers."""

    name = "paragraph_dedup"

    min_documents: int = Field(3, ge=2, description="documents a paragraph must recur in")
    min_paragraph_chars: int = Field(10, ge=1, description="shorter lines are never removed")
    keep_first: bool = True
    min_chars: int = Field(100, ge=0, description="a shortened document below this is removed")
    memory_budget_mb: int = Field(512, ge=16, description="decide's working memory")

    def _keys(self, text: str) -> list[int]:
        keys = []
        for line in text.split("\n"):
            key, length = paragraph_key(line)
            if length >= self.min_paragraph_chars:
                keys.append(key)
        return keys

    def observe(self, shard: str, documents: Iterable[Document]) -> None:
        keys: list[int] = []
        rows: list[int] = []
        count = 0
        for ordinal, document in enumerate(documents):
            distinct = set(self._keys(document.text))  # documents are counted, not lines
            keys.extend(distinct)
            rows.extend([ordinal] * len(distinct))
            count += 1
        dedup_store.save_run(
            self.workdir, f"{shard}.para", np.array(keys, dtype=np.uint64),
            np.array(rows, dtype=np.uint32),
        )  # fmt: skip
        (self.workdir / f"{shard}.meta.json").write_bytes(orjson.dumps({"documents": count}))

    def decide(self, shards: list[str]) -> dict[str, Any]:
        folder = self.workdir
        offsets: dict[str, int] = {}
        offset = 0
        for shard in shards:
            offsets[shard] = offset
            offset += orjson.loads((folder / f"{shard}.meta.json").read_bytes())["documents"]
        records = sum(dedup_store.run_length(folder, f"{s}.para") for s in shards)
        # in memory per record: key, global document, sort order and group arrays
        ranges = dedup_store.key_ranges(records, 40, (self.memory_budget_mb << 20) // 2)
        frequent_keys, first_docs = [], []
        occurrences = 0
        for lo, hi in ranges:
            key_list, doc_list = [], []
            for shard in shards:
                keys, rows = dedup_store.read_range(folder, f"{shard}.para", lo, hi)
                key_list.append(keys)
                doc_list.append(rows.astype(np.int64) + offsets[shard])
            keys, docs = np.concatenate(key_list), np.concatenate(doc_list)
            order = np.lexsort((docs, keys))
            keys, docs = keys[order], docs[order]
            unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
            frequent = counts >= self.min_documents
            frequent_keys.append(unique[frequent])
            first_docs.append(docs[first[frequent]])
            occurrences += int(counts[frequent].sum())
        keys = np.concatenate(frequent_keys) if frequent_keys else np.zeros(0, np.uint64)
        firsts = np.concatenate(first_docs) if first_docs else np.zeros(0, np.int64)
        np.save(folder / "frequent.keys.npy", keys)  # sorted: ranges ascend, unique sorts
        np.save(folder / "frequent.first.npy", firsts)
        (folder / "offsets.json").write_bytes(orjson.dumps(offsets))
        return {
            "documents": offset,
            "paragraph_records": records,
            "key_ranges": len(ranges),
            "frequent_paragraphs": len(keys),
            "documents_with_frequent_paragraphs": occurrences,
        }

    @functools.cached_property
    def _frequent(self) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        folder = self.workdir
        return (
            np.load(folder / "frequent.keys.npy"),
            np.load(folder / "frequent.first.npy"),
            orjson.loads((folder / "offsets.json").read_bytes()),
        )

    def filter_shard(
        self, shard: str, documents: Iterable[Document]
    ) -> Iterator[Document | Removed]:
        frequent, firsts, offsets = self._frequent
        offset = offsets[shard]
        for ordinal, document in enumerate(documents):
            lines = document.text.split("\n")
            keyed = [paragraph_key(line) for line in lines] if len(frequent) else []
            candidates = [
                n for n, (_, length) in enumerate(keyed) if length >= self.min_paragraph_chars
            ]
            if not candidates:
                yield document
                continue
            keys = np.array([keyed[n][0] for n in candidates], dtype=np.uint64)
            at = np.minimum(np.searchsorted(frequent, keys), len(frequent) - 1)
            hit = frequent[at] == keys
            if self.keep_first:
                hit &= firsts[at] != offset + ordinal
            drop = {candidates[n] for n in np.nonzero(hit)[0].tolist()}
            if not drop:
                yield document
                continue
            text = "\n".join(line for n, line in enumerate(lines) if n not in drop).strip("\n")
            document.meta["paragraphs_removed"] = len(drop)
            if len(text.strip()) < self.min_chars:
                # the removed record keeps the whole text, so a reader sees what was there
                yield Removed(document, "too_short_after_paragraph_dedup")
            else:
                document.text = text
                yield document
