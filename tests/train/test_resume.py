"""`mdfs train` killed with SIGKILL mid-run resumes from its last checkpoint to the same losses,
learning rates included; its log shows each step's learning rate, elapsed time and ETA."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from mdfs.cli import main
from mdfs.train.config import TrainConfig
from mdfs.train.worker import lr_at

STEPS = 10


def _arguments(corpus: Path, tokenizer: Path, run_dir: Path) -> list[str]:
    return [
        "train", "--corpus", str(corpus), "--output", str(run_dir), "--tokenizer",
        str(tokenizer), "--model-size", "tiny", "--seq-len", "32", "--steps", str(STEPS),
        "--batch-size", "4", "--lr", "1e-2", "--device", "cpu", "--checkpoint-interval", "2",
    ]  # fmt: skip


def _metrics(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["step"] for r in records] == list(range(STEPS))
    return records


def _losses(run_dir: Path) -> list[float]:
    return [r["loss"] for r in _metrics(run_dir)]


def _process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc): torchrun starts its workers in their own
    session, so a signal to the command's process group does not reach them."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += map(int, (task / "children").read_text().split())
    return [pid, *(p for child in children for p in _process_tree(child))]


def test_killed_run_resumes_to_the_same_losses(corpus_dir, tokenizer_dir, tmp_path, capfd):
    whole = tmp_path / "whole"
    assert main(_arguments(corpus_dir, tokenizer_dir, whole)) == 0
    capfd.readouterr()

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
    log = capfd.readouterr().out
    assert _losses(killed) == _losses(whole)
    # Warm-up then cosine decay, step for step as the uninterrupted run: the schedule resumes
    # where it stopped rather than restarting its warm-up.
    config = TrainConfig.load(killed / "train_config.json")
    rates = [r["lr"] for r in _metrics(killed)]
    assert rates == [r["lr"] for r in _metrics(whole)]
    assert rates == [lr_at(step, config) for step in range(STEPS)]
    assert rates[1] > rates[5] > rates[-1] > 0
    resumed_after = int(re.search(r"resuming after step (\d+)", log).group(1))
    assert resumed_after >= 3  # the checkpoint after 4 steps or a later one
    steps = re.findall(r"^step (\d+) loss \S+ lr (\S+) .* elapsed (\d+)s eta (\d+)s$", log, re.M)
    assert [int(step) for step, *_ in steps] == list(range(resumed_after + 1, STEPS))
    assert [float(lr) for _, lr, *_ in steps] == [
        float(f"{rates[int(step)]:.2e}") for step, *_ in steps
    ]
    assert int(steps[-1][3]) == 0  # nothing left at the last step
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["tokens"] == STEPS * 4 * 32
