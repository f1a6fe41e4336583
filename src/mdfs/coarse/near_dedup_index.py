"""The files of a near-duplicate index: one folder, the only place their format is written down.

`NearDedup.observe` writes a shard's files; a decide (the step's own on the driver, or its
Spark decide) reads every shard's and writes each shard's decision and `index.json`;
`filter_shard` reads its shard's decision; a later run's `reference_index` reads it all again.

Per shard:
- `<shard>.meta.json`: {"documents": n}, written last: its presence says the rest is complete;
- `<shard>.ids.json`: the documents' ids; `<shard>.lengths.npy`: their lengths (int64 chars);
- `<shard>.sig.bin`: n x num_perm uint32 MinHash signatures, row-major;
- `<shard>.shingles.bin`: each document's sorted distinct 32-bit shingle hashes (uint32),
  concatenated, with `<shard>.shingle_offsets.npy` (n + 1 int64: document k's set is
  values offsets[k]:offsets[k + 1]);
- `<shard>.lsh.keys.npy` / `.lsh.rows.npy`: LSH band keys sorted, with their documents'
  ordinals (a `dedup_store` run);
- `<shard>.near.json`, the decision: {"removed": {ordinal: kept id}, "cluster_size":
  {ordinal: size}} (ordinals as strings; a document in neither stays, alone).
And `index.json`: {"parameters": the step's index parameters, "shards": [...], "sizes": [...]}.

The folder is a local path where files are memory-mapped (observe, the driver's decide);
Spark executors read and write it through fsspec, so there it may also be a URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import fsspec
import numpy as np
import orjson

from mdfs.coarse import dedup_store
from mdfs.storage import is_url, join, write_atomic_bytes

INDEX_FILE = "index.json"


@dataclass(frozen=True)
class NearDedupIndex:
    """A near-dedup index folder (a local path, or a URL where only streamed reads happen)."""

    folder: str

    def _open(self, name: str) -> IO[bytes]:
        return fsspec.open(join(self.folder, name), "rb").open()

    def _read(self, name: str) -> bytes:
        with self._open(name) as handle:
            return handle.read()

    def _load(self, name: str) -> np.ndarray:
        with self._open(name) as handle:
            return np.load(handle)

    def _local(self) -> Path:
        if is_url(self.folder):
            raise ValueError(f"{self.folder}: memory maps need a local folder")
        return Path(self.folder)

    # -- the whole index -----------------------------------------------------------------

    def exists(self) -> bool:
        return not is_url(self.folder) and (Path(self.folder) / INDEX_FILE).is_file()

    def read_index(self) -> dict[str, Any]:
        return orjson.loads(self._read(INDEX_FILE))

    def write_index(self, parameters: dict[str, Any], shards: list[str], sizes: list[int]) -> str:
        """Record what the index holds; returns the file's name."""
        index = {"parameters": parameters, "shards": shards, "sizes": sizes}
        write_atomic_bytes(join(self.folder, INDEX_FILE), orjson.dumps(index))
        return INDEX_FILE

    # -- one shard: observe's side ---------------------------------------------------------

    @contextlib.contextmanager
    def shard_writer(self, shard: str) -> Iterator[ShardWriter]:
        """Write a shard's files batch by batch; complete (meta.json last) when the block ends."""
        writer = ShardWriter(self._local(), shard)
        with writer.signatures, writer.sets:
            yield writer
        writer.close()

    # -- one shard: read back --------------------------------------------------------------

    def size(self, shard: str) -> int:
        return int(orjson.loads(self._read(f"{shard}.meta.json"))["documents"])

    def ids(self, shard: str) -> list[str]:
        return orjson.loads(self._read(f"{shard}.ids.json"))

    def lengths(self, shard: str) -> np.ndarray:
        """All the shard's document lengths, streamed."""
        return self._load(f"{shard}.lengths.npy").astype(np.int64, copy=False)

    def lengths_at(self, shard: str, ordinals: np.ndarray) -> np.ndarray:
        """Document lengths by ordinal, through a memory map."""
        table = np.load(self._local() / f"{shard}.lengths.npy", mmap_mode="r")
        return np.array(table[ordinals], dtype=np.int64)

    def band_records(self, shard: str) -> int:
        return dedup_store.run_length(self._local(), f"{shard}.lsh")

    def bands_in_range(self, shard: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(keys, ordinals) of the shard's band keys with lo <= key < hi (memory-mapped)."""
        return dedup_store.read_range(self._local(), f"{shard}.lsh", lo, hi)

    def bands(self, shard: str) -> tuple[np.ndarray, np.ndarray]:
        """(keys, ordinals) of all the shard's band keys, streamed."""
        return self._load(f"{shard}.lsh.keys.npy"), self._load(f"{shard}.lsh.rows.npy")

    def signatures_at(
        self, shard: str, size: int, num_perm: int, ordinals: np.ndarray
    ) -> np.ndarray:
        """Signature rows by ordinal, through a memory map closed on return."""
        if len(ordinals) == 0:
            return np.zeros((0, num_perm), np.uint32)
        path = self._local() / f"{shard}.sig.bin"
        table = np.memmap(path, dtype=np.uint32, mode="r", shape=(size, num_perm))
        rows = np.array(table[ordinals])
        del table
        return rows

    def signature_batches(
        self, shard: str, size: int, num_perm: int, batch: int
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(first ordinal, rows x num_perm uint32) blocks of the shard's signatures, streamed."""
        row_bytes = num_perm * 4
        with self._open(f"{shard}.sig.bin") as table:
            for lo in range(0, size, batch):
                rows = min(batch, size - lo)
                data = table.read(rows * row_bytes)
                if len(data) != rows * row_bytes:
                    raise ValueError(
                        f"{shard}.sig.bin in {self.folder} is shorter than {size} rows"
                    )
                yield lo, np.frombuffer(data, dtype=np.uint32).reshape(rows, num_perm)

    def shingle_sets_at(self, shard: str, ordinals: np.ndarray) -> list[np.ndarray]:
        """Sorted distinct shingle hashes of documents by ordinal, through a memory map."""
        folder = self._local()
        offsets = np.load(folder / f"{shard}.shingle_offsets.npy", mmap_mode="r")
        total = int(offsets[-1])
        if total == 0:
            return [np.zeros(0, np.uint32) for _ in ordinals]
        path = folder / f"{shard}.shingles.bin"
        values = np.memmap(path, dtype=np.uint32, mode="r", shape=(total,))
        sets = [np.array(values[offsets[k] : offsets[k + 1]]) for k in ordinals.tolist()]
        del values
        return sets

    def shingle_set_batches(
        self, shard: str, max_values: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(ordinals, their offsets into values (len + 1), values) for every document that has
        shingles, streamed in blocks of about `max_values` hashes (at least one document)."""
        offsets = self._load(f"{shard}.shingle_offsets.npy").astype(np.int64, copy=False)
        count = len(offsets) - 1
        with self._open(f"{shard}.shingles.bin") as values:
            lo = 0
            while lo < count:
                limit = offsets[lo] + max_values
                hi = max(lo + 1, int(np.searchsorted(offsets, limit, side="right")) - 1)
                hi = min(hi, count)
                data = values.read(int(offsets[hi] - offsets[lo]) * 4)
                block = np.frombuffer(data, dtype=np.uint32)
                local = offsets[lo : hi + 1] - offsets[lo]
                if len(block) != local[-1]:
                    raise ValueError(f"{shard}.shingles.bin in {self.folder} is truncated")
                sizes = np.diff(local)
                has = np.nonzero(sizes)[0]
                if len(has):
                    kept = np.concatenate([[0], np.cumsum(sizes[has])])
                    yield has + lo, kept, block
                lo = hi

    # -- decisions ---------------------------------------------------------------------------

    def write_decision(
        self, shard: str, removed: dict[str, str], cluster_size: dict[str, int]
    ) -> str:
        """Write a shard's decision (ordinals as strings); returns the file's name."""
        name = f"{shard}.near.json"
        decision = {"removed": removed, "cluster_size": cluster_size}
        write_atomic_bytes(join(self.folder, name), orjson.dumps(decision))
        return name

    def read_decision(self, shard: str) -> tuple[dict[str, str], dict[str, int]]:
        """(removed: ordinal -> kept id, cluster_size: ordinal -> size) of a shard."""
        decision = orjson.loads(self._read(f"{shard}.near.json"))
        return decision["removed"], decision["cluster_size"]


class ShardWriter:
    """One shard's files, as `observe` computes them batch by batch."""

    def __init__(self, folder: Path, shard: str) -> None:
        self.folder = folder
        self.shard = shard
        self.signatures = open(folder / f".{shard}.sig.bin.tmp", "wb")  # noqa: SIM115
        self.sets = open(folder / f".{shard}.shingles.bin.tmp", "wb")  # noqa: SIM115
        self.ids: list[str] = []
        self.lengths: list[int] = []
        self.set_sizes: list[np.ndarray] = []
        self.keys: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []

    def add(
        self, ids: list[str], lengths: list[int], signatures: np.ndarray, sets: np.ndarray,
        set_sizes: np.ndarray, band_keys: np.ndarray,
    ) -> None:  # fmt: skip
        """A batch of documents: their signatures (n x num_perm), shingle sets (concatenated,
        `set_sizes` each) and band keys (documents with shingles x bands)."""
        self.signatures.write(np.ascontiguousarray(signatures, dtype=np.uint32).tobytes())
        self.sets.write(np.ascontiguousarray(sets, dtype=np.uint32).tobytes())
        ordinals = np.nonzero(set_sizes > 0)[0].astype(np.uint32) + np.uint32(len(self.ids))
        self.set_sizes.append(set_sizes)
        self.keys.append(band_keys.ravel())
        self.rows.append(np.repeat(ordinals, band_keys.shape[1]))
        self.ids.extend(ids)
        self.lengths.extend(lengths)

    def close(self) -> None:
        folder, shard = self.folder, self.shard
        Path(self.sets.name).replace(folder / f"{shard}.shingles.bin")
        sizes = np.concatenate(self.set_sizes) if self.set_sizes else np.zeros(0, np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        np.save(folder / f"{shard}.shingle_offsets.npy", offsets)
        Path(self.signatures.name).replace(folder / f"{shard}.sig.bin")
        keys = np.concatenate(self.keys) if self.keys else np.zeros(0, np.uint64)
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, np.uint32)
        dedup_store.save_run(folder, f"{shard}.lsh", keys, rows)
        np.save(folder / f"{shard}.lengths.npy", np.array(self.lengths, dtype=np.int64))
        (folder / f"{shard}.ids.json").write_bytes(orjson.dumps(self.ids))
        # written last: its presence says the shard's other files are complete
        meta = orjson.dumps({"documents": len(self.ids)})
        (folder / f"{shard}.meta.json").write_bytes(meta)


@dataclass(frozen=True)
class Source:
    """One shard of an index, and where its documents start in run order: documents are
    numbered across a run by position (a reference index's shards, then the run's own)."""

    index: NearDedupIndex
    shard: str
    offset: int
    size: int
