"""Fixtures for the review tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.review.browser_util import launch_browser
from tests.review.fake_run import FakeRun, make_run


@pytest.fixture
def fake_run(tmp_path: Path, shared: Path) -> FakeRun:
    return make_run(tmp_path / "run", shared)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()
