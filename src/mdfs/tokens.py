"""Token counts for the report: a named tokenizer's, or an estimate from the characters.

A tokenizer is a Hugging Face `tokenizer.json` (what `mdfs train-tokenizer` writes, or any
model's), loaded with the `tokenizers` library once per worker process. Without one the
count is an estimate: Chinese text through a BPE vocabulary of the size LMs use comes to
about 1.5 characters per token, and the report says which of the two it shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from mdfs.errors import UserError

CHARS_PER_TOKEN = 1.5
ESTIMATE = f"estimate: {CHARS_PER_TOKEN} characters per token"


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def tokenizer_file(name: str) -> Path:
    """The tokenizer.json a recipe names (the file, or a folder holding it)."""
    path = Path(name)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise UserError(f"output.tokenizer: no tokenizer.json at {name}")
    return path


def counted_with(tokenizer: str | None) -> str:
    """What the report's token counts are: `tokenizer: PATH`, or the estimate."""
    return f"tokenizer: {tokenizer_file(tokenizer)}" if tokenizer else ESTIMATE


def token_counter(tokenizer: str | None) -> Callable[[str], int]:
    """A function giving the tokens of a text: the named tokenizer's, or the estimate.
    Markup is not counted (`TokenCounts`): a page counts from the step that extracts it."""
    if tokenizer is None:
        return estimate_tokens
    path = tokenizer_file(tokenizer)
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise UserError(
            "output.tokenizer needs the `tokenizers` library: pip install 'mdfs[ml]'"
        ) from None
    try:
        loaded = Tokenizer.from_file(str(path))
    except Exception as error:  # the library's own error for a file it cannot read
        raise UserError(f"output.tokenizer: {path} is not a tokenizer ({error})") from None
    # a model's tokenizer.json may cut its inputs to the model's length: count all of a text
    loaded.no_truncation()
    loaded.no_padding()

    def count(text: str) -> int:
        return len(loaded.encode(text, add_special_tokens=False).ids)

    return count
