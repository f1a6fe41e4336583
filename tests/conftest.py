"""Shared test helpers. Real data comes from ../shared beside the repository (as in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MDFS_SHARED", REPO.parent / "shared"))
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "data").is_dir():
        pytest.skip(f"shared data not found at {SHARED} (set MDFS_SHARED)")
    return SHARED
