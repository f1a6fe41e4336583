"""The harness end to end: scoring rules on a scripted model, and `mdfs eval` on a random one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mdfs.cli import main
from mdfs.evaluate.harness import chance_accuracy, evaluate_task
from mdfs.evaluate.lm import Score
from mdfs.evaluate.task import TASK_NAMES, load_task, read_jsonl


class ScriptedLM:
    """Scores set by hand. EPRSTMT: a strong bias toward 满意, and a weaker signal from the
    review. BUSTM: the right answer has the lower loss."""

    def score(self, items: list[tuple[str, list[str]]]) -> list[list[Score]]:
        return [
            [self.score_one(context, x) for x in continuations] for context, continuations in items
        ]

    @staticmethod
    def score_one(context: str, continuation: str) -> Score:
        if continuation in ("相同。", "不同。"):
            same = context.count("我想退款") == 2
            mean_loss = 1.0 if ("相同" in continuation) == same else 2.0
            return Score(-mean_loss * len(continuation), len(continuation))
        logprob = -5.0 + (3.0 if continuation == "满意" else 0.0)
        if ("差" in context and continuation == "不满意") or (
            "好" in context and continuation == "满意"
        ):
            logprob += 1.0
        return Score(logprob, len(continuation))


def test_calibration_removes_a_label_bias() -> None:
    examples = [
        {"sentence": "质量好", "label": "Positive"},
        {"sentence": "服务好", "label": "Positive"},
        {"sentence": "质量差", "label": "Negative"},
        {"sentence": "服务差", "label": "Negative"},
    ]
    result = evaluate_task(ScriptedLM(), load_task("eprstmt"), examples, [], progress=False)
    # Uncalibrated, the bias toward 满意 wins everywhere; divided out, the signal decides.
    assert result.accuracy == 0.5
    assert result.accuracy_calibrated == 1.0
    assert result.predicted == {"1": 4}
    assert result.chance == 0.5 and result.majority == 0.5
    assert result.stderr == 0.0  # every example right: no spread
    assert [s["correct"] for s in result.samples] == [True] * 4
    assert [s["prediction"] for s in result.samples] == [1] * 4  # uncalibrated: all 满意


def test_multiple_choice_lowest_mean_loss_wins() -> None:
    examples = [
        {"sentence1": "我想退款", "sentence2": "我想退款", "label": "1"},
        {"sentence1": "我想退款", "sentence2": "天气不错", "label": "0"},
        {"sentence1": "你好", "sentence2": "天气不错", "label": "1"},
    ]
    result = evaluate_task(ScriptedLM(), load_task("bustm"), examples, [], progress=False)
    assert result.accuracy == pytest.approx(2 / 3)
    assert result.accuracy_calibrated is None
    assert result.predicted == {"0": 2, "1": 1}
    # Two right of three: sample standard deviation sqrt(1/3), over sqrt(3).
    assert result.stderr == pytest.approx(1 / 3)
    assert [s["correct"] for s in result.samples] == [True, True, False]


def test_eval_command_writes_every_task(
    tiny_model_dir: Path, clue_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "report.json"
    args = ["eval", "--model", str(tiny_model_dir), "--data-dir", str(clue_dir)]
    samples = tmp_path / "samples.jsonl"
    code = main(
        [*args, "--tasks", "all", "--shots", "1", "--limit", "6", "--output", str(output),
         "--log-samples", str(samples)]
    )  # fmt: skip
    assert code == 0
    report = json.loads(output.read_text("utf-8"))
    logged = [json.loads(line) for line in samples.read_text("utf-8").splitlines()]
    assert len(logged) == 6 * len(TASK_NAMES)
    for name, result in report["tasks"].items():
        correct = [s["correct"] for s in logged if s["task"] == name]
        assert sum(correct) / len(correct) == pytest.approx(result["score"])
        assert result["stderr"] > 0 or result["score"] in (0, 1)
    assert list(report["tasks"]) == list(TASK_NAMES)
    for name, result in report["tasks"].items():
        assert result["examples"] == 6
        assert 0 <= result["accuracy"] <= 1
        calibrated = load_task(name).kind == "classification"
        assert (result["accuracy_calibrated"] is not None) == calibrated
    scores = [r["score"] for r in report["tasks"].values()]
    assert report["average"]["score"] == pytest.approx(sum(scores) / len(scores))
    errors = [r["stderr"] for r in report["tasks"].values()]
    assert report["average"]["stderr"] == pytest.approx(
        math.sqrt(sum(e * e for e in errors)) / len(errors)
    )
    assert report["shots"] == 1 and report["split"] == "dev"


def test_eval_counts_every_example_of_a_file(
    tiny_model_dir: Path, clue_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "report.json"
    args = ["eval", "--model", str(tiny_model_dir), "--data-dir", str(clue_dir)]
    assert main([*args, "--tasks", "ocnli", "--threads", "1", "--output", str(output)]) == 0
    report = json.loads(output.read_text("utf-8"))
    assert report["tasks"]["ocnli"]["examples"] == len(
        read_jsonl(clue_dir / "ocnli/dev_few_all.json")
    )
    assert "ocnli" in capsys.readouterr().out  # the table


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tasks", "tnews,afqmc"], "unknown task"),
        (["--split", "test_public", "--data-dir", "{empty}"], "test_public.json"),
        (["--data-dir", "{empty}/nowhere"], "does not exist"),
        (["--model", "{empty}/no-model"], "no such model"),
        (["--threads", "0"], "--threads"),
    ],
)
def test_user_mistakes_are_one_line_errors(
    extra: list[str],
    message: str,
    tiny_model_dir: Path,
    clue_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "tnews").mkdir()
    args = ["eval", "--model", str(tiny_model_dir), "--data-dir", str(clue_dir), "--tasks", "tnews"]
    args += [part.replace("{empty}", str(tmp_path)) for part in extra]
    assert main(args) == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith("mdfs eval: error:") and message in last_line


def test_random_model_scores_within_three_standard_errors_of_chance(
    tiny_model_dir: Path, clue_dir: Path, tmp_path: Path
) -> None:
    """A seeded sample of the quicker tasks: calibrated scores of random weights stay within
    three standard errors of chance, the score of answers in the same shares that ignore the
    input. The same answers with a label leaked into every other example (the gold answer
    in place of the model's) are far outside on every task."""
    output, samples = tmp_path / "report.json", tmp_path / "samples.jsonl"
    tasks = "eprstmt,tnews,ocnli,bustm,csl,cluewsc"
    args = ["eval", "--model", str(tiny_model_dir), "--data-dir", str(clue_dir), "--tasks", tasks]
    assert (
        main([*args, "--limit", "60", "--output", str(output), "--log-samples", str(samples)]) == 0
    )
    results = json.loads(output.read_text("utf-8"))["tasks"]
    logged = [json.loads(line) for line in samples.read_text("utf-8").splitlines()]
    assert sorted(results) == sorted(tasks.split(","))
    for name, result in results.items():
        assert result["examples"] == 60
        assert abs(result["above_chance"]) <= 3, (name, result)
        gold = np.array([s["gold"] for s in logged if s["task"] == name])
        answers = np.array([s["scored_prediction"] for s in logged if s["task"] == name])
        leaked = np.where(np.arange(len(gold)) % 2 == 0, gold, answers)
        chance, stderr = chance_accuracy(gold, leaked)
        assert (np.mean(leaked == gold) - chance) / stderr > 3, (name, chance, stderr)


@pytest.mark.slow
def test_random_model_scores_near_chance(
    tiny_model_dir: Path, clue_dir: Path, tmp_path: Path
) -> None:
    """A harness bug (leaked labels, misaligned positions) shows as far-from-chance accuracy."""
    output = tmp_path / "report.json"
    args = ["eval", "--model", str(tiny_model_dir), "--data-dir", str(clue_dir), "--tasks", "all"]
    assert main([*args, "--limit", "300", "--output", str(output)]) == 0
    for name, result in json.loads(output.read_text("utf-8"))["tasks"].items():
        assert abs(result["above_chance"]) <= 3, (name, result)
        # Uncalibrated, even random weights can follow a surface feature that correlates with
        # the label (EPRSTMT's negative reviews run longer), hence the looser bound.
        assert abs(result["accuracy"] - result["uniform"]) < 0.2, (name, result)
