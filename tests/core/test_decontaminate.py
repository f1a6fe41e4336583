"""Benchmark decontamination against the real FewCLUE files and People's Daily news.

People's Daily (January 1998) is real news that shares long set phrases with FewCLUE
(以江泽民同志为核心的党中央, 13 characters, is in a CSLDCP abstract) but holds no FewCLUE
item; FewCLUE sentences planted into some of its articles must be found, and only those.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from mdfs.coarse.decontaminate import REASON, Decontaminate, match_key, ngram_hashes
from mdfs.coarse.normalize import Normalize
from mdfs.document import Document, Removed
from mdfs.errors import UserError
from mdfs.pipeline import run_steps
from mdfs.recipe import parse_recipe
from tests.conftest import SHARED, missing

FEWCLUE = SHARED / "data/clue/fewclue"
PEOPLES_DAILY = SHARED / "data/text/peoples_daily_199801_pos_tagged.txt"


def news_articles(count: int, lines_each: int = 8) -> list[str]:
    if not PEOPLES_DAILY.is_file():
        missing(f"People's Daily in {PEOPLES_DAILY}")
    lines = []
    with PEOPLES_DAILY.open(encoding="utf-8") as handle:
        for raw in handle:
            line = "".join(word.rsplit("/", 1)[0] for word in raw.split())
            if line:
                lines.append(line)
    articles = ["\n".join(lines[i : i + lines_each]) for i in range(0, len(lines), lines_each)]
    return articles[:count]


def fewclue_record(task: str, split: str, line: int) -> dict:
    path = FEWCLUE / task / f"{split}.json"
    if not path.is_file():
        missing(f"FewCLUE file {path}")
    return json.loads(path.read_text("utf-8").splitlines()[line])


# (task, file, line, field): one sentence each of three tasks, as a crawled page would hold it.
PLANTED = [
    ("tnews", "dev_few_all", 3, "sentence"),
    ("eprstmt", "train_few_all", 0, "sentence"),
    ("csl", "dev_few_all", 5, "abst"),
]


@pytest.fixture(scope="module")
def step() -> Decontaminate:
    if not FEWCLUE.is_dir():
        missing(f"FewCLUE data in {FEWCLUE}")
    step = Decontaminate(fewclue=str(FEWCLUE))
    step.ensure_setup()
    return step


@pytest.fixture(scope="module")
def corpus() -> tuple[list[Document], dict[str, dict]]:
    return planted_corpus()


def planted_corpus() -> tuple[list[Document], dict[str, dict]]:
    """News articles, three of them with a FewCLUE sentence planted as a line of their own."""
    normalize = Normalize()
    normalize.ensure_setup()
    articles = news_articles(400)
    planted: dict[str, dict] = {}
    for n, (task, split, line, field) in enumerate(PLANTED):
        record = fewclue_record(task, split, line)
        index = 50 + 100 * n
        lines = articles[index].split("\n")
        articles[index] = "\n".join([*lines[:3], record[field], *lines[3:]])
        planted[f"pd-{index}"] = {"task": task, "split": split, "record": record, "field": field}
    documents = [
        Document(id=f"pd-{i}", text=normalize.normalize(text), source="peoples_daily")
        for i, text in enumerate(articles)
    ]
    return documents, planted


def run_step(step: Decontaminate, documents: list[Document]) -> tuple[list, list[Removed]]:
    removed: list[Removed] = []
    stream, _ = run_steps([step], copy.deepcopy(documents), lambda _, r: removed.append(r))
    return list(stream), removed


def test_planted_fewclue_sentences_remove_exactly_their_documents(step, corpus):
    documents, planted = corpus
    kept, removed = run_step(step, documents)
    assert {r.document.id for r in removed} == set(planted)
    assert {r.reason for r in removed} == {REASON}
    assert len(kept) == len(documents) - len(planted)
    for r in removed:
        source = planted[r.document.id]
        record = source["record"]
        matches = r.document.meta[REASON]["matches"]
        wanted = {
            "benchmark": f"fewclue/{source['task']}",
            "split": source["split"],
            "id": str(record["id"]),
        }
        assert wanted in matches
        assert record[source["field"]][:10] in r.document.text  # the text as it came in


def test_news_sharing_set_phrases_with_fewclue_stays(step, corpus):
    documents, planted = corpus
    clean = [d for d in documents if d.id not in planted]
    sharing = [d for d in clean if step.matches(match_key(d.text))]
    # The rule is tested, not the data's luck: real news shares 13-grams with FewCLUE.
    assert len(sharing) >= 3
    assert all(step.keep(copy.deepcopy(d)) is True for d in sharing)


def test_cut_removes_only_the_planted_lines(corpus):
    documents, planted = corpus
    step = Decontaminate(fewclue=str(FEWCLUE), action="cut")
    step.ensure_setup()
    kept, removed = run_step(step, documents)
    assert not removed and len(kept) == len(documents)
    originals = {d.id: d for d in documents}
    for document in kept:
        if document.id in planted:
            lines = originals[document.id].text.split("\n")
            assert document.text == "\n".join(lines[:3] + lines[4:])
            assert document.meta[REASON]["cut_chars"] == len(lines[3]) + 1
        else:
            assert document.text == originals[document.id].text


def test_any_jsonl_evaluation_set(tmp_path: Path):
    article = news_articles(1)[0]
    sentence = max(article.split("\n"), key=len)
    evaluation = tmp_path / "my_eval.jsonl"
    evaluation.write_text(
        json.dumps({"idx": 7, "question": {"passage": sentence}}, ensure_ascii=False) + "\n"
    )
    recipe = parse_recipe(
        {"steps": ["normalize", {"decontaminate": {"fewclue": None, "files": [str(evaluation)]}}]}
    )
    documents = [
        Document(id="copy", text=article, source="t"),
        Document(id="other", text=news_articles(3)[2], source="t"),
    ]
    removed: list[Removed] = []
    stream, stats = run_steps(recipe.steps, documents, lambda _, r: removed.append(r))
    assert [d.id for d in stream] == ["other"]
    assert [r.document.id for r in removed] == ["copy"]
    assert removed[0].document.meta[REASON]["matches"] == [
        {"benchmark": "my_eval", "split": "", "id": "7"}
    ]
    assert stats[1].removed == {REASON: 1}


def test_missing_evaluation_file_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(UserError, match="does not exist"):
        parse_recipe({"steps": [{"decontaminate": {"files": [str(tmp_path / "none.jsonl")]}}]})
    with pytest.raises(UserError, match="no FewCLUE task files"):
        parse_recipe({"steps": [{"decontaminate": {"fewclue": str(tmp_path)}}]})


def write_run_inputs(documents: list[Document], folder: Path) -> tuple[Path, Path]:
    """The articles as two JSONL files (two shards) and a recipe: normalize, decontaminate."""
    inputs = folder / "inputs"
    inputs.mkdir(parents=True)
    for part in range(2):
        with (inputs / f"part-{part}.jsonl").open("w", encoding="utf-8") as out:
            for document in documents[part::2]:
                out.write(json.dumps({"id": document.id, "text": document.text}) + "\n")
    recipe = folder / "recipe.json"  # JSON is YAML
    recipe.write_text(
        json.dumps({"steps": ["normalize", {"decontaminate": {"fewclue": str(FEWCLUE)}}]})
    )
    return inputs, recipe


def assert_planted_removed(output: Path, documents: list[Document], planted: dict) -> None:
    """Exactly the planted documents are in removed/, each naming the item it matched."""
    from tests.conftest import read_parts

    removed = {r["id"]: r for r in read_parts(output / "removed")}
    assert set(removed) == set(planted)
    kept = {r["id"] for r in read_parts(output / "corpus")}
    assert kept == {d.id for d in documents} - set(planted)
    for doc_id, record in removed.items():
        assert (record["removed_by"], record["reason"]) == ("decontaminate", REASON)
        source = planted[doc_id]
        wanted = {
            "benchmark": f"fewclue/{source['task']}",
            "split": source["split"],
            "id": str(source["record"]["id"]),
        }
        assert wanted in record["meta"][REASON]["matches"]
    report = json.loads((output / "report.json").read_text())
    step = next(s for s in report["steps"] if s["name"] == "decontaminate")
    assert step["removed"] == {REASON: len(planted)}


def test_mdfs_run_removes_the_planted_documents(corpus, tmp_path: Path):
    from mdfs.cli import main

    documents, planted = corpus
    inputs, recipe = write_run_inputs(documents, tmp_path)
    output = tmp_path / "out"
    args = ["run", str(inputs), "--output", str(output), "--recipe", str(recipe)]
    assert main([*args, "--workers", "2"]) == 0
    assert_planted_removed(output, documents, planted)


def test_a_match_is_thirteen_characters(tmp_path: Path):
    """GPT-3's 13-gram: an evaluation field of 13 characters inside a document is a match,
    one of 12 can never be (shorter than the n-gram)."""
    article = news_articles(1)[0]
    fields = {"thirteen": "甲乙丙丁戊己庚辛壬癸子丑寅", "twelve": "卯辰巳午未申酉戌亥天地人"}
    evaluation = tmp_path / "eval.jsonl"
    evaluation.write_text(
        "".join(
            json.dumps({"id": k, "text": v}, ensure_ascii=False) + "\n" for k, v in fields.items()
        )
    )
    step = Decontaminate(fewclue=None, files=[str(evaluation)])
    step.ensure_setup()
    documents = [
        Document(id=name, text=f"{article[:100]}{field}{article[100:]}", source="t")
        for name, field in fields.items()
    ]
    kept, removed = run_step(step, documents)
    assert [d.id for d in kept] == ["twelve"]
    assert [r.document.id for r in removed] == ["thirteen"]


def test_ngram_hashes_tell_windows_apart_by_every_character():
    key = "甲乙丙丁戊己庚辛壬癸子丑寅卯" + "甲乙丙丁戊己庚辛壬癸子丑辰"
    hashes = ngram_hashes(key, 13)
    assert len(hashes) == len(key) - 12
    # windows 0 and 14 differ in their last character only; equal windows hash alike
    assert hashes[0] != hashes[14]
    assert ngram_hashes(key[:13], 13)[0] == hashes[0]
    assert list(ngram_hashes("甲乙丙", 13)) == []
