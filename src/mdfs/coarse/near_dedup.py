"""Near-duplicate removal over the whole run: MinHash + LSH over character shingles.

Chinese has no spaces, so a document's shingles are its overlapping `ngram`-character
substrings after normalisation (lower case, whitespace and punctuation dropped: a repost
with other punctuation or layout is the same text). The shingle set's MinHash signature
(`num_perm` values) estimates the Jaccard similarity of two documents; LSH over `bands`
bands of `rows` values each makes candidate pairs, every candidate is verified (Jaccard >=
`threshold`: exactly, over the two documents' stored shingle-hash sets, by default; or by the
signature estimate, `verify: signature`, whose error of ~0.035 at 0.8 costs precision and
recall near the threshold), and verified pairs are joined into clusters (connected
components). One document per cluster stays: by default the longest (a
truncated copy never wins over the whole text), ties to the first in run order. It carries
`duplicate_cluster_size` (FineWeb-2 style, for re-weighting later; 1 for a document with no
near-duplicate); the others are removed as `near_duplicate` with `duplicate_of: <kept id>`.

Where the memory goes, and why it is bounded:
- observe (per shard, in the workers): shingle sets and signatures are computed in batches
  with vectorised numpy and streamed to the shard's files; its LSH band keys are sorted and
  saved (see `dedup_store`). Memory grows with the shard (a setting), not the corpus.
- decide, candidate pass: the 64-bit band-key space is cut into as many ranges as
  `memory_budget_mb` requires; each range's records from every shard are sorted together and
  every bucket yields star and chain pairs, spilled to disk in blocks by first document.
- decide, verification pass: one block of pairs at a time, in chunks the budget allows
  (sized by the pairs' text lengths), reading only the shingle sets or signature rows those
  pairs need from memory maps that are closed after each chunk.
- clusters: union-find over the documents that have a verified near-duplicate only (not over
  all N), so memory follows the number of duplicated documents.

A run's workdir is also an index: `reference_index` points a later run at it (its output
folder or the workdir itself); that run's documents near-duplicate of an indexed document
are removed (`duplicate_of` names the indexed one), and indexed documents are never output.

The workdir's files, and their format, are `near_dedup_index.NearDedupIndex`'s. On the Spark
engine the decide runs as a Spark job (`near_dedup_spark`, through `decide_on_spark`) over
the same files, with the same rules and the same verification, so it keeps the same documents.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from mdfs.coarse import dedup_store
from mdfs.coarse.dedup_store import mix64
from mdfs.coarse.near_dedup_index import NearDedupIndex, Source
from mdfs.document import Document, Removed
from mdfs.errors import UserError
from mdfs.pipeline import GlobalStep, register
from mdfs.storage import is_url

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

# Punctuation, symbols, whitespace and "_" go; CJK characters, letters and digits stay.
_NOT_WORD = re.compile(r"[\W_]+")
_SHINGLE_BASE = np.uint64(1_000_003)
# Shingles per matrix chunk: num_perm x this many uint64 is 16 MiB at 128 permutations.
_CHUNK_SHINGLES = 16_384
_OBSERVE_BATCH = 512
_BAND_SEED = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
_MAX32 = np.uint64(0xFFFFFFFF)


def normalise(text: str) -> str:
    return _NOT_WORD.sub("", text.lower())


class MinHasher:
    """Signatures of many texts at once, with vectorised numpy.

    Each shingle is hashed to 32 bits (a polynomial over its code points, then splitmix64);
    permutation i is the multiply-add-shift hash ``(a_i * x + b_i) mod 2**64 >> 32``, which is
    2-independent for 32-bit keys (Dietzfelbinger 1996). The minimum of the high 32 bits is the
    high 32 bits of the minimum, so the shift is done once per signature, not per shingle.
    Texts shorter than `ngram` are padded to one shingle; an empty text gets no signature.
    """

    def __init__(self, ngram: int, num_perm: int, seed: int) -> None:
        self.ngram = ngram
        rng = np.random.default_rng(seed)
        self.a = (rng.integers(0, 1 << 63, num_perm, dtype=np.uint64) << np.uint64(1)) | (
            np.uint64(1)
        )
        self.b = rng.integers(0, 1 << 63, num_perm, dtype=np.uint64) << np.uint64(1)
        self.a_col = self.a[:, None]
        self.b_col = self.b[:, None]
        self.num_perm = num_perm

    def shingles(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """32-bit shingle hashes of all texts, concatenated, and each text's count of them."""
        n = self.ngram
        normalised = [normalise(t) for t in texts]
        padded = [s if len(s) >= n or not s else s + "\0" * (n - len(s)) for s in normalised]
        lengths = np.fromiter((len(s) for s in padded), dtype=np.int64, count=len(padded))
        counts = np.maximum(lengths - n + 1, 0)
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.uint64), counts
        codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32)
        codes = codes.astype(np.uint64)
        span = len(codes) - n + 1
        rolling = np.zeros(span, dtype=np.uint64)
        for k in range(n):
            rolling *= _SHINGLE_BASE
            rolling += codes[k : k + span]
        # keep only windows that start and end inside one text
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        first_out = np.concatenate([[0], np.cumsum(counts)[:-1]])
        positions = np.arange(total, dtype=np.int64) + np.repeat(starts - first_out, counts)
        hashes = mix64(rolling[positions])
        hashes &= _MAX32
        return hashes, counts

    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(len(texts) x num_perm uint32 signatures, bool mask of texts that had shingles)."""
        hashes, counts = self.shingles(texts)
        return self.signatures_of(hashes, counts), counts > 0

    def signatures_of(self, hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Signatures of texts given as concatenated shingle hashes and per-text counts."""
        hashes = hashes.astype(np.uint64, copy=False)
        mins = np.full((self.num_perm, len(counts)), np.iinfo(np.uint64).max, dtype=np.uint64)
        if len(hashes):
            doc_of = np.repeat(np.arange(len(counts)), counts)
            doc_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
            buffer = np.empty((self.num_perm, _CHUNK_SHINGLES), dtype=np.uint64)
            for lo, hi in dedup_store.chunks(len(hashes), _CHUNK_SHINGLES):
                # segments of this chunk: its start, and every text that starts inside it
                docs = np.unique(doc_of[lo:hi])
                seg = np.maximum(doc_start[docs], lo) - lo
                block = buffer[:, : hi - lo]
                np.multiply(self.a_col, hashes[lo:hi][None, :], out=block)
                block += self.b_col
                partial = np.minimum.reduceat(block, seg, axis=1)
                np.minimum(mins[:, docs], partial, out=partial)
                mins[:, docs] = partial
        return (mins.T >> np.uint64(32)).astype(np.uint32)


