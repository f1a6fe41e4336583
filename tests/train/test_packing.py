import itertools
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer

from mdfs.errors import UserError
from mdfs.train.packing import PackedDataset, open_shards, pack_corpus

SHARD_TOKENS = 6000  # small, so the fixture corpus spans several shards


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_shards_keep_document_boundaries(corpus_dir, tokenizer_dir, paragraphs, tmp_path):
    manifest = pack_corpus(corpus_dir, tokenizer_dir, tmp_path, shard_tokens=SHARD_TOKENS)
    assert manifest["complete"] and len(manifest["shards"]) > 2
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    _, shards = open_shards(tmp_path)
    documents = []
    for shard in shards:
        offsets = shard.doc_offsets
        assert offsets[0] == 0 and offsets[-1] == len(shard.tokens)
        for start, stop in itertools.pairwise(offsets):
            doc = np.asarray(shard.tokens[start:stop])
            assert doc[-1] == manifest["eos_id"]  # each document ends with end-of-text
            assert manifest["eos_id"] not in doc[:-1]
            documents.append(tokenizer.decode(doc[:-1].tolist()))
    assert documents == paragraphs[:150]  # every document, whole, in corpus order


def test_interrupted_packing_resumes_to_identical_shards(corpus_dir, tokenizer_dir, tmp_path):
    whole = pack_corpus(corpus_dir, tokenizer_dir, tmp_path / "whole", shard_tokens=SHARD_TOKENS)
    # Interrupted after two shards, with a stray partial file as a crash would leave.
    part = pack_corpus(
        corpus_dir, tokenizer_dir, tmp_path / "resumed", shard_tokens=SHARD_TOKENS, max_shards=2
    )
    assert len(part["shards"]) == 2 and not part["complete"]
    (tmp_path / "resumed" / "shard-00002.bin.tmp").write_bytes(b"partial")
    resumed = pack_corpus(corpus_dir, tokenizer_dir, tmp_path / "resumed", SHARD_TOKENS)
    assert resumed["shards"] == whole["shards"]
    whole_files = _files(tmp_path / "whole")
    resumed_files = {k: v for k, v in _files(tmp_path / "resumed").items() if "tmp" not in k}
    assert resumed_files == whole_files


def test_repacking_into_a_foreign_directory_is_refused(corpus_dir, tokenizer_dir, tmp_path):
    pack_corpus(corpus_dir, tokenizer_dir, tmp_path, shard_tokens=SHARD_TOKENS)
    with pytest.raises(UserError):
        pack_corpus(corpus_dir, tokenizer_dir, tmp_path, shard_tokens=SHARD_TOKENS * 2)


def test_samples_are_shifted_windows_across_shards(corpus_dir, tokenizer_dir, tmp_path):
    pack_corpus(corpus_dir, tokenizer_dir, tmp_path, shard_tokens=SHARD_TOKENS)
    seq_len = 64
    data = PackedDataset(tmp_path, seq_len, seed=3)
    stream = np.concatenate([np.asarray(s.tokens) for s in data.shards]).astype(np.int64)
    assert data.n_samples == (len(stream) - 1) // seq_len
    for index in range(data.n_samples):  # includes windows that straddle two shards
        assert np.array_equal(
            data.sample(index), stream[index * seq_len : (index + 1) * seq_len + 1]
        )
    # One epoch visits every sample once; the order depends only on the seed.
    epoch = data.batch(0, data.n_samples)
    assert sorted(map(tuple, epoch)) == sorted(
        map(tuple, (data.sample(i) for i in range(data.n_samples)))
    )
    again = PackedDataset(tmp_path, seq_len, seed=3)
    assert np.array_equal(again.batch(5, 4), data.batch(5, 4))
