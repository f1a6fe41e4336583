"""Held-out text sets: the loss that compares runs trained on different corpora.

A training loss is measured on each run's own corpus, so two runs' training losses do not
compare. A held-out set is a fixed token stream, cut into `seq_len`-token windows (each
window's first token conditions on the previous window's last), scored at intervals by
every run the same way. Bits per character, the summed loss in bits over the characters the
scored tokens spell, compares runs whose tokenizers differ (one's token may hold two of the
other's characters); the loss per token compares runs that share one.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np

from mdfs.errors import UserError
from mdfs.train.corpus import corpus_files, iter_texts

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ENCODE_BATCH = 256


def parse_heldout(values: list[str] | None) -> dict[str, str]:
    """`NAME=PATH` arguments as {name: path}, checked."""
    sets: dict[str, str] = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not _NAME.match(name) or not path:
            raise UserError(f"--heldout {value!r}: write NAME=PATH (NAME of letters, digits, _-.)")
        if name in sets:
            raise UserError(f"--heldout: the name {name!r} is given twice")
        corpus_files(path)  # raises if there is nothing to read
        sets[name] = path
    return sets


def prepare_heldout(
    name: str,
    corpus: str | Path,
    tokenizer_dir: str | Path,
    output_dir: Path,
    seq_len: int,
    batch_size: int,
    max_tokens: int,
) -> dict:
    """Tokenise the first documents of `corpus` into whole batches of windows, up to
    `max_tokens` scored tokens; write NAME.npy and return its description for the config."""
    from mdfs.train.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_dir)
    per_batch = batch_size * seq_len
    wanted = max(per_batch, max_tokens - max_tokens % per_batch) + 1
    stream: list[int] = []
    documents = 0
    texts = iter_texts(corpus_files(corpus))
    while len(stream) < wanted:
        batch = list(itertools.islice(texts, _ENCODE_BATCH))
        if not batch:
            break
        for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]:
            stream += [*ids, tokenizer.eos_token_id]
            documents += 1
            if len(stream) >= wanted:
                break
    scored = min(wanted - 1, (len(stream) - 1) // per_batch * per_batch)
    if scored == 0:
        raise UserError(
            f"--heldout {name}: {len(stream)} tokens in {corpus}, fewer than one batch "
            f"({batch_size} x {seq_len} + 1)"
        )
    tokens = np.asarray(stream[: scored + 1], dtype=np.int64)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{name}.npy"
    np.save(path, tokens)
    chars = len(tokenizer.decode(tokens[1:].tolist(), skip_special_tokens=True))
    return {
        "name": name,
        "corpus": str(corpus),
        "path": str(path.resolve()),
        "documents": documents,
        "tokens": scored,
        "chars": chars,
    }


def windows(path: str | Path, seq_len: int) -> np.ndarray:
    """(n, seq_len + 1) windows of a held-out stream; consecutive ones share one token."""
    tokens = np.load(path)
    n = (len(tokens) - 1) // seq_len
    starts = np.arange(n)[:, None] * seq_len + np.arange(seq_len + 1)[None, :]
    return tokens[starts]


def bits_per_char(loss: float, tokens: int, chars: int) -> float:
    """Mean loss per token (nats) -> bits per character of the text those tokens spell."""
    return loss * tokens / chars / np.log(2)
