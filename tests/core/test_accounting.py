"""The accounting check itself: every way a report can fail the invariant is refused.

Runs only ever write consistent reports, so without these tests a check that stopped
checking would pass every other test."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

from mdfs.layout import ShardResult
from mdfs.report.build import AccountingError, build_report, check_accounting

CONSISTENT: dict[str, Any] = {
    "documents_in": 10,
    "documents_kept": 6,
    "steps": [
        {"name": "extract", "in": 10, "kept": 9, "removed": {"no_main_text": 1}},
        {
            "name": "quality_rules",
            "in": 9,
            "kept": 6,
            "removed": {"too_short": 2, "short_lines": 1},
        },
    ],
    "sources": {"a.warc.gz": {"in": 7, "kept": 4}, "b.jsonl": {"in": 3, "kept": 2}},
}


def broken(change) -> dict[str, Any]:
    report = copy.deepcopy(CONSISTENT)
    change(report)
    return report


def test_a_consistent_report_passes() -> None:
    check_accounting(CONSISTENT)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["steps"][0].update(kept=8), "!= kept"),  # a document vanished in a step
        # ... or between two steps
        (lambda r: r["steps"][0].update(kept=8, removed={"no_main_text": 2}), "previous kept"),
        (lambda r: r["steps"][1]["removed"].update(too_short=3), "!= kept"),  # counted twice
        (lambda r: r["steps"][0].update({"in": 11}), "previous kept"),  # from nowhere
        (lambda r: r.update(documents_kept=7), "^documents_in != documents_kept"),
        (lambda r: r["sources"]["b.jsonl"].update(kept=1), "^per-source kept counts"),
    ],
)
def test_every_violation_is_refused(change, message: str) -> None:
    with pytest.raises(AccountingError, match=message):
        check_accounting(broken(change))


def step(name: str, documents_in: int, kept: int, removed: dict[str, int], **more: Any) -> dict:
    return {"name": name, "in": documents_in, "kept": kept, "removed": removed, **more}


def shard(phase: int, name: str, steps: list[dict], **more: Any) -> ShardResult:
    counters = {
        k: Counter(v) for k, v in more.items() if k in ("errors", "sources_in", "sources_kept")
    }
    return ShardResult(phase=phase, shard=name, steps=steps, **{**more, **counters})


def test_report_merges_shards_and_phases() -> None:
    """Two shards, two phases: sources enter in the first phase and are kept in the last,
    steps of one name merge across shards, examples and errors are capped."""
    results = [
        shard(1, "s1", [step("near_dedup", 3, 3, {}, chars_in=350, chars_out=300, seconds=0.02)], sources_kept={"a": 1, "c": 2}),
        shard(
            0, "s0",
            [step("extract", 5, 4, {"no_main_text": 1}, chars_in=500, chars_out=300,
                  chars_removed=50, seconds=0.12345, kept_examples=[{"id": "k"}])],
            documents_in=5, sources_in={"a": 3, "b": 2}, errors={"bad_gzip": 1},
            error_examples=[f"s0 {i}" for i in range(15)],
            removed_by_source={"b": {"extract": 1}},
            examples={"extract/no_main_text": [{"id": "x1"}, {"id": "x2"}]},
        ),
        shard(
            0, "s1",
            [step("extract", 4, 3, {"no_main_text": 1}, chars_in=400, chars_out=350,
                  chars_removed=20, seconds=0.1)],
            documents_in=4, sources_in={"a": 1, "c": 3}, errors={"bad_gzip": 2, "bad_json": 1},
            error_examples=[f"s1 {i}" for i in range(15)],
            removed_by_source={"c": {"extract": 1}},
            examples={"extract/no_main_text": [{"id": "y1"}, {"id": "y2"}]},
        ),
        shard(
            1, "s0", [step("near_dedup", 4, 3, {"near_duplicate": 1}, chars_in=300, chars_out=200)],
            sources_kept={"a": 3}, removed_by_source={"b": {"near_dedup": 1}},
        ),
    ]  # fmt: skip
    report = build_report(results, extra={"recipe": "r"})
    assert report["documents_in"] == 9
    assert report["documents_kept"] == 6
    assert [(s["name"], s["in"], s["kept"], s["removed"]) for s in report["steps"]] == [
        ("extract", 9, 7, {"no_main_text": 2}),
        ("near_dedup", 7, 6, {"near_duplicate": 1}),
    ]
    assert report["sources"] == {
        "a": {"in": 4, "kept": 4}, "b": {"in": 2, "kept": 0}, "c": {"in": 3, "kept": 2}
    }  # fmt: skip
    assert report["removed_by_source"] == {
        "b": {"extract": 1, "near_dedup": 1}, "c": {"extract": 1}
    }  # fmt: skip
    assert report["errors"] == {"bad_gzip": 3, "bad_json": 1}
    assert report["error_examples"] == [f"s0 {i}" for i in range(15)] + [
        f"s1 {i}" for i in range(5)
    ]
    assert report["removed_examples"] == {
        "extract/no_main_text": [{"id": "x1"}, {"id": "x2"}, {"id": "y1"}]
    }
    assert report["kept_examples"] == {"extract": [{"id": "k"}], "near_dedup": []}
    assert report["chars_in"] == 900
    assert report["chars_kept"] == 500
    assert report["seconds_per_step"] == {"extract": 0.223, "near_dedup": 0.02}
    assert report["recipe"] == "r"


def test_report_of_no_shards_is_empty() -> None:
    report = build_report([])
    assert (report["documents_in"], report["documents_kept"]) == (0, 0)
    assert (report["chars_in"], report["chars_kept"], report["steps"]) == (0, 0, [])
