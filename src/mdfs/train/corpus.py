"""Read documents from an MDFS corpus directory or from .jsonl, .jsonl.gz or .parquet files."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import orjson

from mdfs.errors import UserError

_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")


def corpus_files(path: str | Path) -> list[Path]:
    """The files of a corpus, in a stable order (packing must be reproducible to resume)."""
    path = Path(path)
    if path.is_file():
        if not path.name.endswith(_SUFFIXES):
            raise UserError(f"{path}: expected a .jsonl, .jsonl.gz or .parquet file")
        return [path]
    if not path.is_dir():
        raise UserError(f"{path}: no such corpus directory or file")
    # MDFS writes kept documents to DIR/corpus/; a bare directory of shards is accepted too.
    folder = path / "corpus" if (path / "corpus").is_dir() else path
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(_SUFFIXES))
    if not files:
        raise UserError(f"{path}: no .jsonl, .jsonl.gz or .parquet files in {folder}")
    return files


def iter_texts(files: list[Path]) -> Iterator[str]:
    """Yield the non-empty "text" field of every document, streaming."""
    for file in files:
        if file.name.endswith(".parquet"):
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(file).iter_batches(columns=["text"]):
                yield from (text for text in batch.column("text").to_pylist() if text)
            continue
        opener = gzip.open if file.name.endswith(".gz") else open
        with opener(file, "rb") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    text = orjson.loads(line)["text"]
                except (orjson.JSONDecodeError, KeyError, TypeError) as error:
                    raise UserError(f"{file}:{line_no}: not a document with 'text'") from error
                if text:
                    yield text
