from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from mdfs.document import Document, Removed
from mdfs.pipeline import Filter, Mapper, Step, run_steps


class ShortFilter(Filter):
    name = "short_test"
    min_chars: int = 3

    def keep(self, document: Document) -> bool | str:
        if document.text == "BOOM":
            raise ValueError("a library crashed on this document")
        return len(document.text) >= self.min_chars or "too_short"


class Upper(Mapper):
    name = "upper_test"

    def apply(self, document: Document) -> Document:
        document.text = document.text.strip("x").upper()
        return document


class Swallower(Step):
    """A broken step that drops documents without saying why."""

    name = "swallower_test"

    def run(self, documents: Iterable[Document]) -> Iterator[Document | Removed]:
        for document in documents:
            if len(document.text) > 3:
                yield document


def docs(*texts: str) -> list[Document]:
    return [Document(id=str(i), text=t, source="s") for i, t in enumerate(texts)]


def test_accounting_holds_by_construction() -> None:
    removed: list[tuple[str, str, str]] = []
    kept, stats = run_steps(
        [Upper(), ShortFilter()],
        docs("abcd", "xx", "ab", "boom", "hello"),
        lambda step, item: removed.append((step, item.reason, item.document.text)),
    )
    assert [d.text for d in kept] == ["ABCD", "HELLO"]
    # a removed record holds the text as it entered the removing step, never what it left
    assert ("upper_test", "empty", "xx") in removed
    assert ("short_test", "too_short", "AB") in removed
    upper, short = stats
    assert (upper.documents_in, upper.kept, dict(upper.removed)) == (5, 4, {"empty": 1})
    assert short.documents_in == upper.kept
    assert dict(short.removed) == {"too_short": 1, "step_error": 1}
    assert ("short_test", "step_error", "BOOM") in removed
    for s in stats:
        assert s.documents_in == s.kept + sum(s.removed.values())


def test_a_step_that_loses_documents_is_caught() -> None:
    kept, _ = run_steps([Swallower()], docs("a", "long enough"), lambda *_: None)
    with pytest.raises(RuntimeError, match="broke the accounting"):
        list(kept)


class MinLength(Filter):
    """A filter split into a score and a threshold, so it can be judged again."""

    name = "min_length_test"
    thresholds = frozenset({"min_chars"})
    min_chars: int = 3

    def measure(self, document: Document) -> None:
        if document.text == "BOOM":
            raise ValueError("a library crashed on this document")
        document.meta["length"] = len(document.text)

    def judge(self, document: Document) -> bool | str:
        return document.meta["length"] >= self.min_chars or "too_short"


def test_annotate_then_replay_with_another_threshold() -> None:
    texts = ("abcd", "xx", "ab", "BOOM", "hello", "abc")
    steps: list[Step] = [Upper(), MinLength(), ShortFilter(min_chars=4)]
    normal, _ = run_steps(steps, docs(*texts), lambda *_: None)
    kept_normally = [d.id for d in normal]
    flags: list[tuple[str, str]] = []
    annotated, stats = run_steps(
        steps, docs(*texts), lambda step, item: flags.append((step, item.reason)), annotate=True
    )
    annotated = list(annotated)
    assert len(annotated) == len(texts) and all(s.kept == s.documents_in for s in stats)
    assert [d.id for d in annotated if d.meta["removed_by"] is None] == kept_normally
    by_id = {d.id: d.meta for d in annotated}
    # "ab": removed by min_length first, and ShortFilter still ran on it
    assert by_id["2"]["verdicts"] == {"min_length_test": "too_short", "short_test": "too_short"}
    assert (by_id["1"]["removed_by"], by_id["1"]["reason"]) == ("upper_test", "empty")
    assert by_id["1"]["length"] == 2  # the text it entered the mapper with went on
    assert dict(stats[1].flagged) == {"too_short": 1, "step_error": 1}
    assert flags.count(("min_length_test", "too_short")) == 1  # first verdicts only

    # judged again at 2 characters; the document the step failed on stays removed
    looser = [Upper(), MinLength(min_chars=2), ShortFilter(min_chars=4)]
    replay = {"upper_test": False, "min_length_test": True, "short_test": False}
    removed: list[tuple[str, str, str]] = []
    kept, stats = run_steps(
        looser, annotated, lambda s, item: removed.append((item.document.id, s, item.reason)),
        replay=replay,
    )  # fmt: skip
    assert [d.id for d in kept] == ["0", "4"]
    assert sorted(removed) == [
        ("1", "upper_test", "empty"),
        ("2", "short_test", "too_short"),  # kept by the looser threshold, not by the next step
        ("3", "min_length_test", "step_error"),
        ("5", "short_test", "too_short"),
    ]


class _CutThenRemove(Filter):
    """A filter that changes the text it judges, as steps that mask or trim before deciding do."""

    name = "cut_then_remove"

    def keep(self, document: Document) -> bool | str:
        document.text = document.text[:2] if "保留" in document.text else ""
        return True if "保留" in document.text else "cut_to_nothing"


def test_a_removed_document_keeps_the_text_it_entered_the_step_with() -> None:
    texts = ["保留这一篇文章", "这一篇被删掉了"]
    documents = [Document(str(i), text, "t") for i, text in enumerate(texts)]
    removed: list[tuple[str, Removed]] = []
    kept, _ = run_steps(
        [_CutThenRemove()], iter(documents), lambda name, item: removed.append((name, item))
    )
    assert [d.text for d in kept] == ["保留"]  # what a kept document was changed to stays
    assert [(name, r.reason, r.document.text) for name, r in removed] == [
        ("cut_then_remove", "cut_to_nothing", "这一篇被删掉了")
    ]
