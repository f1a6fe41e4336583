"""Annotated runs (`mdfs run --annotate`) and `mdfs filter`: every document kept with the
verdicts a normal run would act on, and a normal run's result rebuilt from them."""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from mdfs.cli import main
from mdfs.report.build import check_accounting
from tests.conftest import read_parts

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "data"
BLOCKED = "010488.com"  # in the shipped blocked_domains.txt

# The coarse stage and the fine stage's cheap signals with the combiner's decision (no BERT),
# one input file a shard
RECIPE = """
collect: {shard_max_files: 1}
steps:
  - extract: {skip_without_cjk: true}
  - normalize: {}
  - boilerplate: {}
  - language: {}
  - quality_rules: {}
  - keywords: {}
  - exact_dedup: {}
  - fluency: {}
  - lexical_signals: {}
  - url_signals: {}
  - fine_decision: {}
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample, plus one text twice: first from a blocked domain (keywords removes
    it), then from a clean one. A normal run's exact_dedup never sees the first copy, so it
    keeps the second; an annotated run must too."""
    root = tmp_path_factory.mktemp("annotate-inputs")
    shutil.copytree(SAMPLE, root, dirs_exist_ok=True)
    with gzip.open(SAMPLE / "dump.jsonl.gz", "rt", encoding="utf-8") as lines:
        wiki = json.loads(next(lines))["text"]
    text = wiki + "\n本段为测试而加，内容取自维基百科的条目，并无其他改动。"
    with (root / "twice.jsonl").open("w", encoding="utf-8") as out:
        for record in (
            {"id": "blocked-copy", "text": text, "url": f"http://www.{BLOCKED}/a.html"},
            {"id": "clean-copy", "text": text, "url": "http://example.cn/a.html"},
        ):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return root


def mdfs(*args: str) -> int:
    return main([*args])


def run(inputs: Path, output: Path, recipe: str, *extra: str) -> dict:
    recipe_file = output.parent / f"{output.name}.yaml"
    recipe_file.write_text(recipe)
    args = ["run", str(inputs), "-o", str(output), "--recipe", str(recipe_file), "--workers", "2"]
    assert mdfs(*args, *extra) == 0
    report = json.loads((output / "report.json").read_text())
    check_accounting(report)
    return report


def outcome(output: Path) -> tuple[list, list]:
    """What a run kept (id, text, meta) and removed (id, step, reason)."""
    kept = sorted((r["id"], r["text"], json.dumps(r["meta"], sort_keys=True))
                  for r in read_parts(output / "corpus"))  # fmt: skip
    removed = sorted(
        (r["id"], r["removed_by"], r["reason"]) for r in read_parts(output / "removed")
    )
    return kept, removed


