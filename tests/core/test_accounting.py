"""The accounting check itself: every way a report can fail the invariant is refused.

Runs only ever write consistent reports, so without these tests a check that stopped
checking would pass every other test."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mdfs.report.build import AccountingError, check_accounting

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
        (lambda r: r.update(documents_kept=7), "documents_in"),
        (lambda r: r["sources"]["b.jsonl"].update(kept=1), "per-source"),
    ],
)
def test_every_violation_is_refused(change, message: str) -> None:
    with pytest.raises(AccountingError, match=message):
        check_accounting(broken(change))
