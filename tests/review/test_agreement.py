"""Agreement arithmetic: Cohen's kappa, per-class rates, the confusion matrix."""

from __future__ import annotations

import pytest

from mdfs.review.agreement import cohen_kappa, measure


def test_kappa_of_a_textbook_table() -> None:
    # 50 items: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no. Observed 0.7, chance 0.5 -> 0.4.
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa(["a", "b", "c"], ["a", "b", "c"]) == pytest.approx(1.0)
    assert cohen_kappa(["a", "b"], ["b", "a"]) == pytest.approx(-1.0)
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # chance agreement is 1: undefined


def test_measure_people_against_the_model_and_each_other() -> None:
    model = {"d1": "high", "d2": "high", "d3": "ad", "d4": "low", "d5": "low"}
    latest = {
        ("ann", "d1"): "high", ("ann", "d2"): "low", ("ann", "d3"): "ad",
        ("ann", "d4"): "low", ("ann", "d5"): "skip",
        ("bob", "d1"): "high", ("bob", "d2"): "high", ("bob", "d3"): "low",
        ("bob", "gone"): "high",  # no longer in the sample
    }  # fmt: skip
    result = measure(latest, model)
    assert result.judgements == 7 and result.agreed == 5
    assert result.reviewers == {"ann": 4, "bob": 3}
    high = result.classes["high"]
    assert (high.model_n, high.model_agreed, high.person_n, high.person_agreed) == (4, 3, 3, 3)
    assert high.precision == pytest.approx(0.75) and high.recall == pytest.approx(1.0)
    low = result.classes["low"]
    assert (low.model_n, low.model_agreed, low.person_n, low.person_agreed) == (1, 1, 3, 1)
    assert result.confusion["low"] == {"high": 1, "low": 1, "ad": 1}
    assert result.confusion["high"] == {"high": 3}
    persons = ["high", "low", "ad", "low", "high", "high", "low"]
    models = ["high", "high", "ad", "low", "high", "high", "ad"]
    assert result.kappa == pytest.approx(cohen_kappa(persons, models))
    (pair,) = result.pairs
    assert (pair.first, pair.second, pair.common) == ("ann", "bob", 3)
    assert pair.agreement == pytest.approx(1 / 3)
    assert pair.kappa == pytest.approx(cohen_kappa(["high", "low", "ad"], ["high", "high", "low"]))
