"""Run tasks against a model and report accuracies, as Yuan 1.0 scored ZeroCLUE/FewCLUE.

- classification: P(label word | prompt) for every label word of every class, a class scored
  by its best word, accuracy before and after contextual calibration;
- multiple choice: mean loss over each candidate's continuation tokens, the lowest wins.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mdfs.errors import UserError
from mdfs.evaluate import calibration
from mdfs.evaluate.lm import CausalLM, Score
from mdfs.evaluate.task import (
    TRAIN_FILE,
    Example,
    Task,
    few_shot_prefix,
    load_examples,
    load_task,
    read_jsonl,
    subsample,
)

log = logging.getLogger(__name__)

# Examples per progress step; the model scores a step's examples in batches, shortest together.
EXAMPLES_PER_STEP = 256


@dataclass
class TaskResult:
    task: str
    kind: str
    examples: int
    accuracy: float
    # Only classification tasks are calibrated; None elsewhere.
    accuracy_calibrated: float | None
    # What the score is measured against: the expected accuracy of a model that answers with
    # the same shares of each class (or candidate position) but ignores the input; see
    # `chance_accuracy`. `majority` is what always answering the commonest label scores.
    chance: float
    majority: float
    unlabelled: int = 0
    predicted: dict[str, int] = field(default_factory=dict)
    # Standard error of the headline score over examples (sample std / sqrt(n), as
    # lm-evaluation-harness reports): the noise of having scored this sample of examples.
    stderr: float = math.nan
    # The spread of such a model's score around `chance`: the noise the score is judged by.
    chance_stderr: float = math.nan
    # Expected accuracy of a uniform random guess (1/K, or the mean 1/candidates).
    uniform: float = math.nan
    # One record per example (gold, predictions, scores) for --log-samples; not in the report.
    samples: list[dict[str, object]] = field(default_factory=list, repr=False)

    @property
    def score(self) -> float:
        """The headline figure: calibrated accuracy where there is one, as Yuan 1.0 reports."""
        return self.accuracy if self.accuracy_calibrated is None else self.accuracy_calibrated

    @property
    def above_chance(self) -> float:
        """The score's distance above chance in standard errors (|z| < 2: noise)."""
        return z_score(self.score, self.chance, self.chance_stderr)

    def to_dict(self) -> dict[str, object]:
        report = {**asdict(self), "score": self.score, "above_chance": self.above_chance}
        del report["samples"]
        return report


def evaluate_task(
    lm: CausalLM,
    task: Task,
    examples: list[Example],
    train: list[Example],
    shots: int = 0,
    seed: int = 1234,
    progress: bool = True,
) -> TaskResult:
    prefix = few_shot_prefix(task, train, shots, seed)
    gold = np.array([task.gold(example) for example in examples], dtype=int)
    unlabelled = int((gold < 0).sum())
    if unlabelled:
        log.warning("%s: %d examples without a known label count as wrong", task.name, unlabelled)
    bar = tqdm(total=len(examples), desc=task.name, disable=not progress, leave=False)
    if task.kind == "classification":
        probs, calibrated = _classify(lm, task, examples, prefix, bar)
        predictions = probs.argmax(axis=1)
        scored = calibrated.argmax(axis=1)
        accuracy_calibrated: float | None = calibration.accuracy(calibrated, gold)
        uniform = 1 / len(task.classes)
        scores = calibrated
    else:
        predictions, scores = _choose(lm, task, examples, prefix, bar)
        scored = predictions
        accuracy_calibrated = None
        uniform = float(np.mean([1 / len(task.candidates(e)) for e in examples]))
    bar.close()
    chance, chance_stderr = chance_accuracy(gold, scored)
    labelled = gold[gold >= 0]
    samples = [
        {
            "task": task.name,
            "index": i,
            "id": example.get("id", example.get("idx")),
            "gold": int(gold[i]),
            "prediction": int(predictions[i]),
            "scored_prediction": int(scored[i]),
            "correct": bool(scored[i] == gold[i]),
            # calibrated class probabilities, or mean losses of the candidates
            "scores": [round(float(x), 6) for x in scores[i]],
        }
        for i, example in enumerate(examples)
    ]
    return TaskResult(
        task=task.name,
        kind=task.kind,
        examples=len(examples),
        accuracy=float((predictions == gold).mean()),
        accuracy_calibrated=accuracy_calibrated,
        chance=chance,
        majority=Counter(labelled.tolist()).most_common(1)[0][1] / len(gold)
        if len(labelled)
        else 0,
        unlabelled=unlabelled,
        predicted={str(k): v for k, v in sorted(Counter(predictions.tolist()).items())},
        stderr=mean_stderr((scored == gold).astype(float)),
        chance_stderr=chance_stderr,
        uniform=uniform,
        samples=samples,
    )


