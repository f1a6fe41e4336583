"""The headline figure of a task is its calibrated accuracy wherever calibration applies."""

from __future__ import annotations

from mdfs.evaluate.harness import TaskResult


def result(calibrated: float | None) -> TaskResult:
    return TaskResult(
        task="eprstmt", kind="classification", examples=20, accuracy=0.45,
        accuracy_calibrated=calibrated, chance=0.5, majority=0.6,
    )  # fmt: skip


def test_score_is_calibrated_accuracy_where_there_is_one() -> None:
    assert result(0.7).score == 0.7
    assert result(0.7).to_dict()["score"] == 0.7
    assert result(None).score == 0.45
