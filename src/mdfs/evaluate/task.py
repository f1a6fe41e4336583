"""FewCLUE tasks as data: a YAML file per task turns JSON-lines examples into scoring requests.

A task is either
- `classification`: one prompt per example, then the probability of each class's label words
  as the next tokens (see `harness.py`), or
- `multiple_choice`: one (context, continuation) pair per candidate; the lowest mean loss over
  the continuation tokens wins.
The schema is described in `tasks/README.md`.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from mdfs.errors import UserError

TASK_NAMES = (
    "eprstmt",
    "csldcp",
    "tnews",
    "iflytek",
    "ocnli",
    "bustm",
    "chid",
    "csl",
    "cluewsc",
)
SPLIT_FILES = {"dev": "dev_few_all.json", "test_public": "test_public.json"}
# Demonstrations always come from the merged few-shot training set, never from the split scored.
TRAIN_FILE = "train_few_all.json"
DEMO_SEPARATOR = "\n"
# Zhao et al. (2021) average over several content-free inputs so no single one's quirks dominate.
DEFAULT_CONTENT_FREE = ("N/A", "", "[MASK]")

Example = dict[str, Any]


@dataclass(frozen=True)
class LabelClass:
    """A class of a classification task and the words that may name it (label expansion)."""

    label: str
    words: tuple[str, ...]
    id: str | None = None


@dataclass(frozen=True)
class Choice:
    """A fixed candidate of a multiple-choice task: the continuation written for one label."""

    label: str
    continuation: str


@dataclass(frozen=True)
class Blank:
    """A field with a blank to fill (CHID's `#idiom#`): exposes `{before}` and `{after}`."""

    field: str
    marker: str


@dataclass(frozen=True)
class Task:
    name: str
    kind: Literal["classification", "multiple_choice"]
    context: str
    description: str = ""
    label_field: str | None = None
    label_id_field: str | None = None
    classes: tuple[LabelClass, ...] = ()
    content_free: tuple[str, ...] = DEFAULT_CONTENT_FREE
    choices: tuple[Choice, ...] = ()
    choices_field: str | None = None
    answer_field: str | None = None
    continuation: str | None = None
    blank: Blank | None = None

    @property
    def num_classes(self) -> int | None:
        """Candidates per example, or None where the data decides (CHID)."""
        if self.kind == "classification":
            return len(self.classes)
        return len(self.choices) or None

    def render_context(self, example: Example) -> str:
        return _render(self.context, example, self.blank)

    def candidates(self, example: Example) -> list[str]:
        """The continuations to score for a multiple-choice example, in answer-index order."""
        if self.choices:
            return [_render(c.continuation, example, self.blank) for c in self.choices]
        assert self.continuation is not None and self.choices_field is not None
        return [
            _render(self.continuation, {**example, "choice": choice}, self.blank)
            for choice in example[self.choices_field]
        ]

    def gold(self, example: Example) -> int:
        """Index of the correct class or candidate; -1 when the example's label is unknown."""
        if self.answer_field is not None:
            return int(example[self.answer_field])
        labels = [c.label for c in self.classes] or [c.label for c in self.choices]
        value = example.get(self.label_field or "")
        if value is not None and _norm(value) in map(_norm, labels):
            return [_norm(label) for label in labels].index(_norm(value))
        # Some files carry only the numeric label (TNEWS, IFLYTEK ids); map it through `id`.
        if self.label_id_field is not None and self.label_id_field in example:
            ids = [_norm(c.id) for c in self.classes]
            if _norm(example[self.label_id_field]) in ids:
                return ids.index(_norm(example[self.label_id_field]))
        return -1

    def demonstration(self, example: Example) -> str:
        """An example written out with its answer, as a few-shot prefix shows it."""
        gold = self.gold(example)
        if gold < 0:
            raise ValueError(f"{self.name}: training example without a known label: {example}")
        if self.kind == "classification":
            return self.render_context(example) + self.classes[gold].words[0]
        return self.render_context(example) + self.candidates(example)[gold]

    def content_free_context(self, filler: str) -> str:
        """The prompt with every example field replaced by a content-free string."""
        return self.context.format_map(_Constant(filler))


class _Constant(dict[str, str]):
    def __init__(self, value: str) -> None:
        super().__init__()
        self.value = value

    def __missing__(self, key: str) -> str:
        return self.value


def _norm(value: object) -> str:
    return str(value).strip().lower()


def _render(template: str, example: Example, blank: Blank | None) -> str:
    # Lists (CSL keywords) read as a Chinese enumeration; dicts stay indexable as {target[span1_text]}.
    fields = {
        key: "，".join(map(str, value)) if isinstance(value, list) else value
        for key, value in example.items()
    }
    if blank is not None:
        before, _, after = str(example[blank.field]).partition(blank.marker)
        # Any further blanks (not in FewCLUE, but in full CHID) must not leak the marker text.
        fields["before"], fields["after"] = before, after.replace(blank.marker, "____")
    return template.format_map(fields)


def load_task(name: str) -> Task:
    """Load the packaged task definition `tasks/<name>.yaml`."""
    if name not in TASK_NAMES:
        raise UserError(f"unknown task {name!r}; choose from {', '.join(TASK_NAMES)} or 'all'")
    text = resources.files("mdfs.evaluate").joinpath(f"tasks/{name}.yaml").read_text("utf-8")
    return task_from_dict(yaml.safe_load(text))


def task_from_dict(spec: dict[str, Any]) -> Task:
    spec = dict(spec)
    spec["classes"] = tuple(
        LabelClass(label=str(c["label"]), words=tuple(c["words"]), id=_opt_str(c.get("id")))
        for c in spec.get("classes", ())
    )
    spec["choices"] = tuple(
        Choice(label=str(c["label"]), continuation=c["continuation"])
        for c in spec.get("choices", ())
    )
    if "content_free" in spec:
        spec["content_free"] = tuple(spec["content_free"])
    if spec.get("blank") is not None:
        spec["blank"] = Blank(**spec["blank"])
    task = Task(**spec)
    _check(task)
    return task


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _check(task: Task) -> None:
    if task.kind == "classification":
        if not task.classes or any(not c.words for c in task.classes):
            raise ValueError(f"{task.name}: a classification task needs classes with words")
    elif task.kind == "multiple_choice":
        if not task.choices and not (
            task.choices_field and task.answer_field and task.continuation
        ):
            raise ValueError(
                f"{task.name}: give `choices`, or `choices_field`, `answer_field` and `continuation`"
            )
    else:
        raise ValueError(f"{task.name}: unknown kind {task.kind!r}")
    # Every candidate must share one context, so its tokens are identical and computed once.
    names = {name for _, name, _, _ in string.Formatter().parse(task.context) if name}
    if "choice" in names:
        raise ValueError(f"{task.name}: the context may not depend on {{choice}}")


def parse_task_names(value: str) -> list[str]:
    if value.strip().lower() == "all":
        return list(TASK_NAMES)
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    for name in names:
        if name not in TASK_NAMES:
            raise UserError(f"unknown task {name!r}; choose from {', '.join(TASK_NAMES)} or 'all'")
    if not names:
        raise UserError("--tasks is empty")
    return names


def read_jsonl(path: Path) -> list[Example]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def split_path(data_dir: Path, task: str, split: str) -> Path:
    if split not in SPLIT_FILES:
        raise UserError(f"unknown split {split!r}; choose from {', '.join(SPLIT_FILES)}")
    path = data_dir / task / SPLIT_FILES[split]
    if not path.is_file():
        raise UserError(f"{task}: split {split!r} needs {path}, which does not exist")
    return path


def load_examples(data_dir: Path, task: str, split: str) -> list[Example]:
    return read_jsonl(split_path(data_dir, task, split))


def few_shot_prefix(task: Task, train: list[Example], shots: int, seed: int) -> str:
    """The k demonstrations every example of a task shares, drawn once with a fixed seed.

    One shared draw (as in Zhao et al. 2021) rather than one per example: the content-free
    inputs of contextual calibration then sit behind exactly the demonstrations the examples
    see, and the prefix is the same for every candidate.
    """
    if shots <= 0:
        return ""
    labelled = [example for example in train if task.gold(example) >= 0]
    if shots > len(labelled):
        raise UserError(f"{task.name}: --shots {shots} exceeds the {len(labelled)} train examples")
    demos = random.Random(f"{seed}:{task.name}").sample(labelled, shots)
    return DEMO_SEPARATOR.join(task.demonstration(example) for example in demos) + DEMO_SEPARATOR


def subsample(examples: list[Example], limit: int | None, seed: int) -> list[Example]:
    """A seeded sample of `limit` examples in file order (files are often sorted by label)."""
    if limit is None or limit >= len(examples):
        return examples
    keep = sorted(random.Random(seed).sample(range(len(examples)), limit))
    return [examples[i] for i in keep]