@pytest.fixture(scope="module")
def normal(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("normal") / "run"
    run(inputs, output, RECIPE)
    return output


@pytest.fixture(scope="module")
def annotated(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("annotated") / "run"
    run(inputs, output, RECIPE, "--annotate")
    return output


def test_an_annotated_run_keeps_everything_with_a_normal_runs_verdicts(
    normal: Path, annotated: Path
) -> None:
    report = json.loads((annotated / "report.json").read_text())
    expected = json.loads((normal / "report.json").read_text())
    assert report["annotated"] and report["documents_kept"] == report["documents_in"]
    assert report["documents_in"] == expected["documents_in"]
    assert not read_parts(annotated / "removed")
    # per step, what it would remove is what the normal run removed
    assert [(s["name"], s["flagged"]) for s in report["steps"]] == [
        (s["name"], s["removed"]) for s in expected["steps"]
    ]
    assert report["documents_flagged"] == expected["documents_in"] - expected["documents_kept"]
    records = read_parts(annotated / "corpus")
    assert len(records) == report["documents_in"]
    assert all("removed_by" in r["meta"] and "reason" in r["meta"] for r in records)
    flagged = sorted(
        (r["id"], r["meta"]["removed_by"], r["meta"]["reason"])
        for r in records
        if r["meta"]["removed_by"]
    )
    kept, removed = outcome(normal)
    assert flagged == removed
    # the documents no step would remove are the normal run's corpus, text and all
    unflagged = {r["id"]: r["text"] for r in records if r["meta"]["removed_by"] is None}
    assert unflagged == {id_: text for id_, text, _ in kept}
    # the first copy was flagged before deduplication, so the second one stays
    by_id = {r["id"]: r["meta"] for r in records}
    assert by_id["blocked-copy"]["reason"] == "blocked_domain"
    assert "exact_dedup" not in by_id["clean-copy"].get("verdicts", {})
    # steps after a would-be removal still ran: its scores are all there
    wrong = next(m for m in by_id.values() if m["removed_by"] == "language")
    assert {"language_score", "cjk_ratio", "fluency", "lexical", "fine"} <= set(wrong)
    html = (annotated / "report.html").read_text()
    assert "Annotated run: nothing was removed" in html and "would remove" in html
    # examples of what each step would remove, with the text it was given
    examples = report["removed_examples"]
    assert examples.keys() == expected["removed_examples"].keys()
    assert all(item["text"] for items in examples.values() for item in items)
    assert "Examples: kept and would be removed" in html
    # `mdfs stats` reads the verdicts of an annotated run as a normal run's removals
    from mdfs.report.inspect import funnel_by

    def totals(run_dir: Path) -> Counter:
        return sum(funnel_by(run_dir, "source").values(), Counter())

    assert totals(annotated) == totals(normal)


def test_filter_with_the_stored_thresholds_is_the_normal_run(
    normal: Path, annotated: Path, tmp_path: Path
) -> None:
    output = tmp_path / "filtered"
    assert mdfs("filter", str(annotated), "-o", str(output), "--workers", "2") == 0
    check_accounting(json.loads((output / "report.json").read_text()))
    assert outcome(output) == outcome(normal)


@pytest.mark.parametrize(
    ("setting", "changed"),
    [
        ("language.min_cjk_ratio=0.6", "min_cjk_ratio: 0.6"),  # coarse, before dedup
        ("fine_decision.high_threshold=0.95", "high_threshold: 0.95"),  # the fine decision
    ],
)
def test_a_stricter_threshold_gives_what_a_normal_run_with_it_gives(
    setting: str, changed: str, inputs: Path, normal: Path, annotated: Path, tmp_path: Path
) -> None:
    step, _, rest = setting.partition(".")
    param = rest.partition("=")[0]
    strict_recipe = RECIPE.replace(f"  - {step}: {{}}", f"  - {step}: {{{changed}}}")
    assert strict_recipe != RECIPE
    strict = tmp_path / "strict"
    run(inputs, strict, strict_recipe)
    output = tmp_path / "filtered"
    assert mdfs("filter", str(annotated), "-o", str(output), "--set", setting) == 0
    report = json.loads((output / "report.json").read_text())
    check_accounting(report)
    assert outcome(output) == outcome(strict)
    # stricter than the annotated run: it removes more there
    removed_at = {s["name"]: sum(s["removed"].values()) for s in report["steps"]}
    flagged_at = {
        s["name"]: sum(s["flagged"].values())
        for s in json.loads((annotated / "report.json").read_text())["steps"]
    }
    assert removed_at[step] > flagged_at[step], param
    assert "judge" not in report  # a normal run's report


def test_filter_runs_no_step(
    annotated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No model, automaton or word list is loaded: no step is set up, none runs."""
    from mdfs.pipeline import Step

    def refuse(self: Step, *args: object) -> None:
        raise AssertionError(f"{self.name} was set up or run")

    monkeypatch.setattr(Step, "ensure_setup", refuse)
    for kind in Step.__subclasses__():
        monkeypatch.setattr(kind, "run", refuse)
    output = tmp_path / "filtered"
    args = ["-o", str(output), "--workers", "1", "--set", "language.min_cjk_ratio=0.6"]
    assert mdfs("filter", str(annotated), *args, "--set", "fine_decision.high_threshold=0.9") == 0


def test_a_looser_threshold_never_lets_in_what_deduplication_did_not_see(
    annotated: Path, tmp_path: Path
) -> None:
    output = tmp_path / "filtered"
    assert mdfs("filter", str(annotated), "-o", str(output), "--set",
                "language.min_cjk_ratio=0", "--set", "language.min_score=0",
                "--set", "language.languages=[zh, en, ja]")  == 0  # fmt: skip
    report = json.loads((output / "report.json").read_text())
    check_accounting(report)
    steps = {s["name"]: s for s in report["steps"]}
    assert not steps["language"]["removed"]
    # what language alone flagged reached no global step: not judged by exact_dedup
    assert steps["exact_dedup"]["removed"].get("not_judged", 0) >= 1
    assert all("verdicts" not in r["meta"] for r in read_parts(output / "corpus"))


def test_filter_refuses_what_needs_new_scores_in_one_line(
    normal: Path, annotated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (annotated, ["--set", "quality_rules.min_chars=100"], "changes what the step computes"),
        (annotated, ["--set", "language.min_score=2"], "language.min_score=2"),
        (annotated, ["--set", "nosuch.x=1"], "no step 'nosuch'"),
        (annotated, ["--set", "language"], "STEP.PARAM=VALUE"),
        (normal, [], "is not an annotated run"),
        (tmp_path, [], "not a finished `mdfs run` output"),
    ]
    for run_dir, extra, message in cases:
        assert mdfs("filter", str(run_dir), "-o", str(tmp_path / "out"), *extra) == 2
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and message in error[0], error


def test_parquet_corpus_loads_with_pyarrow_and_datasets(inputs: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    output = tmp_path / "parquet"
    report = run(inputs, output, RECIPE, "--format", "parquet")
    parts = sorted((output / "corpus").glob("*.parquet"))
    assert len(parts) == report["inputs"]["shards"]
    table = pq.read_table(output / "corpus")
    assert table.column_names == ["id", "text", "source", "url", "meta"]
    assert table.num_rows == report["documents_kept"]
    assert all(isinstance(json.loads(m), dict) for m in table.column("meta").to_pylist())
    datasets = pytest.importorskip("datasets")
    corpus = datasets.load_dataset(
        "parquet", data_files=str(output / "corpus" / "*.parquet"), split="train",
        cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    assert corpus.num_rows == report["documents_kept"]
    assert "fine" in json.loads(corpus[0]["meta"])
    # the training wing reads it as it reads JSON lines
    from mdfs.train.corpus import corpus_files, iter_texts

    assert sorted(iter_texts(corpus_files(output))) == sorted(table.column("text").to_pylist())


def test_filter_reads_and_writes_parquet(
    inputs: Path, normal: Path, annotated: Path, tmp_path: Path
) -> None:
    parquet = tmp_path / "annotated"
    run(inputs, parquet, RECIPE, "--annotate", "--format", "parquet")
    output = tmp_path / "filtered"
    assert mdfs("filter", str(parquet), "-o", str(output)) == 0
    assert list((output / "corpus").glob("*.parquet"))
    assert outcome(output) == outcome(normal)
    jsonl = tmp_path / "as-jsonl"
    assert mdfs("filter", str(parquet), "-o", str(jsonl), "--format", "jsonl") == 0
    assert outcome(jsonl) == outcome(normal)


def test_token_counts_per_step(inputs: Path, normal: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    report = json.loads((normal / "report.json").read_text())
    assert report["tokens_counted_with"].startswith("estimate")
    tokenizer = REPO / "src" / "mdfs" / "data" / "models" / "quality-bert"
    output = tmp_path / "tokens"
    report = run(inputs, output, RECIPE, "--tokenizer", str(tokenizer))
    assert report["tokens_counted_with"] == f"tokenizer: {tokenizer / 'tokenizer.json'}"
    counter = Tokenizer.from_file(str(tokenizer / "tokenizer.json"))
    counter.no_truncation()  # the classifier's file cuts at its 256 tokens
    corpus = [r["text"] for r in read_parts(output / "corpus")]
    counts = [len(counter.encode(t, add_special_tokens=False).ids) for t in corpus]
    assert report["tokens_kept"] == sum(counts) and max(counts) > 256
    steps = report["steps"]
    for before, after in itertools.pairwise(steps):
        assert after["tokens_in"] == before["tokens_out"], after["name"]
    extract = steps[0]  # a page's markup counts no tokens; its main text does
    assert 0 < extract["tokens_in"] < extract["tokens_out"]
    language = next(s for s in steps if s["name"] == "language")  # a filter: text unchanged
    assert language["tokens_in"] == language["tokens_out"] + language["tokens_removed"]
    assert language["tokens_removed"] > 0
    html = (output / "report.html").read_text()
    assert "tokens in" in html and f"{report['tokens_kept']:,} tokens kept" in html


def test_filter_names_duplicates_whose_kept_copy_a_new_threshold_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deduplication decided among the documents the annotated run's thresholds kept. When a
    stricter threshold removes the copy it kept, a normal run keeps another copy: `filter`
    cannot, and says which documents that concerns."""
    with gzip.open(SAMPLE / "dump.jsonl.gz", "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    inputs = tmp_path / "in"
    inputs.mkdir()
    with (inputs / "dump.jsonl").open("w", encoding="utf-8") as out:
        for record in records:  # each text, then a near copy with one more Chinese sentence
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            copy = {"id": record["id"] + "-copy", "text": record["text"] + "\n本段为副本。"}
            out.write(json.dumps(copy, ensure_ascii=False) + "\n")
    recipe = "steps:\n  - language: {}\n  - near_dedup: {keep: first}\n"
    run(inputs, tmp_path / "annotated", recipe, "--annotate")
    # the CJK ratio of a copy that near_dedup removed for its (kept) original's sake, where
    # the original's is lower: as a threshold, it removes the original and keeps the copy
    meta = {r["id"]: r["meta"] for r in read_parts(tmp_path / "annotated" / "corpus")}
    gap, threshold = max(
        (meta[copy]["cjk_ratio"] - meta[original]["cjk_ratio"], meta[copy]["cjk_ratio"])
        for original, copy in ((r["id"], r["id"] + "-copy") for r in records)
        if meta[copy].get("duplicate_of") == original and meta[original]["removed_by"] is None
    )
    assert gap > 0
    setting = f"language.min_cjk_ratio={threshold}"
    strict_recipe = recipe.replace("language: {}", f"language: {{min_cjk_ratio: {threshold}}}")
    run(inputs, tmp_path / "strict", strict_recipe)
    output = tmp_path / "filtered"
    capsys.readouterr()
    assert mdfs("filter", str(tmp_path / "annotated"), "-o", str(output), "--set", setting) == 0
    stale = json.loads((output / "report.json").read_text())["stale_duplicates"]
    assert stale["documents"] >= 1
    assert f"{stale['documents']} documents were removed as duplicates" in capsys.readouterr().err
    filtered = {r["id"] for r in read_parts(output / "corpus")}
    strict = {r["id"] for r in read_parts(tmp_path / "strict" / "corpus")}
    assert filtered < strict and len(strict - filtered) == stale["documents"]
