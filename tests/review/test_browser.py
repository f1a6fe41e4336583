"""The review loop in a real headless browser: label by clicking, hostile text, agreement,
export. Skips without chromium and Playwright (see browser_util).
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from tests.review.browser_util import download_export, label_by_clicking
from tests.review.fake_run import HOSTILE_ID, HOSTILE_TEXT, FakeRun, serve

LABELLED = 6


def test_review_loop_in_a_browser(browser, fake_run: FakeRun, tmp_path: Path) -> None:
    started = time.perf_counter()
    server = serve(fake_run, fraction=1.0)  # every document, the hostile one included
    host, port = server.server_address[:2]
    base = f"http://{host}:{port}"
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # Without the token: 403, in a fresh context that has no cookie.
        stranger = browser.new_context().new_page()
        assert stranger.goto(f"{base}/").status == 403
        assert stranger.goto(f"{base}/?token=guess").status == 403
        stranger.context.close()

        response = page.goto(server.url)
        assert response.status == 200
        assert "token" not in page.url  # traded for a cookie

        # Label documents by clicking the button of the class each text really is.
        labelled = label_by_clicking(page, fake_run.truth, LABELLED)
        skipped = page.locator("input[name=id]").get_attribute("value")
        page.get_by_role("button", name="skip", exact=True).click()
        assert page.locator("input[name=id]").get_attribute("value") != skipped

        # Hostile text is shown as text: nothing runs, no element is made from it.
        page.goto(f"{base}/?id={HOSTILE_ID}")
        shown = page.locator("#text").inner_text()
        assert shown == HOSTILE_TEXT
        assert page.locator("#text *").count() == 0
        assert page.locator("img, script").count() == 0
        assert "<script>alert(4)</script>" in page.locator("#doc-meta").inner_text()
        page.get_by_role("button", name="low", exact=True).click()
        labelled[HOSTILE_ID] = "low"
        assert dialogs == [] and errors == []

        # Agreement page: every click is counted, the confusion matrix adds up.
        page.get_by_role("link", name="Agreement").click()
        assert f"{len(labelled)} labels" in page.locator("#overall").inner_text()
        cells = page.locator("#confusion td:not(:first-child)").all_inner_texts()
        assert sum(int(cell) for cell in cells) == len(labelled)
        disagreements = sum(fake_run.model[d] != label for d, label in labelled.items())
        matrix = [[int(c) for c in cells[row * 3 : row * 3 + 3]] for row in range(3)]
        assert sum(matrix[i][j] for i in range(3) for j in range(3) if i != j) == disagreements
        reviewed = page.locator("#strata td:last-child").all_inner_texts()
        assert sum(int(cell) for cell in reviewed) == len(labelled)

        # Export: download the corrections and check them against the clicks.
        page.get_by_role("link", name="Export").click()
        exported = download_export(page, base, tmp_path / "corrections.jsonl")
        lines = [orjson.loads(line) for line in exported.read_bytes().splitlines()]
        assert {line["id"]: line["label"] for line in lines} == labelled
        assert all(line["text"] and line["model_label"] for line in lines)
        assert dialogs == [] and errors == []
    finally:
        context.close()
        server.shutdown()
        server.server_close()
    print(f"browser review loop: {time.perf_counter() - started:.1f} s")
