"""Tokenised corpus as memory-mapped binary shards, and fixed-length training samples.

On disk, in the spirit of Megatron's .bin/.idx pair:

    DIR/shard-00000.bin   token ids, little-endian uint16 (uint32 if the vocabulary needs it),
                          each document followed by the end-of-text token
    DIR/shard-00000.idx   int64 .npy array of document start offsets into the .bin, with the
                          end as last entry (n_docs + 1 values): the document boundaries
    DIR/index.json        the manifest: dtype, eos id, and per completed shard its token and
                          document counts

Packing streams: documents are read, tokenised in batches and appended to the open shard,
which is closed at the first document boundary past `shard_tokens`. A shard is written to a
temporary name and renamed when complete, then recorded in the manifest, so an interrupted
run leaves only whole shards behind. Re-running skips the documents the recorded shards hold
and continues; because shard boundaries depend only on the document stream, the result is
byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mdfs.errors import UserError
from mdfs.train.corpus import corpus_files, iter_texts

MANIFEST = "index.json"
_ENCODE_BATCH = 256


def pack_corpus(
    corpus: str | Path,
    tokenizer_dir: str | Path,
    output_dir: str | Path,
    shard_tokens: int = 1 << 26,
    max_shards: int | None = None,
) -> dict:
    """Tokenise `corpus` into shards under `output_dir`; resume if shards are already there.

    `max_shards` stops after that many shards in total (used to test resumption; it is
    also a cheap way to cap the data a proxy run sees). Returns the manifest.
    """
    from mdfs.train.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_dir)
    eos_id = tokenizer.eos_token_id
    vocab_size = len(tokenizer)
    dtype = np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32
    files = corpus_files(corpus)
    identity = {
        "files": [str(f.resolve()) for f in files],
        "tokenizer_sha1": _sha1(Path(tokenizer_dir) / "tokenizer.json"),
        "shard_tokens": shard_tokens,
    }
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(output_dir)
    if manifest is None or manifest["identity"] != identity:
        if manifest is not None:
            raise UserError(
                f"{output_dir}: holds shards packed from other files, tokenizer or shard size; "
                "choose another output directory"
            )
        manifest = {
            "identity": identity,
            "dtype": np.dtype(dtype).name,
            "eos_id": eos_id,
            "vocab_size": vocab_size,
            "shards": [],
            "complete": False,
        }
    if manifest["complete"]:
        return manifest

    docs_done = sum(s["documents"] for s in manifest["shards"])
    texts = iter_texts(files)
    for _ in range(docs_done):  # resume: the recorded shards already hold these documents
        next(texts)

    tokens: list[np.ndarray] = []
    n_tokens = 0
    for ids in _encode(tokenizer, texts, eos_id):
        if max_shards is not None and len(manifest["shards"]) >= max_shards:
            return manifest
        tokens.append(np.asarray(ids, dtype=dtype))
        n_tokens += len(ids)
        if n_tokens >= shard_tokens:
            _write_shard(output_dir, manifest, tokens)
            tokens, n_tokens = [], 0
    if tokens and (max_shards is None or len(manifest["shards"]) < max_shards):
        _write_shard(output_dir, manifest, tokens)
    if max_shards is None or len(manifest["shards"]) < max_shards:
        manifest["complete"] = True
        _write_manifest(output_dir, manifest)
    return manifest


def _encode(tokenizer, texts: Iterator[str], eos_id: int) -> Iterator[list[int]]:
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == _ENCODE_BATCH:
            yield from _encode_batch(tokenizer, batch, eos_id)
            batch = []
    if batch:
        yield from _encode_batch(tokenizer, batch, eos_id)


def _encode_batch(tokenizer, batch: list[str], eos_id: int) -> Iterator[list[int]]:
    encoded = tokenizer(batch, add_special_tokens=False)["input_ids"]
    for ids in encoded:
        yield [*ids, eos_id]


def _write_shard(output_dir: Path, manifest: dict, documents: list[np.ndarray]) -> None:
    name = f"shard-{len(manifest['shards']):05d}"
    lengths = np.array([len(d) for d in documents], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    for suffix, write in (
        (".bin", lambda h: np.concatenate(documents).tofile(h)),
        (".idx", lambda h: np.save(h, offsets)),
    ):
        tmp = output_dir / f"{name}{suffix}.tmp"
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, output_dir / f"{name}{suffix}")
    manifest["shards"].append(
        {"name": name, "tokens": int(offsets[-1]), "documents": len(documents)}
    )
    _write_manifest(output_dir, manifest)


def _read_manifest(output_dir: Path) -> dict | None:
    path = output_dir / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def _write_manifest(output_dir: Path, manifest: dict) -> None:
    tmp = output_dir / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, output_dir / MANIFEST)


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@dataclass
class Shard:
    tokens: np.memmap
    doc_offsets: np.ndarray


def open_shards(data_dir: str | Path) -> tuple[dict, list[Shard]]:
    data_dir = Path(data_dir)
    manifest = _read_manifest(data_dir)
    if manifest is None or not manifest["shards"]:
        raise UserError(f"{data_dir}: no packed shards (run `mdfs pack` first)")
    shards = [
        Shard(
            tokens=np.memmap(data_dir / f"{s['name']}.bin", dtype=manifest["dtype"], mode="r"),
            doc_offsets=np.load(data_dir / f"{s['name']}.idx"),
        )
        for s in manifest["shards"]
    ]
    return manifest, shards


class PackedDataset:
    """The shards as one token stream cut into samples of `seq_len + 1` tokens.

    Sample i covers tokens [i * seq_len, (i + 1) * seq_len + 1): inputs are its first
    seq_len tokens, targets its last seq_len. Documents are packed back to back, separated by
    the end-of-text token, as GPT-2 and nanoGPT train. The sample order is a seeded
    permutation, fresh for each epoch, so every process of a run sees the same global order.
    """

    def __init__(self, data_dir: str | Path, seq_len: int, seed: int = 0) -> None:
        self.manifest, self.shards = open_shards(data_dir)
        self.seq_len = seq_len
        self.seed = seed
        sizes = np.array([len(s.tokens) for s in self.shards], dtype=np.int64)
        self.shard_starts = np.concatenate([[0], np.cumsum(sizes)])
        self.total_tokens = int(self.shard_starts[-1])
        self.n_samples = (self.total_tokens - 1) // seq_len
        if self.n_samples < 1:
            raise UserError(
                f"{data_dir}: {self.total_tokens} tokens is too few for one sample of {seq_len}"
            )
        self._epoch = -1
        self._order = np.arange(0)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Tokens [start, stop) of the whole stream, across shard boundaries."""
        parts = []
        shard = int(np.searchsorted(self.shard_starts, start, side="right")) - 1
        while start < stop:
            base = int(self.shard_starts[shard])
            end = min(stop, int(self.shard_starts[shard + 1]))
            parts.append(self.shards[shard].tokens[start - base : end - base])
            start, shard = end, shard + 1
        return np.concatenate(parts).astype(np.int64)

    def sample(self, index: int) -> np.ndarray:
        return self.read(index * self.seq_len, (index + 1) * self.seq_len + 1)

    def batch(self, step: int, batch_size: int) -> np.ndarray:
        """The global batch of a step: `batch_size` samples, shape (batch_size, seq_len + 1)."""
        rows = []
        for k in range(step * batch_size, (step + 1) * batch_size):
            epoch, position = divmod(k, self.n_samples)
            if epoch != self._epoch:
                self._order = np.random.default_rng([self.seed, epoch]).permutation(self.n_samples)
                self._epoch = epoch
            rows.append(self.sample(int(self._order[position])))
        return np.stack(rows)
