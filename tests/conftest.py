"""Shared test helpers. Real data comes from ../shared beside the repository (as in CI)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MDFS_SHARED", REPO.parent / "shared"))
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


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "data").is_dir():
        pytest.skip(f"shared data not found at {SHARED} (set MDFS_SHARED)")
    return SHARED


def read_parts(folder: Path) -> list[dict]:
    """The records of a run's corpus/ or removed/ folder, part by part."""
    records = []
    for part in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(part) as lines:
            records.extend(json.loads(line) for line in lines)
    return records
