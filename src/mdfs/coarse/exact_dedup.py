"""Exact deduplication over the whole run: a hash of the normalised text, first one wins."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import orjson
import xxhash

from mdfs.document import Document, Removed
from mdfs.pipeline import GlobalStep, register


def text_key(text: str) -> int:
    """64-bit hash of the text with all whitespace removed and Latin letters lower-cased."""
    return xxhash.xxh3_64_intdigest("".join(text.split()).lower().encode("utf-8"))


@register
class ExactDedup(GlobalStep):
    """Remove every document whose normalised text was already seen earlier in the run.

    "Earlier" is the order of shards and then of documents in a shard, which does not
    depend on the number of workers, so the kept set is the same for any `--workers`.
    Each shard's hashes are an 8-byte-per-document array on disk.
    """

    name = "exact_dedup"

    def observe(self, shard: str, documents: Iterable[Document]) -> None:
        hashes, ids = [], []
        for document in documents:
            hashes.append(text_key(document.text))
            ids.append(document.id)
        np.save(self.workdir / f"{shard}.hashes.npy", np.array(hashes, dtype=np.uint64))
        (self.workdir / f"{shard}.ids.json").write_bytes(orjson.dumps(ids))

    def decide(self, shards: list[str]) -> dict[str, Any]:
        arrays = [np.load(self.workdir / f"{shard}.hashes.npy") for shard in shards]
        sizes = [len(a) for a in arrays]
        hashes = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.uint64)
        _, first = np.unique(hashes, return_index=True)
        is_first = np.zeros(len(hashes), dtype=bool)
        is_first[first] = True
        # for each duplicate, the position of the first document with its hash
        order = np.argsort(hashes, kind="stable")
        sorted_hashes = hashes[order]
        group_start = np.searchsorted(sorted_hashes, sorted_hashes, side="left")
        first_of = np.empty(len(hashes), dtype=np.int64)
        first_of[order] = order[group_start]

        @functools.lru_cache(maxsize=64)
        def ids(shard: str) -> list[str]:
            return orjson.loads((self.workdir / f"{shard}.ids.json").read_bytes())

        offsets = np.concatenate([[0], np.cumsum(sizes)])
        duplicates = 0
        for index, shard in enumerate(shards):
            start, end = offsets[index], offsets[index + 1]
            positions = np.nonzero(~is_first[start:end])[0]
            decision = {}
            for position in positions.tolist():
                original = int(first_of[start + position])
                original_shard = int(np.searchsorted(offsets, original, side="right") - 1)
                decision[position] = (original_shard, original - int(offsets[original_shard]))
            duplicates += len(decision)
            resolved = {str(pos): ids(shards[s])[ordinal] for pos, (s, ordinal) in decision.items()}
            (self.workdir / f"{shard}.duplicates.json").write_bytes(orjson.dumps(resolved))
        return {"documents": len(hashes), "duplicates": duplicates}

    def filter_shard(
        self, shard: str, documents: Iterable[Document]
    ) -> Iterator[Document | Removed]:
        duplicates = orjson.loads((self.workdir / f"{shard}.duplicates.json").read_bytes())
        for ordinal, document in enumerate(documents):
            original = duplicates.get(str(ordinal))
            if original is None:
                yield document
            else:
                document.meta["duplicate_of"] = original
                yield Removed(document, "exact_duplicate")
