"""Driving the review app from a headless chromium through Playwright.

Needs Debian's chromium (`apt-get install -y chromium`) and Playwright for Python
(`pip install playwright`; not `playwright install`: the system chromium is used). Without
them the browser tests skip (and fail in CI).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import missing

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def launch_browser() -> Iterator[Any]:
    try:
        from playwright import sync_api
    except ImportError:
        missing("Playwright for Python (pip install playwright)")
    if not Path(CHROMIUM).exists():
        missing("chromium (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def label_by_clicking(page: Any, truth: dict[str, str], count: int) -> dict[str, str]:
    """Label the next `count` documents with the class each text really is, by clicking."""
    labelled: dict[str, str] = {}
    for i in range(count):
        doc_id = page.locator("input[name=id]").get_attribute("value")
        assert doc_id not in labelled  # the page moved on to a new document
        label = truth[doc_id]
        page.get_by_role("button", name=label, exact=True).click()
        page.wait_for_load_state()
        labelled[doc_id] = label
        assert page.locator("#progress").inner_text().startswith(f"{i + 1} of")
    return labelled


def download_export(page: Any, base: str, target: Path) -> Path:
    page.goto(f"{base}/export")
    with page.expect_download() as download_info:
        page.locator("#download").click()
    download_info.value.save_as(target)
    return target
