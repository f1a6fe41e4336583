"""The labelled set: no near-duplicate straddles the train/dev split; digits unmasked."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from mdfs.fine.labelled import Example, _unmask_digits, assign_split


def test_near_duplicates_fall_on_one_side_of_the_split(shared: Path) -> None:
    path = shared / "data" / "text" / "cmrc2018_wikipedia" / "cmrc2018_trial.json"
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs = list(dict.fromkeys(p["context"][:300] for a in data for p in a["paragraphs"]))
    paragraphs = [p for p in paragraphs if len(p) >= 200][:300]
    rng = random.Random(5)
    examples = []
    for i, text in enumerate(paragraphs):
        # a copy with a few characters changed, as templated pages differ; its own group,
        # so only the MinHash join can put it beside the original
        chars = list(text)
        for _ in range(4):
            chars[rng.randrange(len(chars))] = rng.choice("的一是在不了有和人这")
        examples.append(Example(text, "high", "wikipedia", f"a:{i}"))
        examples.append(Example("".join(chars), "high", "wikipedia", f"b:{i}"))
    sides = assign_split(examples, dev_fraction=0.3)
    assert all(sides[2 * i] == sides[2 * i + 1] for i in range(len(paragraphs)))
    assert 0.1 < sides.count("dev") / len(sides) < 0.5


def test_masked_digits_are_put_back_but_words_are_left() -> None:
    rng = random.Random(0)
    text = _unmask_digits("x月xx日起预存xx元送xbox，电话xxxxxxxxxxx", rng)
    assert "xbox" in text and "x" not in text.replace("xbox", "")
    assert re.fullmatch(r"\d月\d\d日起预存\d\d元送xbox，电话\d{11}", text)
