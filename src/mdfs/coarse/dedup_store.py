"""On-disk key runs that global dedup steps read back one key range at a time.

Each shard's `observe` writes its 64-bit keys sorted, with the row (document ordinal) of
each key beside them. `decide` then never loads a whole corpus's keys: it splits the key
space into as many equal ranges as the memory budget requires and, for each range, cuts the
matching slice out of every shard's sorted run (a binary search on a memory map, then a
copy). Keys are well-mixed hashes, so every range holds about the same number of records and
the largest array in memory is about ``total records / ranges``, a quantity the budget sets,
not the corpus size. I/O stays linear: each record is read once per pass.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

KEY_SPACE = 1 << 64


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads any uint64 input over all 64 bits (in place)."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def save_run(folder: Path, stem: str, keys: np.ndarray, rows: np.ndarray) -> None:
    """Write `keys` (uint64) and `rows` (uint32) sorted by key, then row."""
    order = np.lexsort((rows, keys))
    np.save(folder / f"{stem}.keys.npy", keys[order].astype(np.uint64, copy=False))
    np.save(folder / f"{stem}.rows.npy", rows[order].astype(np.uint32, copy=False))


def run_length(folder: Path, stem: str) -> int:
    return int(np.load(folder / f"{stem}.keys.npy", mmap_mode="r").shape[0])


def key_ranges(records: int, bytes_per_record: int, budget_bytes: int) -> list[tuple[int, int]]:
    """Equal slices [lo, hi) of the 64-bit key space, each holding about `budget` bytes."""
    count = max(1, math.ceil(records * bytes_per_record / max(1, budget_bytes)))
    bounds = [KEY_SPACE * i // count for i in range(count + 1)]
    return list(itertools.pairwise(bounds))


def read_range(folder: Path, stem: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The (keys, rows) of one shard's run with lo <= key < hi, as arrays in memory."""
    keys_path = folder / f"{stem}.keys.npy"
    keys = np.load(keys_path, mmap_mode="r")
    if keys.shape[0] == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint32)
    start = int(np.searchsorted(keys, np.uint64(lo), side="left"))
    end = (
        keys.shape[0] if hi >= KEY_SPACE else int(np.searchsorted(keys, np.uint64(hi), side="left"))
    )
    rows = np.load(folder / f"{stem}.rows.npy", mmap_mode="r")
    # copies, so the maps (and the pages they touched) go when this returns
    return np.array(keys[start:end]), np.array(rows[start:end])


def group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """For each position of a sorted array, the position where its run of equal keys starts."""
    if len(sorted_keys) == 0:
        return np.zeros(0, np.int64)
    is_start = np.ones(len(sorted_keys), dtype=bool)
    is_start[1:] = sorted_keys[1:] != sorted_keys[:-1]
    positions = np.where(is_start, np.arange(len(sorted_keys)), 0)
    return np.maximum.accumulate(positions)


def chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, max(1, size)):
        yield start, min(total, start + max(1, size))
