"""Types for recipe fields that name files (word lists, models).

They are checked when the recipe is validated, so a missing, unreadable or binary file is a
one-line recipe error before any output exists, not a shard that fails in a worker and
asks for a rerun that cannot help. Paths are resolved against the folder the command runs
in, where a worker would have looked for them.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

_SNIFF_BYTES = 65_536


def _existing(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.exists():
        raise ValueError(f"{value} does not exist")
    return path.resolve()


def check_text_file(value: str) -> str:
    path = _existing(value)
    if not path.is_file():
        raise ValueError(f"{value} is not a file")
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as error:
        raise ValueError(f"{value} cannot be read ({error.strerror or error})") from None
    try:
        if b"\x00" in head:
            raise UnicodeDecodeError("utf-8", head, head.index(b"\x00"), len(head), "NUL byte")
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a cut character is fine
    except UnicodeDecodeError:
        raise ValueError(f"{value} is not a UTF-8 text file (binary?)") from None
    return str(path)


def check_model_path(value: str) -> str:
    path = _existing(value)
    try:
        if path.is_dir():
            next(path.iterdir(), None)
        else:
            path.open("rb").close()
    except OSError as error:
        raise ValueError(f"{value} cannot be read ({error.strerror or error})") from None
    return str(path)


TextFile = Annotated[str, AfterValidator(check_text_file)]
"""A UTF-8 text file (a word list)."""

ModelPath = Annotated[str, AfterValidator(check_model_path)]
"""A model: a file, or a folder of files."""
