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
