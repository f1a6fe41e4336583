"""`evaluate` and its table on a scripted model: the report's figures worked by hand, the
logged samples, an unlabelled example, multiple-choice batches and a missing training file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mdfs.errors import UserError
from mdfs.evaluate.harness import (
    EXAMPLES_PER_STEP,
    chance_accuracy,
    evaluate,
    evaluate_task,
    format_table,
)
from mdfs.evaluate.task import load_task
from tests.evaluate.test_harness import ScriptedLM

EPRSTMT = [
    {"id": 0, "sentence": "质量好", "label": "Positive"},
    {"id": 1, "sentence": "质量差", "label": "Negative"},
    {"id": 2, "sentence": "服务差", "label": "Negative"},
    {"id": 3, "sentence": "服务差", "label": "Positive"},  # the signal is wrong here
]
BUSTM = [
    {"id": 0, "sentence1": "我想退款", "sentence2": "我想退款", "label": "1"},
    {"id": 1, "sentence1": "你好", "sentence2": "天气不错", "label": "1"},
]


def write(data_dir: Path, task: str, examples: list[dict]) -> None:
    (data_dir / task).mkdir(parents=True)
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)
    (data_dir / task / "dev_few_all.json").write_text(lines, "utf-8")


def test_report_of_two_tasks_by_hand(tmp_path: Path) -> None:
    write(tmp_path, "eprstmt", EPRSTMT)
    write(tmp_path, "bustm", BUSTM)
    samples = tmp_path / "logs" / "samples.jsonl"
    report = evaluate(
        ScriptedLM(), ["eprstmt", "bustm"], tmp_path, progress=False, log_samples=samples
    )
    assert (report["split"], report["shots"], report["seed"], report["limit"]) == (
        "dev", 0, 1234, None,
    )  # fmt: skip
    eprstmt, bustm = report["tasks"]["eprstmt"], report["tasks"]["bustm"]
    assert list(report["tasks"]) == ["eprstmt", "bustm"]
    # calibrated, 3 of 4 right (the last review says 差 but is Positive); raw, all say 满意
    assert (eprstmt["accuracy"], eprstmt["accuracy_calibrated"], eprstmt["score"]) == (
        0.5,
        0.75,
        0.75,
    )
    assert eprstmt["majority"] == 0.5 and eprstmt["uniform"] == 0.5
    assert eprstmt["stderr"] == pytest.approx(0.5 / 2)  # std of (1,1,1,0) is 0.5, over sqrt 4
    # Gold (1, 0, 0, 1) against calibrated answers (1, 0, 0, 0): the lone 1 lands on a gold 1
    # in half the orderings (3 of 4 right), else on a 0 (1 of 4): chance 0.5, spread 0.25.
    assert eprstmt["chance"] == 0.5
    assert eprstmt["chance_stderr"] == pytest.approx(0.25)
    assert eprstmt["above_chance"] == pytest.approx(1.0)
    assert (bustm["accuracy"], bustm["accuracy_calibrated"], bustm["score"]) == (0.5, None, 0.5)
    assert bustm["predicted"] == {"0": 1, "1": 1} and bustm["majority"] == 1.0
    # Both gold answers are 1 and the answers are one 0 and one 1: every ordering scores 0.5.
    assert (bustm["chance"], bustm["chance_stderr"], bustm["above_chance"]) == (0.5, 0.0, 0.0)
    average = report["average"]
    assert average["score"] == pytest.approx((0.75 + 0.5) / 2)
    assert average["accuracy"] == pytest.approx(0.5)
    assert average["chance"] == pytest.approx(0.5) and average["majority"] == 0.75
    assert average["stderr"] == pytest.approx(math.hypot(eprstmt["stderr"], bustm["stderr"]) / 2)
    assert average["chance_stderr"] == pytest.approx(0.25 / 2)
    assert average["above_chance"] == pytest.approx(1.0)
    logged = [json.loads(line) for line in samples.read_text("utf-8").splitlines()]
    assert [(s["task"], s["index"], s["id"], s["correct"]) for s in logged] == [
        ("eprstmt", 0, 0, True), ("eprstmt", 1, 1, True), ("eprstmt", 2, 2, True),
        ("eprstmt", 3, 3, False), ("bustm", 0, 0, True), ("bustm", 1, 1, False),
    ]  # fmt: skip
    first = logged[0]
    assert (first["gold"], first["prediction"], first["scored_prediction"]) == (1, 1, 1)
    assert len(first["scores"]) == 2 and sum(first["scores"]) == pytest.approx(1, abs=1e-5)
    assert logged[4]["scores"] == [2.0, 1.0]  # bustm: mean losses of 不相同 / 相同

    table = format_table(report).splitlines()
    assert table[0].split() == [
        "task", "examples", "acc", "acc_cal", "score", "±", "se", "chance", "z", "majority"
    ]  # fmt: skip
    assert table[1].split() == [
        "eprstmt", "4", "0.5000", "0.7500", "0.7500", "0.2500", "0.5000", "+1.0", "0.5000"
    ]  # fmt: skip
    assert table[2].split() == ["bustm", "2", "0.5000", "-", "0.5000", "0.5000", "0.5000",
                                "+0.0", "1.0000"]  # fmt: skip
    assert table[3].split() == [
        "average", "0.5000", "0.6250", f"{average['stderr']:.4f}", "0.5000", "+1.0", "0.7500"
    ]  # fmt: skip


def test_a_limit_samples_and_shots_need_the_training_file(tmp_path: Path) -> None:
    write(tmp_path, "eprstmt", EPRSTMT)
    report = evaluate(ScriptedLM(), ["eprstmt"], tmp_path, limit=2, seed=7, progress=False)
    assert report["limit"] == 2 and report["tasks"]["eprstmt"]["examples"] == 2
    with pytest.raises(UserError, match=r"--shots 1 draws demonstrations from .*train_few_all"):
        evaluate(ScriptedLM(), ["eprstmt"], tmp_path, shots=1, progress=False)


def test_unlabelled_examples_count_as_wrong_and_against_the_majority() -> None:
    examples = [*EPRSTMT[:3], {"id": 9, "sentence": "质量好", "label": "Unknown"}]
    result = evaluate_task(ScriptedLM(), load_task("eprstmt"), examples, [], progress=False)
    assert result.unlabelled == 1
    assert result.majority == 2 / 4  # two Negative among the four examples
    assert result.accuracy_calibrated == 0.75  # the unlabelled one is never right


def test_multiple_choice_across_batches() -> None:
    examples = [BUSTM[i % 2] for i in range(EXAMPLES_PER_STEP + 3)]
    result = evaluate_task(ScriptedLM(), load_task("bustm"), examples, [], progress=False)
    assert [s["prediction"] for s in result.samples] == [1, 0] * (EXAMPLES_PER_STEP // 2) + [
        1,
        0,
        1,
    ]
    # Every gold answer is 1 and 130 of 259 answers are 1: the score, whatever the order.
    assert result.chance == result.score == 130 / 259 and result.uniform == 0.5
    assert result.chance_stderr == 0.0 and result.above_chance == 0.0


def test_chance_is_the_score_of_answers_that_ignore_the_input() -> None:
    # 70 of 100 gold answers are 0. Always answering 0 scores 0.7 with nothing learnt: that is
    # its chance exactly (1/K would call it 0.2 above chance, four binomial errors).
    gold = np.array([0] * 70 + [1] * 30)
    assert chance_accuracy(gold, np.zeros(100, dtype=int)) == (0.7, 0.0)
    # Answers in shares 0.9 / 0.1: over every reordering against the examples, the score's
    # mean and spread are the chance and its standard error.
    answers = np.array([0] * 90 + [1] * 10)
    chance, stderr = chance_accuracy(gold, answers)
    shuffled = [np.mean(np.random.default_rng(i).permutation(answers) == gold) for i in range(4000)]
    assert chance == pytest.approx(0.7 * 0.9 + 0.3 * 0.1)
    assert np.mean(shuffled) == pytest.approx(chance, abs=0.002)
    assert np.std(shuffled) == pytest.approx(stderr, rel=0.05)
    # An unlabelled example (-1) is never right and lowers the chance as it lowers the score.
    assert chance_accuracy(np.array([-1, 0, 0, 1]), np.array([0, 0, 0, 0]))[0] == 0.5
