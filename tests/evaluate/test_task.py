"""Task definitions against the real FewCLUE files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdfs.errors import UserError
from mdfs.evaluate.task import (
    TASK_NAMES,
    TRAIN_FILE,
    few_shot_prefix,
    load_examples,
    load_task,
    parse_task_names,
    read_jsonl,
    subsample,
    task_from_dict,
)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_example_has_a_known_answer(name: str, clue_dir: Path) -> None:
    task = load_task(name)
    for split in ("dev_few_all.json", TRAIN_FILE):
        examples = read_jsonl(clue_dir / name / split)
        golds = [task.gold(example) for example in examples]
        assert all(gold >= 0 for gold in golds), f"{name}/{split}: unmatched labels"
        # Every class actually occurs: labels are not all mapped onto one.
        if task.kind == "classification" and split == TRAIN_FILE:
            assert len(set(golds)) == len(task.classes)


def test_no_label_word_names_two_classes() -> None:
    for name in TASK_NAMES:
        task = load_task(name)
        words = [word for c in task.classes for word in c.words]
        assert len(words) == len(set(words)), name


def test_chid_substitutes_each_idiom_into_the_blank(clue_dir: Path) -> None:
    task = load_task("chid")
    example = load_examples(clue_dir, "chid", "dev")[0]
    candidates = task.candidates(example)
    assert len(candidates) == 7
    context = task.render_context(example)
    for idiom, candidate in zip(example["candidates"], candidates, strict=True):
        assert context + candidate == example["content"].replace("#idiom#", idiom)
        assert candidate.startswith(idiom)


def test_cluewsc_names_pronoun_and_referent(clue_dir: Path) -> None:
    task = load_task("cluewsc")
    example = load_examples(clue_dir, "cluewsc", "dev")[0]
    assert task.render_context(example).endswith("这里的“它”")
    assert task.candidates(example) == ["指的不是舌头。", "指的是舌头。"]
    assert task.gold(example) == 1  # label "true"


def test_csl_joins_keywords(clue_dir: Path) -> None:
    task = load_task("csl")
    example = load_examples(clue_dir, "csl", "dev")[0]
    assert task.candidates(example)[1] == "关键词是：归责原则，拟制型污染，环境侵权，无过错责任。"


def test_numeric_label_maps_through_class_id() -> None:
    task = load_task("tnews")
    assert task.gold({"label": 103, "sentence": "x"}) == task.gold({"label_desc": "news_sports"})
    assert task.gold({"label": "999"}) == -1


def test_content_free_prompt_replaces_every_field() -> None:
    task = load_task("eprstmt")
    assert task.content_free_context("N/A") == "评论：N/A\n买家对这件商品"


def test_few_shot_prefix_is_seeded_and_labelled(clue_dir: Path) -> None:
    task = load_task("eprstmt")
    train = read_jsonl(clue_dir / "eprstmt" / TRAIN_FILE)
    prefix = few_shot_prefix(task, train, 3, seed=7)
    assert prefix == few_shot_prefix(task, train, 3, seed=7)
    assert prefix != few_shot_prefix(task, train, 3, seed=8)
    demos = prefix.rstrip("\n").split("\n评论：")
    assert len(demos) == 3
    assert all(demo.endswith(("满意", "不满意")) for demo in demos)
    assert few_shot_prefix(task, train, 0, seed=7) == ""
    with pytest.raises(UserError):
        few_shot_prefix(task, train, 10_000, seed=7)


def test_subsample_is_seeded_and_keeps_file_order() -> None:
    examples = [{"id": i} for i in range(100)]
    sample = subsample(examples, 10, seed=1)
    assert sample == subsample(examples, 10, seed=1)
    assert [e["id"] for e in sample] == sorted(e["id"] for e in sample)
    assert subsample(examples, None, seed=1) == examples


def test_task_names_and_splits(clue_dir: Path) -> None:
    assert parse_task_names("all") == list(TASK_NAMES)
    assert parse_task_names("TNEWS, chid") == ["tnews", "chid"]
    with pytest.raises(UserError, match="unknown task"):
        parse_task_names("tnews,afqmc")
    with pytest.raises(UserError, match=r"test_public\.json"):
        load_examples(clue_dir / "missing", "tnews", "test_public")


def test_context_may_not_depend_on_the_choice() -> None:
    with pytest.raises(ValueError, match="choice"):
        task_from_dict(
            {
                "name": "bad",
                "kind": "multiple_choice",
                "context": "{choice}",
                "choices_field": "c",
                "answer_field": "a",
                "continuation": "{choice}",
            }
        )