def chance_accuracy(gold: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Expected accuracy of predictions that ignore the input, and its standard error.

    A model that answers k for a share b_k of the examples, whatever they say, is right on a
    share sum_k a_k b_k of a set whose gold labels have shares a_k: Cohen's (1960) chance
    agreement, not 1/K. On an imbalanced set (or with an imbalanced model) the two differ:
    always answering the commonest label scores its share, with nothing learnt. So the
    score is measured against this, the null of a permutation test: over every reordering
    of the predictions against the examples, the accuracy has this mean and the variance
    (p + p^2 - sum_k a_k b_k (a_k + b_k)) / (n - 1), with p the chance (the exact form of
    the null variance of Fleiss, Cohen and Everitt 1969). A model that ignores the input
    stays within about two of these standard errors; one that reads it, on enough examples,
    lands above. An unlabelled example (gold -1) matches no prediction.
    """
    n = len(gold)
    if n < 2:
        return math.nan, math.nan
    # In whole counts (a_k = g_k / n, b_k = m_k / n), so that a spread of zero is exactly zero.
    counts = [(int(np.sum(gold == k)), int(np.sum(predicted == k))) for k in np.unique(predicted)]
    agree = sum(g * m for g, m in counts)
    spread = agree * n * n + agree * agree - n * sum(g * m * (g + m) for g, m in counts)
    return agree / (n * n), math.sqrt(spread / (n - 1)) / (n * n)


def z_score(score: float, chance: float, stderr: float) -> float:
    """(score - chance) / stderr; 0 where there is no spread and the score is chance itself
    (a model that always gives the same answer scores exactly its chance)."""
    if stderr > 0:
        return (score - chance) / stderr
    if math.isclose(score, chance, abs_tol=1e-9):
        return 0.0
    return math.nan if math.isnan(stderr) else math.copysign(math.inf, score - chance)


def mean_stderr(values: np.ndarray) -> float:
    """Standard error of the mean of per-example scores (sample standard deviation)."""
    if len(values) < 2:
        return math.nan
    return float(np.std(values, ddof=1) / math.sqrt(len(values)))


def _classify(
    lm: CausalLM, task: Task, examples: list[Example], prefix: str, bar: tqdm
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (examples, classes), before and after contextual calibration."""
    words = [word for c in task.classes for word in c.words]
    word_class = [i for i, c in enumerate(task.classes) for _ in c.words]

    def class_logprobs(contexts: list[str], bar: tqdm | None = None) -> np.ndarray:
        # The whole word's probability (sum of its tokens' log-probs), not its first token's:
        # expanded label words often share a first character (不满意/不喜欢).
        items = [(prefix + context, words) for context in contexts]
        rows = [[s.logprob for s in scores] for scores in _score(lm, items, bar)]
        return calibration.class_logprobs(rows, word_class, len(task.classes))

    contexts = [task.render_context(e) for e in examples]
    probs = calibration.normalise(class_logprobs(contexts, bar))
    content_free = [task.content_free_context(filler) for filler in task.content_free]
    prior = calibration.content_free_prior(class_logprobs(content_free))
    return probs, calibration.calibrate(probs, prior)


def _choose(
    lm: CausalLM, task: Task, examples: list[Example], prefix: str, bar: tqdm
) -> tuple[np.ndarray, list[list[float]]]:
    """Index of the candidate with the lowest mean continuation loss, and the losses."""
    items = [(prefix + task.render_context(e), task.candidates(e)) for e in examples]
    losses = [[s.mean_loss for s in scores] for scores in _score(lm, items, bar)]
    return np.array([int(np.argmin(row)) for row in losses], dtype=int), losses


def _score(
    lm: CausalLM, items: list[tuple[str, list[str]]], bar: tqdm | None
) -> Iterator[list[Score]]:
    """Each item's scores, a step of examples at a time (batched together) for the progress bar."""
    for start in range(0, len(items), EXAMPLES_PER_STEP):
        step = items[start : start + EXAMPLES_PER_STEP]
        yield from lm.score(step)
        if bar is not None:
            bar.update(len(step))


def evaluate(
    lm: CausalLM,
    task_names: list[str],
    data_dir: Path,
    split: str = "dev",
    shots: int = 0,
    seed: int = 1234,
    limit: int | None = None,
    progress: bool = True,
    log_samples: Path | None = None,
) -> dict[str, object]:
    """Evaluate several tasks; returns the report written as JSON by `mdfs eval`.

    The average's standard errors treat the tasks' samples as independent:
    sqrt(sum of squared task errors) / number of tasks. With `log_samples`, every example's
    gold answer, predictions and scores are written there as JSON lines.
    """
    # Read every file first, so a missing one fails before minutes of scoring.
    tasks = [load_task(name) for name in task_names]
    data = {t.name: subsample(load_examples(data_dir, t.name, split), limit, seed) for t in tasks}
    train_path = {t.name: data_dir / t.name / TRAIN_FILE for t in tasks}
    for path in train_path.values():
        if shots > 0 and not path.is_file():
            raise UserError(f"--shots {shots} draws demonstrations from {path}, which is missing")
    results = {}
    for task in tasks:
        train = read_jsonl(train_path[task.name]) if shots > 0 else []
        result = evaluate_task(lm, task, data[task.name], train, shots, seed, progress)
        log.info("%s: %s", task.name, result)
        results[task.name] = result
    if log_samples is not None:
        log_samples.parent.mkdir(parents=True, exist_ok=True)
        with log_samples.open("w", encoding="utf-8") as out:
            for result in results.values():
                for sample in result.samples:
                    out.write(json.dumps(sample, ensure_ascii=False) + "\n")
    score = _mean([r.score for r in results.values()])
    chance = _mean([r.chance for r in results.values()])
    chance_stderr = _stderr_of_average([r.chance_stderr for r in results.values()])
    return {
        "split": split,
        "shots": shots,
        "seed": seed,
        "limit": limit,
        "tasks": {name: r.to_dict() for name, r in results.items()},
        "average": {
            "score": score,
            "accuracy": _mean([r.accuracy for r in results.values()]),
            "stderr": _stderr_of_average([r.stderr for r in results.values()]),
            "chance": chance,
            "chance_stderr": chance_stderr,
            "above_chance": z_score(score, chance, chance_stderr),
            "majority": _mean([r.majority for r in results.values()]),
        },
    }


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _stderr_of_average(errors: list[float]) -> float:
    """Standard error of a mean over tasks whose samples are independent."""
    return math.sqrt(sum(e * e for e in errors)) / len(errors) if errors else math.nan


def format_table(report: dict[str, object]) -> str:
    """A plain-text table of the report, one task a row, the average, then what the columns mean."""
    tasks: dict[str, dict[str, object]] = report["tasks"]  # type: ignore[assignment]
    average: dict[str, float] = report["average"]  # type: ignore[assignment]
    lines = [
        f"{'task':<9} {'examples':>8} {'acc':>7} {'acc_cal':>7} {'score':>7} {'± se':>7} "
        f"{'chance':>7} {'z':>6} {'majority':>8}"
    ]
    for name, r in tasks.items():
        calibrated = r["accuracy_calibrated"]
        lines.append(
            f"{name:<9} {r['examples']:>8} {r['accuracy']:>7.4f} "
            f"{'-' if calibrated is None else f'{calibrated:.4f}':>7} "
            f"{r['score']:>7.4f} {_get(r, 'stderr'):>7.4f} {r['chance']:>7.4f} "
            f"{_get(r, 'above_chance'):>+6.1f} {r['majority']:>8.4f}"
        )
    lines.append(
        f"{'average':<9} {'':>8} {average['accuracy']:>7.4f} {'':>7} {average['score']:>7.4f}"
        f" {_get(average, 'stderr'):>7.4f} {_get(average, 'chance'):>7.4f}"
        f" {_get(average, 'above_chance'):>+6.1f} {_get(average, 'majority'):>8.4f}"
    )
    lines += [
        "score: calibrated accuracy where calibrated; chance: what a model answering with the",
        "same shares of each label but ignoring the input would score; z: (score - chance) in",
        "standard errors of chance, within ±2 is noise; majority: always the commonest label",
    ]
    return "\n".join(lines)


def _get(result: dict[str, object], key: str) -> float:
    # Reports written before a figure was added lack it.
    value = result.get(key)
    return math.nan if value is None else float(value)  # type: ignore[arg-type]
