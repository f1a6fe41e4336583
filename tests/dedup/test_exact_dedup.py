"""Exact dedup's global decision over several shards: the first copy in shard order stays,
every later copy names it, whatever shard it sits in."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mdfs.coarse.exact_dedup import ExactDedup
from mdfs.document import Document, Removed

SHARDS = {
    "s0": [("a1", "国务院 今天举行发布会"), ("a2", "第二篇文章"), ("a3", "国务院今天举行发布会")],
    "s1": [("b1", "独一无二"), ("b2", "第二篇\n文章"), ("b3", "GUO WU YUAN")],
    "s2": [("c1", "guo wu yuan"), ("c2", "国务院今天举行发布会。")],
}


def documents(shard: str) -> list[Document]:
    return [Document(id, text, shard) for id, text in SHARDS[shard]]


def test_first_copy_stays_and_later_copies_name_it(tmp_path: Path) -> None:
    step = ExactDedup()
    step.bind(tmp_path / "exact")
    for shard in SHARDS:
        step.observe(shard, documents(shard))
    observed = np.load(tmp_path / "exact" / "s0.hashes.npy")
    assert observed.dtype == np.uint64 and len(observed) == 3  # 8 bytes a document on disk
    assert step.decide(list(SHARDS)) == {"documents": 8, "duplicates": 3}
    fates = {}
    for shard in SHARDS:
        for out in step.filter_shard(shard, documents(shard)):
            if isinstance(out, Removed):
                assert out.reason == "exact_duplicate"
                fates[out.document.id] = out.document.meta["duplicate_of"]
            else:
                assert "duplicate_of" not in out.meta
                fates[out.id] = None
    assert fates == {
        "a1": None, "a2": None, "a3": "a1",
        "b1": None, "b2": "a2", "b3": None,
        "c1": "b3", "c2": None,  # punctuation is text: only whitespace and case are ignored
    }  # fmt: skip


def test_no_shards_no_documents(tmp_path: Path) -> None:
    step = ExactDedup()
    step.bind(tmp_path / "exact")
    assert step.decide([]) == {"documents": 0, "duplicates": 0}
