"""The whole loop: label every sampled decision in a browser, export, retrain the classifier
with `mdfs train-classifier`, and print its dev F1. Slow; skips until that command exists.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from mdfs.cli import build_parser, main
from tests.review.browser_util import download_export, label_by_clicking
from tests.review.fake_run import FakeRun, serve


def subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        "train-classifier" not in subcommands(), reason="mdfs train-classifier is not built yet"
    ),
]


def test_label_export_retrain(browser, fake_run: FakeRun, tmp_path: Path) -> None:
    server = serve(fake_run, fraction=1.0)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(server.url)
        labelled = label_by_clicking(page, fake_run.truth, len(server.app.sample))
        host, port = server.server_address[:2]
        downloaded = download_export(page, f"http://{host}:{port}", tmp_path / "download.jsonl")
    finally:
        context.close()
        server.shutdown()
        server.server_close()

    exported = tmp_path / "corrections.jsonl"
    assert main(["review", str(fake_run.root), "--export", str(exported)]) == 0
    assert exported.read_bytes() == downloaded.read_bytes()  # the page and the CLI agree
    lines = [orjson.loads(line) for line in exported.read_bytes().splitlines()]
    assert {line["id"]: line["label"] for line in lines} == labelled
    corrected = sum(line["label"] != line["model_label"] for line in lines)
    assert corrected > 0

    model_dir = tmp_path / "model"
    result = subprocess.run(
        [sys.executable, "-m", "mdfs.cli", "train-classifier", "--data", str(exported),
         "--output", str(model_dir)],
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    print(result.stderr[-3000:])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "f1" in result.stdout.lower()  # the retrained model's dev F1 is printed
    assert any(model_dir.iterdir())
    print(f"retrained on {len(lines)} reviewed documents, {corrected} of them corrections")
    print(result.stdout[-3000:])  # last, so the dev F1 table ends the output
