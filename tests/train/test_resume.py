"""`mdfs train` killed with SIGKILL mid-run resumes from its last checkpoint to the same losses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mdfs.cli import main

STEPS = 10


def _arguments(corpus: Path, tokenizer: Path, run_dir: Path) -> list[str]:
    return [
        "train", "--corpus", str(corpus), "--output", str(run_dir), "--tokenizer",
        str(tokenizer), "--model-size", "tiny", "--seq-len", "32", "--steps", str(STEPS),
        "--batch-size", "4", "--lr", "1e-2", "--device", "cpu", "--checkpoint-interval", "2",
    ]  # fmt: skip


def _losses(run_dir: Path) -> list[float]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["step"] for r in records] == list(range(STEPS))
    return [r["loss"] for r in records]


def _process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc): torchrun starts its workers in their own
    session, so a signal to the command's process group does not reach them."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += map(int, (task / "children").read_text().split())
    return [pid, *(p for child in children for p in _process_tree(child))]


def test_killed_run_resumes_to_the_same_losses(corpus_dir, tokenizer_dir, tmp_path):
    whole = tmp_path / "whole"
    assert main(_arguments(corpus_dir, tokenizer_dir, whole)) == 0

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "mdfs.cli", *_arguments(corpus_dir, tokenizer_dir, killed)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    marker = killed / "resume" / "latest"
    deadline = time.monotonic() + 300
    while not (marker.is_file() and int(marker.read_text() or 0) >= 4):
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    tree = _process_tree(process.pid)
    assert len(tree) >= 3  # mdfs, torchrun, the worker
    for pid in tree:
        os.kill(pid, signal.SIGKILL)
    process.wait()
    assert not (killed / "summary.json").exists()  # it really died mid-run

    assert main(_arguments(corpus_dir, tokenizer_dir, killed)) == 0
    assert _losses(killed) == _losses(whole)
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["tokens"] == STEPS * 4 * 32
