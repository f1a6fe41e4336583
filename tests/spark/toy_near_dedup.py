"""A small MinHash near-duplicate GlobalStep with the Spark hook, to test the Spark decide.

Its local `decide` is the reference: union-find over documents that share a band hash, the
first document of each cluster in run order stays. The Spark engine decides it with
`decide_near_duplicates` instead, and both must write the same decision files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import orjson
import xxhash

from mdfs.document import Document, Removed
from mdfs.pipeline import GlobalStep

PRIME = (1 << 61) - 1


class ToyNearDedup(GlobalStep):
    name = "toy_near_dedup"
    shingle: int = 5
    bands: int = 8
    rows: int = 4

    def observe(self, shard: str, documents: Iterable[Document]) -> None:
        rng = np.random.default_rng(7)
        perms = self.bands * self.rows
        a = rng.integers(1, PRIME, perms, dtype=np.uint64)
        b = rng.integers(0, PRIME, perms, dtype=np.uint64)
        table = []
        for document in documents:
            text = "".join(document.text.split())
            grams = {text[i : i + self.shingle] for i in range(max(1, len(text) - 4))}
            hashes = np.array([xxhash.xxh32_intdigest(g.encode()) for g in grams], dtype=np.uint64)
            signature = ((hashes[:, None] * a + b) % PRIME).min(axis=0)
            bands = signature.reshape(self.bands, self.rows)
            table.append([xxhash.xxh3_64_intdigest(band.tobytes()) for band in bands])
        array = np.array(table, dtype=np.uint64).reshape(-1, self.bands)
        np.save(self.workdir / f"{shard}.bands.npy", array)

    def band_hashes(self, shard: str) -> np.ndarray:
        return np.load(self.workdir / f"{shard}.bands.npy")

    def write_duplicates(self, shard: str, duplicates: dict[int, tuple[str, int]]) -> None:
        data = {str(o): list(original) for o, original in duplicates.items()}
        (self.workdir / f"{shard}.near.json").write_bytes(orjson.dumps(data))

    def decide(self, shards: list[str]) -> dict[str, Any]:
        parent: dict[tuple[int, int], tuple[int, int]] = {}

        def find(node: tuple[int, int]) -> tuple[int, int]:
            while parent.get(node, node) != node:
                node = parent[node]
            return node

        buckets: dict[tuple[int, int], tuple[int, int]] = {}
        documents = 0
        for index, shard in enumerate(shards):
            for ordinal, row in enumerate(self.band_hashes(shard).tolist()):
                documents += 1
                for band, value in enumerate(row):
                    seen = buckets.setdefault((band, value), (index, ordinal))
                    x, y = find(seen), find((index, ordinal))
                    if x != y:
                        parent[max(x, y)] = min(x, y)
        members: dict[int, dict[int, tuple[str, int]]] = {i: {} for i in range(len(shards))}
        for node in list(parent):
            root = find(node)
            if root != node:
                members[node[0]][node[1]] = (shards[root[0]], root[1])
        for index, shard in enumerate(shards):
            self.write_duplicates(shard, members[index])
        clusters = len({find(node) for node in parent if find(node) != node})
        duplicates = sum(len(m) for m in members.values())
        return {"documents": documents, "duplicates": duplicates, "clusters": clusters}

    def filter_shard(
        self, shard: str, documents: Iterable[Document]
    ) -> Iterator[Document | Removed]:
        decision = orjson.loads((self.workdir / f"{shard}.near.json").read_bytes())
        for ordinal, document in enumerate(documents):
            original = decision.get(str(ordinal))
            if original is None:
                yield document
            else:
                document.meta["near_duplicate_of"] = original
                yield Removed(document, "near_duplicate")
