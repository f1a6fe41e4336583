"""What the pipeline records about each step besides the counts: characters, examples of kept
and cut documents, score histograms, merged stats, and the guards of the step API."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import ClassVar

import pytest

from mdfs.document import Document
from mdfs.histogram import Histograms
from mdfs.pipeline import (
    CUT_EXAMPLE_CHARS,
    EXAMPLE_CHARS,
    EXAMPLES_PER_STEP,
    STEP_REGISTRY,
    Filter,
    GlobalStep,
    Mapper,
    StepStats,
    register,
    run_steps,
    scores_of,
)


class Scored(Filter):
    """Keeps documents whose meta score reaches `min_score`."""

    name = "scored_test"
    histograms: ClassVar[Histograms] = {"meta.score": "min_score"}
    min_score: float = 0.5

    def keep(self, document: Document) -> bool | str:
        return document.meta["score"] >= self.min_score or "low_score"


class FirstLine(Mapper):
    name = "first_line_test"

    def apply(self, document: Document) -> Document:
        if document.text.startswith("!"):
            document.text = "changed before failing"
            raise ValueError("x" * 600)
        document.text = document.text.split("\n")[0]
        return document


def doc(i: int, text: str, score: float = 1.0) -> Document:
    return Document(id=str(i), text=text, source="s.jsonl", url=f"u{i}", meta={"score": score})


def test_characters_examples_and_histograms() -> None:
    removed = []
    documents = [
        doc(0, "a" * 700, 0.95),
        doc(1, "bb", 0.1),
        doc(2, "ccc", 0.55),
        doc(3, "dddd", 0.75),
        doc(4, "eeeee", 0.5),
    ]
    kept, (stats,) = run_steps([Scored()], documents, lambda step, r: removed.append(r))
    assert [d.id for d in kept] == ["0", "2", "3", "4"]
    assert (stats.documents_in, stats.kept, dict(stats.removed)) == (5, 4, {"low_score": 1})
    assert (stats.chars_in, stats.chars_out, stats.chars_removed) == (714, 712, 2)
    assert [e["id"] for e in stats.kept_examples] == ["0", "2", "3"]  # the first three
    first = stats.kept_examples[0]
    assert first == {
        "id": "0", "url": "u0", "source": "s.jsonl", "text": "a" * EXAMPLE_CHARS,
        "scores": {"meta.score": 0.95},
    }  # fmt: skip
    assert stats.cut_examples == []  # a filter never cuts
    histogram = stats.histograms["meta.score"]
    assert histogram["threshold"] == 0.5 and histogram["threshold_field"] == "min_score"
    assert histogram["removed"][2] == 1  # 0.1 in the third of 20 bins
    assert [i for i, n in enumerate(histogram["kept"]) if n] == [10, 11, 15, 19]
    assert stats.seconds >= 0
    assert [r.document.id for r in removed] == ["1"]


def test_cut_examples_show_before_and_after() -> None:
    long_text = "first line\n" + "x" * 4000
    documents = [
        Document("0", long_text, "s"),
        Document("1", "no cut", "s"),
        Document("2", "one\ntwo", "s"),
        Document("3", "a\nb", "s"),
        Document("4", "c\nd", "s"),
    ]
    kept, (stats,) = run_steps([FirstLine()], documents, lambda *_: None)
    assert [d.text for d in kept] == ["first line", "no cut", "one", "a", "c"]
    assert [c["id"] for c in stats.cut_examples] == ["0", "2", "3"]
    cut = stats.cut_examples[0]
    assert (cut["chars_before"], cut["chars_after"]) == (len(long_text), 10)
    assert cut["before"] == long_text[:CUT_EXAMPLE_CHARS] and cut["after"] == "first line"
    assert (cut["url"], cut["source"]) == (None, "s")
    assert len(stats.cut_examples) == EXAMPLES_PER_STEP
    assert stats.chars_out == 10 + 6 + 3 + 1 + 1


def test_a_shortening_without_lost_lines_is_a_cut_past_a_tenth() -> None:
    class Trim(Mapper):
        name = "trim_test"

        def apply(self, document: Document) -> Document:
            document.text = document.text[: int(document.id)]
            return document

    documents = [Document("91", "y" * 100, "s"), Document("89", "z" * 100, "s")]
    kept, (stats,) = run_steps([Trim()], documents, lambda *_: None)
    assert len(list(kept)) == 2
    assert [c["id"] for c in stats.cut_examples] == ["89"]  # 91 % kept is no cut worth showing


def test_a_failing_mapper_keeps_the_text_it_was_given() -> None:
    removed = []
    kept, (stats,) = run_steps(
        [FirstLine()], [Document("0", "!boom", "s")], lambda step, r: removed.append((step, r))
    )
    assert list(kept) == []
    step, record = removed[0]
    assert (step, record.reason, record.document.text) == ("first_line_test", "step_error", "!boom")
    message = record.document.meta["step_error"]
    assert message.startswith("ValueError: xxx") and len(message) == 500
    assert stats.chars_removed == 5


def test_stats_merge_and_round_trip() -> None:
    def histogram(kept: list[int]) -> dict:
        return {"low": 0.0, "high": 1.0, "kept": kept, "removed": [0, 1]}

    a = StepStats(
        "s", documents_in=3, kept=2, removed=Counter(x=1), chars_in=30, chars_out=20,
        chars_removed=5, seconds=0.5, kept_examples=[{"id": "1"}],
    )  # fmt: skip
    a.histograms = {"meta.p": histogram([1, 0])}
    b = StepStats(
        "s", documents_in=4, kept=1, removed=Counter(x=2, y=1), chars_in=40, chars_out=10,
        chars_removed=25, seconds=0.25, kept_examples=[{"id": "2"}] * 3,
    )  # fmt: skip
    b.histograms = {"meta.p": histogram([0, 2]), "meta.q": histogram([5, 5])}
    a.merge(b)
    assert (a.documents_in, a.kept, a.removed) == (7, 3, Counter(x=3, y=1))
    assert (a.chars_in, a.chars_out, a.chars_removed, a.seconds) == (70, 30, 30, 0.75)
    assert a.kept_examples == [{"id": "1"}, {"id": "2"}, {"id": "2"}]
    assert a.histograms["meta.p"] == {"low": 0.0, "high": 1.0, "kept": [1, 2], "removed": [0, 2]}
    assert a.histograms["meta.q"]["kept"] == [5, 5]
    data = a.to_dict()
    assert data["in"] == 7 and data["removed"] == {"x": 3, "y": 1}
    assert StepStats.from_dict(data) == a


def test_scores_of_rounds_and_skips_missing() -> None:
    document = Document("0", "t", "s", meta={"score": 0.123456})
    assert scores_of(Scored(), document) == {"meta.score": 0.1235}
    assert scores_of(Scored(), Document("1", "t", "s")) == {}


def test_step_api_guards(tmp_path: Path) -> None:
    try:
        register(Scored)
        with pytest.raises(ValueError, match="'scored_test' registered twice"):
            register(Scored)
    finally:
        STEP_REGISTRY.pop("scored_test")

    class Global(GlobalStep):
        name = "global_test"

    step = Global()
    with pytest.raises(RuntimeError, match="global step global_test used before bind"):
        _ = step.workdir
    with pytest.raises(RuntimeError, match="run before begin_shard"):
        step.run([])
    step.bind(tmp_path / "deep" / "work")
    assert step.workdir == tmp_path / "deep" / "work" and step.workdir.is_dir()

    class PerShard(GlobalStep):
        name = "per_shard_test"

        def filter_shard(self, shard: str, documents):
            for document in documents:
                document.meta["shard"] = shard
                yield document

    per_shard = PerShard()
    per_shard.begin_shard("s7")
    assert [d.meta["shard"] for d in per_shard.run([Document("0", "t", "s")])] == ["s7"]