def shingle_sets(hashes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each text's distinct shingle hashes, sorted, concatenated; and how many each has."""
    doc = np.repeat(np.arange(len(counts), dtype=np.uint64), counts)
    keys = np.unique((doc << np.uint64(32)) | hashes)
    sizes = np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=len(counts))
    return (keys & _MAX32).astype(np.uint32), sizes


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n x bands) uint64: one well-mixed key per band; the band number is hashed in, so
    equal values in different bands never meet in one bucket."""
    n = signatures.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    for band in range(bands):
        h = np.full(n, (_BAND_SEED * (band + 1)) & _MASK64, dtype=np.uint64)
        for column in range(band * rows, (band + 1) * rows):
            h ^= signatures[:, column].astype(np.uint64)
            h = mix64(h)
        keys[:, band] = h
    return keys


@register
class NearDedup(GlobalStep):
    """Remove near-duplicates across the run: MinHash LSH on character shingles, clusters."""

    name = "near_dedup"

    ngram: int = Field(5, ge=1, le=32, description="characters per shingle")
    num_perm: int = Field(128, ge=8, le=1024, description="MinHash permutations")
    bands: int = Field(20, ge=1, description="LSH bands")
    rows: int = Field(6, ge=1, description="signature values per band")
    threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard similarity to merge")
    keep: Literal["longest", "first"] = "longest"
    verify: Literal["exact", "signature"] = "exact"
    seed: int = 1
    memory_budget_mb: int = Field(1024, ge=64, description="decide's working memory")
    reference_index: str | None = None

    @model_validator(mode="after")
    def _check_bands(self) -> NearDedup:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands x rows ({self.bands} x {self.rows}) exceeds num_perm ({self.num_perm})"
            )
        return self

    @functools.cached_property
    def hasher(self) -> MinHasher:
        return MinHasher(self.ngram, self.num_perm, self.seed)

    def index_parameters(self) -> dict[str, Any]:
        """What two indexes must share for their signatures to be comparable."""
        return {
            "ngram": self.ngram, "num_perm": self.num_perm, "bands": self.bands,
            "rows": self.rows, "seed": self.seed,
        }  # fmt: skip

    # -- observe: per shard, in the workers ----------------------------------------------

    def observe(self, shard: str, documents: Iterable[Document]) -> None:
        with NearDedupIndex(str(self.workdir)).shard_writer(shard) as writer:
            batch: list[Document] = []

            def flush() -> None:
                hashes, counts = self.hasher.shingles([d.text for d in batch])
                sets, sizes = shingle_sets(hashes, counts)
                signatures = self.hasher.signatures_of(sets, sizes)
                keys = band_keys(signatures[sizes > 0], self.bands, self.rows)
                ids = [d.id for d in batch]
                writer.add(ids, [len(d.text) for d in batch], signatures, sets, sizes, keys)
                batch.clear()

            for document in documents:
                batch.append(document)
                if len(batch) >= _OBSERVE_BATCH:
                    flush()
            if batch:
                flush()

    # -- decide: once, bounded by memory_budget_mb ---------------------------------------

    def sources(self, shards: list[str], folder: str | Path) -> tuple[list[Source], int]:
        """The shards a decide sees, in run order (a reference index's, then `shards` of the
        index in `folder`), and how many documents the reference index holds."""
        sources: list[Source] = []
        if self.reference_index is not None:
            reference = NearDedupIndex(str(resolve_index(self.reference_index)))
            index = reference.read_index()
            if index["parameters"] != self.index_parameters():
                raise UserError(
                    f"reference index {reference.folder} was built with {index['parameters']}; "
                    f"this step uses {self.index_parameters()}: they must match"
                )
            if Path(reference.folder).resolve() == self.workdir.resolve():
                raise UserError("reference_index points at this run's own index")
            sources = _numbered(reference, index["shards"], 0)
        reference_documents = sum(s.size for s in sources)
        own = _numbered(NearDedupIndex(str(folder)), shards, reference_documents)
        return sources + own, reference_documents

    def decide(self, shards: list[str]) -> dict[str, Any]:
        started = time.perf_counter()
        sources, reference_docs = self.sources(shards, self.workdir)
        documents = _RunDocuments(sources, self.num_perm)
        pairs_dir = self.workdir / "pairs"
        shutil.rmtree(pairs_dir, ignore_errors=True)
        pairs_dir.mkdir()
        candidates, ranges = self._candidate_pairs(documents, reference_docs, pairs_dir)
        a, b = self._verified_pairs(documents, pairs_dir)
        shutil.rmtree(pairs_dir, ignore_errors=True)

        nodes = np.unique(np.concatenate([a, b]))
        roots = connected_components(
            len(nodes), np.searchsorted(nodes, a), np.searchsorted(nodes, b)
        )
        decisions = self._clusters(nodes, roots, documents, reference_docs)
        own = sources[len(sources) - len(shards) :]
        index = NearDedupIndex(str(self.workdir))
        for source in own:
            index.write_decision(source.shard, *decisions.get(source.shard, ({}, {})))
        index.write_index(self.index_parameters(), shards, [s.size for s in own])
        sizes = np.bincount(roots) if len(roots) else np.zeros(0, np.int64)
        return {
            "documents": documents.total - reference_docs,
            "reference_documents": reference_docs,
            "key_ranges": ranges,
            "candidate_pairs": candidates,
            "verified_pairs": len(a),
            "clusters": int((sizes > 1).sum()),
            "largest_cluster": int(sizes.max()) if len(sizes) else 0,
            "near_duplicates": sum(len(removed) for removed, _ in decisions.values()),
            "memory_budget_mb": self.memory_budget_mb,
            "seconds": round(time.perf_counter() - started, 2),
        }

    @property
    def _budget(self) -> int:
        return self.memory_budget_mb << 20

    def _block_docs(self) -> int:
        """First documents per block of pairs: their signature rows take a quarter of the
        budget."""
        return max(1, (self._budget // 4) // (self.num_perm * 4))

    def _candidate_pairs(
        self, documents: _RunDocuments, reference_docs: int, pairs_dir: Path
    ) -> tuple[int, int]:
        """Write candidate pairs to `pairs_dir/<block>.bin` (int64 (i, j), blocks by i), one
        key range at a time; returns (pairs written, key ranges)."""
        # A record costs its key and row on disk, and in memory the key, global index, sort
        # order and pair arrays: ~48 bytes.
        records = sum(s.index.band_records(s.shard) for s in documents.sources)
        ranges = dedup_store.key_ranges(records, 48, self._budget // 2)
        block_docs = self._block_docs()
        candidates = 0
        for lo, hi in ranges:
            key_list, doc_list = [], []
            for source in documents.sources:
                keys, rows = source.index.bands_in_range(source.shard, lo, hi)
                key_list.append(keys)
                doc_list.append(rows.astype(np.int64) + source.offset)
            keys = np.concatenate(key_list)
            docs = np.concatenate(doc_list)
            del key_list, doc_list
            order = np.lexsort((docs, keys))
            keys, docs = keys[order], docs[order]
            del order
            group = dedup_store.group_starts(keys)
            member = np.nonzero(group != np.arange(len(keys)))[0]
            # each member of a bucket pairs with the bucket's first (smallest) document and
            # with the one before it: a star catches the common case, the chain what the star's
            # centre fails to verify
            first = docs[group[member]]
            previous = docs[member - 1]
            second = docs[member]
            i = np.concatenate([first, previous[previous != first]])
            j = np.concatenate([second, second[previous != first]])
            keep = j >= reference_docs  # pairs inside the reference index are settled
            i, j = i[keep], j[keep]
            candidates += len(i)
            block_of = i // block_docs
            for block in np.unique(block_of).tolist():
                mask = block_of == block
                with open(pairs_dir / f"{block}.bin", "ab") as out:
                    np.stack([i[mask], j[mask]], axis=1).astype(np.int64).tofile(out)
        return candidates, len(ranges)

    def _verified_pairs(
        self, documents: _RunDocuments, pairs_dir: Path
    ) -> tuple[np.ndarray, np.ndarray]:
        """The candidate pairs whose Jaccard similarity reaches `threshold`, verified block by
        block in chunks of pairs that fit the budget. A pair costs two signature rows and
        their comparison, or, verified exactly, about 32 bytes per shingle of both documents
        (their sets, tagged copies, the intersection); a document has at most as many
        shingles as characters."""
        budget = self._budget
        edges_i: list[np.ndarray] = []
        edges_j: list[np.ndarray] = []
        blocks = max(1, math.ceil(documents.total / self._block_docs()))
        for block in range(blocks):
            path = pairs_dir / f"{block}.bin"
            if not path.exists():
                continue
            pairs = np.unique(np.fromfile(path, dtype=np.int64).reshape(-1, 2), axis=0)
            if self.verify == "exact":
                cost = 32 * (documents.lengths(pairs[:, 0]) + 2)
                cost += 32 * (documents.lengths(pairs[:, 1]) + 2)
            else:
                cost = np.full(len(pairs), self.num_perm * 4 * 3 + 64, dtype=np.int64)
            ends = np.cumsum(cost)
            lo = 0
            while lo < len(pairs):
                # at least one pair, then as many as half the budget holds
                limit = (ends[lo - 1] if lo else 0) + budget // 2
                hi = max(lo + 1, int(np.searchsorted(ends, limit, side="right")))
                chunk = pairs[lo:hi]
                similar = self._similarity(documents, chunk) >= self.threshold
                edges_i.append(chunk[similar, 0])
                edges_j.append(chunk[similar, 1])
                lo = hi
            path.unlink()
        a = np.concatenate(edges_i) if edges_i else np.zeros(0, np.int64)
        b = np.concatenate(edges_j) if edges_j else np.zeros(0, np.int64)
        return a, b

    def _similarity(self, documents: _RunDocuments, pairs: np.ndarray) -> np.ndarray:
        """Jaccard similarity of each pair: exact over the stored shingle sets, or the
        signature estimate."""
        if self.verify == "signature":
            left = documents.signatures(pairs[:, 0])
            right = documents.signatures(pairs[:, 1])
            return (left == right).mean(axis=1)
        docs, inverse = np.unique(pairs, return_inverse=True)
        sets = documents.shingle_sets(docs)
        inverse = inverse.reshape(-1, 2)
        # tag every hash with its pair number, so one sorted intersection counts all pairs
        tags = np.arange(len(pairs), dtype=np.uint64) << np.uint64(32)
        sides = []
        for side in (0, 1):
            chosen = [sets[k] for k in inverse[:, side].tolist()]
            sizes = np.array([len(c) for c in chosen], dtype=np.int64)
            values = np.concatenate(chosen).astype(np.uint64) if len(chosen) else np.zeros(0)
            sides.append((np.repeat(tags, sizes) | values, sizes))
        (left, left_sizes), (right, right_sizes) = sides
        common = np.intersect1d(left, right, assume_unique=True)
        inter = np.bincount((common >> np.uint64(32)).astype(np.int64), minlength=len(pairs))
        union = left_sizes + right_sizes - inter
        return np.where(union > 0, inter / np.maximum(union, 1), 0.0)

    def _clusters(
        self, nodes: np.ndarray, roots: np.ndarray, documents: _RunDocuments, reference_docs: int
    ) -> dict[str, tuple[dict[str, str], dict[str, int]]]:
        """Pick each cluster's kept document and write down everyone else's fate, by shard:
        (removed: ordinal -> kept id, cluster_size: ordinal -> size)."""
        if len(nodes) == 0:
            return {}
        which = documents.source_of(nodes)
        lengths = documents.lengths(nodes)
        is_reference = nodes < reference_docs
        # Sort by cluster; then an indexed document first (it is already in the corpus), then
        # the policy (longest, or none), then run order: the first of each cluster stays.
        rank = -lengths if self.keep == "longest" else np.zeros_like(lengths)
        order = np.lexsort((nodes, rank, ~is_reference, roots))
        group = dedup_store.group_starts(roots[order])
        kept_of = np.empty(len(nodes), dtype=np.int64)
        kept_of[order] = order[group]  # position (in nodes) of the kept one of each cluster
        size = np.bincount(roots)[roots]
        decisions: dict[str, tuple[dict[str, str], dict[str, int]]] = {}
        for position in np.nonzero(~is_reference)[0].tolist():
            source = documents.sources[int(which[position])]
            removed, sizes = decisions.setdefault(source.shard, ({}, {}))
            ordinal = str(int(nodes[position]) - source.offset)
            kept = int(kept_of[position])
            if kept == position:
                sizes[ordinal] = int(size[position])
            else:
                removed[ordinal] = documents.id(int(nodes[kept]))
        return decisions

    # -- decide on Spark: the same decision, distributed ---------------------------------

    def decide_on_spark(
        self, spark: SparkSession, shards: list[str], location: str
    ) -> tuple[dict[str, Any], list[str]]:
        from mdfs.coarse.near_dedup_spark import decide_on_spark

        return decide_on_spark(spark, self, shards, location)

    # -- filter_shard: per shard, in the workers -----------------------------------------

    def filter_shard(
        self, shard: str, documents: Iterable[Document]
    ) -> Iterator[Document | Removed]:
        removed, sizes = NearDedupIndex(str(self.workdir)).read_decision(shard)
        for ordinal, document in enumerate(documents):
            key = str(ordinal)
            original = removed.get(key)
            if original is None:
                document.meta["duplicate_cluster_size"] = sizes.get(key, 1)
                yield document
            else:
                document.meta["duplicate_of"] = original
                yield Removed(document, "near_duplicate")


def _numbered(index: NearDedupIndex, shards: list[str], offset: int) -> list[Source]:
    """The shards of an index as sources numbered from `offset` on, in the order given."""
    sources = []
    for shard in shards:
        size = index.size(shard)
        sources.append(Source(index, shard, offset, size))
        offset += size
    return sources


class _RunDocuments:
    """The documents a decide sees, by their number in run order, read from their sources."""

    def __init__(self, sources: list[Source], num_perm: int) -> None:
        self.sources = sources
        self.num_perm = num_perm
        self.starts = np.array([s.offset for s in sources], dtype=np.int64)
        self.total = sources[-1].offset + sources[-1].size if sources else 0
        self._ids: dict[int, list[str]] = {}

    def source_of(self, docs: np.ndarray) -> np.ndarray:
        """The position in `sources` of each document's shard."""
        return np.searchsorted(self.starts, docs, side="right") - 1

    def _by_source(self, docs: np.ndarray) -> Iterator[tuple[Source, np.ndarray]]:
        which = self.source_of(docs)
        for position in np.unique(which).tolist():
            yield self.sources[position], which == position

    def lengths(self, docs: np.ndarray) -> np.ndarray:
        """Text lengths, in the order given."""
        out = np.zeros(len(docs), dtype=np.int64)
        for source, mask in self._by_source(docs):
            out[mask] = source.index.lengths_at(source.shard, docs[mask] - source.offset)
        return out

    def shingle_sets(self, docs: np.ndarray) -> list[np.ndarray]:
        """Shingle sets of sorted documents."""
        out: list[np.ndarray] = []
        for source, mask in self._by_source(docs):
            out.extend(source.index.shingle_sets_at(source.shard, docs[mask] - source.offset))
        return out

    def signatures(self, docs: np.ndarray) -> np.ndarray:
        """Signature rows, in the order given."""
        out = np.empty((len(docs), self.num_perm), dtype=np.uint32)
        for source, mask in self._by_source(docs):
            ordinals = docs[mask] - source.offset
            order = np.argsort(ordinals, kind="stable")  # sequential reads through the map
            rows = source.index.signatures_at(
                source.shard, source.size, self.num_perm, ordinals[order]
            )
            placed = np.empty_like(rows)
            placed[order] = rows
            out[mask] = placed
        return out

    def id(self, doc: int) -> str:
        position = int(self.source_of(np.array([doc]))[0])
        source = self.sources[position]
        if position not in self._ids:
            self._ids[position] = source.index.ids(source.shard)
        return self._ids[position][doc - source.offset]


def connected_components(count: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root (smallest member) of each of `count` nodes, given undirected edges a[k]-b[k]."""
    parent = list(range(count))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving keeps the trees flat
            x = parent[x]
        return x

    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        rx, ry = find(x), find(y)
        if rx != ry:
            # the smaller index becomes the root, so the result does not depend on edge order
            if rx < ry:
                parent[ry] = rx
            else:
                parent[rx] = ry
    return np.array([find(x) for x in range(count)], dtype=np.int64)


def resolve_index(path: str | Path) -> Path:
    """A near-dedup index: the folder holding index.json, or a run's output folder."""
    if is_url(path):
        # the index is memory-mapped, which needs a local (or mounted shared) filesystem
        raise UserError(f"reference index {path}: give a local folder, not a URL (copy it first)")
    folder = Path(path)
    for candidate in (folder, folder / ".mdfs" / "global" / NearDedup.name):
        if NearDedupIndex(str(candidate)).exists():
            return candidate
    raise UserError(
        f"{path} holds no near-duplicate index (a finished run's output folder with "
        f"near_dedup in its recipe, or that run's .mdfs/global/{NearDedup.name})"
    )
