"""Shared test helpers. Real data comes from the shared folder (`mdfs.shared`: $MDFS_SHARED,
else ../shared beside the repository, as in CI)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import NoReturn

import pytest

from mdfs.shared import shared_folder

# In CI every test must run: what a skip would hide (no JDK, no browser, no shared data) fails.
IN_CI = bool(os.environ.get("CI"))

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_folder()
FIXTURES = REPO / "tests" / "fixtures"

# The coarse stage, one input file a shard (so small inputs still make several shards)
COARSE_SMALL_SHARDS = """
collect:
  shard_max_files: 1
steps:
  - extract: {}
  - normalize: {}
  - boilerplate: {}
  - language: {}
  - quality_rules: {}
  - keywords: {}
  - pii: {}
  - exact_dedup: {}
"""


def missing(what: str, *, allow_module_level: bool = False) -> NoReturn:
    """Skip a test whose environment lacks `what`; with CI set, fail instead, naming it."""
    if IN_CI:
        pytest.fail(f"CI needs {what}", pytrace=False)
    pytest.skip(what, allow_module_level=allow_module_level)


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "data").is_dir():
        missing(f"shared data at {SHARED} (set MDFS_SHARED)")
    return SHARED


def read_parts(folder: Path) -> list[dict]:
    """The records of a run's corpus/ or removed/ folder, part by part (either format)."""
    import pyarrow.parquet as pq

    records = []
    for part in sorted([*folder.glob("*.jsonl.gz"), *folder.glob("*.parquet")]):
        if part.suffix == ".parquet":
            rows = pq.read_table(part).to_pylist()
            records.extend({**row, "meta": json.loads(row["meta"])} for row in rows)
            continue
        with gzip.open(part) as lines:
            records.extend(json.loads(line) for line in lines)
    return records


def refuse_opening_under(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `open` raise PermissionError for files under `folder`, as a user's OS would
    (root, who runs the tests here, reads any file)."""
    import builtins

    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if str(file).startswith(str(folder)):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
