"""Where the shared data folder is: the real corpora, vocabularies and FewCLUE that
training, evaluation, tests and benchmarks read (see its README.md).

One rule, used everywhere: `$MDFS_SHARED`, else `shared/` beside the source checkout MDFS
runs from. An installed wheel has no checkout beside it: set `MDFS_SHARED` there, or pass a
command its `--data-dir`.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_ENV = "MDFS_SHARED"


def shared_folder() -> Path:
    env = os.environ.get(SHARED_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared"  # src/mdfs/shared.py -> checkout/..
