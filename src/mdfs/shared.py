"""Where the shared data folder is: the real corpora, vocabularies and FewCLUE that
training, evaluation, tests and benchmarks read (see its README.md).

One rule, used everywhere: `$MDFS_SHARED`, else `shared/` beside the source checkout MDFS
runs from. An installed wheel has no checkout beside it: set `MDFS_SHARED` there, or pass a
command its `--data-dir`.
"""

from __future__ import annotations

import os
from pathlib import Path

from mdfs.errors import UserError

SHARED_ENV = "MDFS_SHARED"
FEWCLUE_ENV = "MDFS_CLUE_DIR"


def shared_folder() -> Path:
    env = os.environ.get(SHARED_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared"  # src/mdfs/shared.py -> checkout/..


def fewclue_folder(value: Path | None = None) -> Path:
    """The FewCLUE folder: `value`, else `$MDFS_CLUE_DIR`, else the shared data's copy."""
    if value is None:
        env = os.environ.get(FEWCLUE_ENV)
        default = shared_folder() / "data" / "clue" / "fewclue"
        if env:
            value = Path(env)
        elif default.is_dir():
            value = default
        else:
            raise UserError(
                f"no FewCLUE data: pass --data-dir or set {FEWCLUE_ENV} ({default} does not exist here)"
            )
    if not value.is_dir():
        raise UserError(f"FewCLUE data folder {value} does not exist")
    return value
