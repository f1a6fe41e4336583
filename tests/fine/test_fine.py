"""Fine filter: segmenting, training, classify, the step's accounting, the shipped model."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mdfs.cli import main
from mdfs.document import Document, Removed
from mdfs.errors import UserError
from mdfs.fine import LABELS
from mdfs.fine.scoring import DEFAULT_BERT, DEFAULT_FASTTEXT
from mdfs.fine.segments import split_segments
from mdfs.fine.step import QualityClassifier
from mdfs.pipeline import run_steps
from tests.conftest import read_parts


def test_step_without_decision_scores_all_and_cuts_only_what_it_would_keep() -> None:
    step = QualityClassifier(decide=False, min_segment_chars=0, max_segment_chars=40)
    step._scorer = _FixedScorer()
    step._ready = True
    good = "这是一篇很好的文章，内容充实。" * 4
    documents = [
        Document("a", good + "\n" + "垃圾标题" * 5, "t"),
        Document("b", "广告广告买买买" * 5, "t"),
        Document("c", "垃圾" * 30, "t"),
    ]
    kept, _ = run_steps([step], iter(documents), lambda name, r: None)
    kept = list(kept)
    assert [d.id for d in kept] == ["a", "b", "c"]
    assert "垃圾" not in kept[0].text  # the kept document's junk tail is cut
    assert kept[1].text == documents[1].text and kept[2].text == "垃圾" * 30  # judged whole
    assert [d.meta["quality"]["label"] for d in kept] == ["high", "ad", "low"]


needs_shipped = pytest.mark.skipif(
    not (DEFAULT_BERT / "config.json").is_file(), reason="default model not built"
)


ARTICLE_END = "源1.0便是一个非常好的开始，但未来的路还很长。"


def _sms(shared: Path, label: str, n: int) -> list[str]:
    import csv

    texts = []
    with (shared / "data" / "spam" / "sample2.csv").open(encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            if row["label"] == label and len(row["content"]) > 8:
                texts.append(row["content"].strip())
            if len(texts) >= n:
                break
    return texts


def _wiki(shared: Path, n: int) -> list[str]:
    path = shared / "data" / "text" / "cmrc2018_wikipedia" / "cmrc2018_trial.json"
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [p["context"][:200] for a in data for p in a["paragraphs"]][:n]


@pytest.fixture(scope="module")
def labelled(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real labelled file: Wikipedia = high, SMS fragments = low, SMS ads = ad."""
    path = tmp_path_factory.mktemp("labelled") / "labelled.jsonl"
    rows = [{"text": t, "label": "high"} for t in _wiki(shared, 60)]
    rows += [{"text": t, "label": "low"} for t in _sms(shared, "0", 60)]
    rows += [{"text": t, "label": "ad"} for t in _sms(shared, "1", 60)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture(scope="module")
def trained(labelled: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A tiny model trained in seconds (5 masked-LM steps), and what the command printed."""
    output = tmp_path_factory.mktemp("model") / "tiny"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(
            [
                *("train-classifier", "--data", str(labelled), "--output", str(output)),
                *("--pretrain-steps", "5", "--epochs", "2", "--threads", "1"),
            ]
        )
    assert code == 0
    return output, printed.getvalue()


@pytest.fixture(scope="module")
def tiny_model(trained: tuple[Path, str]) -> Path:
    return trained[0]


def test_segments_cover_lines_and_cut_long_lines() -> None:
    text = (
        "短行一\n"
        + "这是一个很长的句子。" * 60
        + "\n\n最后一行也有一些字，足够长了吧，再多写几个字吧。"
    )
    segments = split_segments(text, max_chars=100, min_chars=20)
    assert all(seg.end - seg.start <= 200 for seg in segments)
    covered = "".join(seg.text(text) for seg in segments)
    assert covered.replace("\n", "") == text.replace("\n", "")
    assert split_segments("\n \n") == []


def test_train_classifier_writes_a_loadable_dir(tiny_model: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_model))
    assert model.config.num_labels == 3
    assert set(model.config.id2label.values()) == set(LABELS)
    assert len(AutoTokenizer.from_pretrained(str(tiny_model))) == 21128
    metrics = json.loads((tiny_model / "training_metrics.json").read_text())
    assert set(LABELS) <= set(metrics["dev"])


def test_train_classifier_records_its_split_by_content(
    tiny_model: Path, labelled: Path, tmp_path: Path
) -> None:
    """split.json beside the model rebuilds its split exactly from the same labelled set,
    wherever the file lies and whatever the order of its lines; another set is refused."""
    from mdfs.fine.labelled import read_labelled, recorded_sides, split_digest
    from mdfs.fine.training import split_sides

    record = json.loads((tiny_model / "split.json").read_text())
    records = read_labelled(labelled)
    assert record["examples"]["dev"] == len(record["dev_keys"]) > 0
    assert record["examples"]["train"] + record["examples"]["dev"] == len(records)
    moved = tmp_path / "elsewhere" / "labelled.jsonl"
    moved.parent.mkdir()
    moved.write_text("".join(reversed(labelled.read_text("utf-8").splitlines(True))), "utf-8")
    again = read_labelled(moved)
    texts = [r["text"] for r in again]
    sides = recorded_sides(texts, record)
    assert sides.count("dev") == record["examples"]["dev"]
    assert split_digest(texts, split_sides(again)[0]) == record["digest"]  # chosen again
    with pytest.raises(UserError, match="not the labelled set"):
        recorded_sides(texts[1:], record)


def test_shipped_models_record_their_split() -> None:
    """Each shipped classifier's split (benchmarks/shipped_splits.py) holds as many dev texts
    as the figures published for it count."""
    from mdfs.fine.training import SPLIT_FILE

    bert = json.loads((DEFAULT_BERT / SPLIT_FILE).read_text())
    metrics = json.loads((DEFAULT_BERT / "training_metrics.json").read_text())
    assert bert["examples"]["dev"] == metrics["dev_examples"] == len(bert["dev_keys"]) == 3120
    fasttext = json.loads((DEFAULT_FASTTEXT.parent / SPLIT_FILE).read_text())
    assert fasttext["examples"]["dev"] == len(fasttext["dev_keys"]) == 986 + 1351 + 490
    for record in (bert, fasttext):
        assert len(record["digest"]) == 64 and len(set(record["dev_keys"])) == len(
            record["dev_keys"]
        )


def test_train_classifier_prints_per_class_scores(trained: tuple[Path, str]) -> None:
    out = trained[1]
    assert "precision" in out and "recall" in out and "macro-F1" in out
    for label in LABELS:
        row = next(line for line in out.splitlines() if line.startswith(label))
        assert len(row.split()) == 5  # label, precision, recall, f1, support


def test_bad_label_and_missing_inputs_are_user_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "你好", "label": "great"}\n', encoding="utf-8")
    assert main(["train-classifier", "--data", str(bad), "--output", str(tmp_path / "m")]) == 2
    assert "great" in capsys.readouterr().err
    missing = ["train-classifier", "--data", str(tmp_path / "nope.jsonl"), "--output", "x"]
    assert main(missing) == 2
    seed = tmp_path / "a.txt"
    seed.write_text("你好", encoding="utf-8")
    no_model = ["classify", "--model", str(tmp_path / "none"), str(seed), "--output", "o"]
    assert main(no_model) == 2
    assert "does not exist" in capsys.readouterr().err
    int8_fasttext = ["classify", str(seed), "-o", str(tmp_path / "q"), "--backend", "fasttext"]
    assert main([*int8_fasttext, "--quantize"]) == 2
    assert "--quantize applies to the bert backend only" in capsys.readouterr().err
    assert not (tmp_path / "q").exists()  # refused before any run started


def test_classify_keeps_input_order_for_jsonl_and_txt(
    tiny_model: Path, shared: Path, tmp_path: Path
) -> None:
    texts = _wiki(shared, 3) + _sms(shared, "1", 3)
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) + "\n"
            for i, t in enumerate(texts)
        ),
        encoding="utf-8",
    )
    txt = tmp_path / "zz_seed.txt"
    txt.write_text((shared / "samples" / "seed_page.txt").read_text("utf-8"), "utf-8")
    out = tmp_path / "out"
    command = ["classify", "--classifier-only", "--model", str(tiny_model), str(jsonl), str(txt)]
    assert main([*command, "--output", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows[:6]] == [f"d{i}" for i in range(6)]
    assert len(rows) == 7 and rows[6]["id"]
    for row in rows:
        assert row["label"] in LABELS
        assert set(row["scores"]) == set(LABELS)
        assert abs(sum(row["scores"].values()) - 1) < 0.01
    # beside the predictions, the documents themselves with their text and scores
    corpus = read_parts(out / "corpus")
    assert [d["text"] for d in corpus[:6]] == texts
    assert [d["meta"]["quality"]["label"] for d in corpus] == [r["label"] for r in rows]
    assert [d["meta"]["quality"]["scores"] for d in corpus] == [r["scores"] for r in rows]
    assert json.loads((out / "report.json").read_text())["documents_kept"] == 7


def test_classify_labels_as_the_default_fine_stage_decides(shared: Path, tmp_path: Path) -> None:
    """Without --classifier-only, the label is the verdict `mdfs run` would give: a real
    article carrying injected gambling anchors is low by the lexical gate however the
    classifier scores it, and a clean article is high."""
    article = _wiki(shared, 1)[0]
    anchors = "\n".join(
        ["百家乐真人视讯，娱乐城注册送彩金", "北京赛车pk10计划，时时彩投注平台"] * 2
    )
    half = len(article) // 2
    records = [{"id": "clean", "text": article},
               {"id": "injected", "text": article[:half] + "\n" + anchors + "\n" + article[half:]}]  # fmt: skip
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    out = tmp_path / "out"
    assert main(["classify", str(jsonl), "--output", str(out)]) == 0
    rows = {
        r["id"]: r for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())
    }
    assert rows["injected"]["label"] == "low"
    assert rows["injected"]["reason"] == "low_quality:gambling"
    assert rows["clean"]["label"] == "high" and rows["clean"]["reason"] is None
    assert rows["clean"]["scores"]["high"] >= 0.5  # the combined decision's probabilities
    assert set(rows["clean"]["classifier"]) == set(LABELS)  # and the classifier's own
    # --quantize: the classifier in int8 moves its probabilities a little, not the verdicts
    assert main(["classify", str(jsonl), "--output", str(tmp_path / "q"), "--quantize"]) == 0
    lines = (tmp_path / "q" / "predictions.jsonl").read_text().splitlines()
    int8 = {r["id"]: r for r in map(json.loads, lines)}
    assert {i: r["label"] for i, r in int8.items()} == {i: r["label"] for i, r in rows.items()}
    moved = [abs(int8[i]["classifier"][c] - rows[i]["classifier"][c]) for i in rows for c in LABELS]
    assert 0 < max(moved) < 0.05


# The classify command with one input file a shard, in a process of its own (to be killed).
CLASSIFY_SMALL_SHARDS = (
    "import sys, mdfs.cli.fine as c; c.CLASSIFY_COLLECT['shard_max_files'] = 1; "
    "from mdfs.cli import main; sys.exit(main(sys.argv[1:]))"
)


@needs_shipped
def test_classify_resumes_after_kill_9(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed with kill -9 mid-run, classify run again finishes with the predictions of an
    uninterrupted run, scoring only the shards the killed run had not finished."""
    import mdfs.cli.fine

    texts = _wiki(shared, 24) + _sms(shared, "1", 12) + _sms(shared, "0", 12)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for index in range(16):
        rows = [{"id": f"f{index}-{n}", "text": t} for n, t in enumerate(texts[index::16])]
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        (inputs / f"part-{index:02d}.jsonl").write_text(lines, encoding="utf-8")
    monkeypatch.setattr(mdfs.cli.fine, "CLASSIFY_COLLECT", {"shard_max_files": 1})
    reference = tmp_path / "reference"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["classify", str(inputs), "-o", str(reference), "--workers", "1"]) == 0

    output = tmp_path / "killed"
    command = [sys.executable, "-c", CLASSIFY_SMALL_SHARDS, "classify", str(inputs),
               "-o", str(output), "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    markers = output / ".mdfs" / "stats" / "phase-0"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(markers.glob("*.json"))) < 2:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {path: path.stat().st_mtime_ns for path in markers.glob("*.json")}
    assert 2 <= len(finished) < 16, "the run finished before it could be killed"
    assert not (output / "predictions.jsonl").exists()

    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["classify", str(inputs), "-o", str(output), "--workers", "1"]) == 0
    assert {path: path.stat().st_mtime_ns for path in finished} == finished  # not run again
    expected, resumed = (
        [json.loads(line) for line in (folder / "predictions.jsonl").open()]
        for folder in (reference, output)
    )
    assert len(expected) == len(texts)
    assert [(p["id"], p["label"]) for p in resumed] == [(p["id"], p["label"]) for p in expected]
    for a, b in zip(expected, resumed, strict=True):
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-4)
    assert {p["label"] for p in expected} >= {"high", "ad"}


def test_annotate_only_keeps_every_document_unchanged() -> None:
    step = QualityClassifier(annotate_only=True, min_segment_chars=0, max_segment_chars=40)
    step._scorer = _FixedScorer()
    step._ready = True
    good = "这是一篇很好的文章，内容充实。" * 4
    texts = [good + "\n" + "垃圾标题" * 5, "广告广告买买买" * 5, "垃圾" * 30, ""]
    documents = [Document(str(n), text, "t") for n, text in enumerate(texts)]
    kept, stats = run_steps([step], iter(documents), lambda name, r: None)
    kept = list(kept)
    assert [d.text for d in kept] == texts
    assert [d.meta["quality"]["label"] for d in kept] == ["high", "ad", "low", "low"]
    assert all(set(d.meta["quality"]) == {"label", "scores"} for d in kept)
    assert stats[0].kept == 4


class _FixedScorer:
    """Scores segments by a rule, so the step's bookkeeping is tested apart from any model."""

    def predict(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            if "广告" in text:
                rows.append([0.1, 0.1, 0.8])
            elif "垃圾" in text:
                rows.append([0.1, 0.8, 0.1])
            else:
                rows.append([0.9, 0.05, 0.05])
        return np.array(rows, dtype=np.float32)


def test_step_accounting_reasons_and_segment_cut() -> None:
    step = QualityClassifier(batch_documents=2, min_segment_chars=0, max_segment_chars=40)
    step._scorer = _FixedScorer()
    step._ready = True
    good = "这是一篇很好的文章，内容充实。" * 4
    documents = [
        Document("a", good + "\n" + "垃圾标题" * 5, "t"),
        Document("b", "广告广告买买买" * 5, "t"),
        Document("c", "垃圾" * 30, "t"),
        Document("d", good, "t"),
        Document("e", "", "t"),
    ]
    removed: list[Removed] = []
    kept, stats = run_steps([step], iter(documents), lambda name, r: removed.append(r))
    kept = list(kept)
    assert [d.id for d in kept] == ["a", "d"]
    assert {r.document.id: r.reason for r in removed} == {
        "b": "advertisement",
        "c": "low_quality",
        "e": "low_quality",
    }
    assert "垃圾" not in kept[0].text and kept[0].text.startswith(good[:20])
    assert kept[0].meta["quality"]["segments_removed"] >= 1
    for document in documents:
        quality = document.meta["quality"]
        assert set(quality["scores"]) == set(LABELS)
        assert quality["label"] in LABELS
    assert stats[0].documents_in == 5 and stats[0].kept == 2


@needs_shipped
def test_shipped_model_loads_with_from_pretrained() -> None:
    from transformers import AutoTokenizer, BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(str(DEFAULT_BERT))
    tokenizer = AutoTokenizer.from_pretrained(str(DEFAULT_BERT))
    batch = tokenizer(["北京是中华人民共和国的首都。"], return_tensors="pt")
    assert model(**batch).logits.shape == (1, 3)
    size = sum(p.stat().st_size for p in DEFAULT_BERT.parent.rglob("*") if p.is_file())
    assert size < 30_000_000


@needs_shipped
def test_seed_page_keeps_article_and_drops_headline_tail(shared: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(shared / "samples" / "seed_page.txt"), "--output", str(out)]) == 0
    with gzip.open(next((out / "corpus").glob("*.jsonl.gz")), "rt", encoding="utf-8") as stream:
        documents = [json.loads(line) for line in stream]
    assert len(documents) == 1
    text = documents[0]["text"]
    assert ARTICLE_END in text and "浪潮英伟达微软为何狂炼AI大模型" in text
    assert "盘点国内外十大蠢哭了的奇葩笨贼" not in text and "福原爱" not in text
    assert documents[0]["meta"]["quality"]["segments_removed"] >= 1


@pytest.mark.skipif(not DEFAULT_FASTTEXT.is_file(), reason="fastText model not built")
def test_fasttext_backend_scores_like_the_step_expects(shared: Path) -> None:
    step = QualityClassifier(backend="fasttext")
    step.ensure_setup()
    documents = [Document(str(i), t, "t") for i, t in enumerate(_wiki(shared, 4))]
    outputs = list(step.run(iter(documents)))
    assert len(outputs) == 4
    assert all("quality" in d.meta for d in documents)


def test_line_breaks_reach_the_models_as_tokens() -> None:
    from mdfs.fine.bert import encoder_text
    from mdfs.fine.fasttext_model import LINE_BREAK, to_tokens

    assert encoder_text(" 新闻\n\n  体育 \n财经\n", "[SEP]") == "新闻 [SEP] 体育 [SEP] 财经"
    assert to_tokens("新闻\r\n体育") == f"新 闻 {LINE_BREAK} 体 育"


@needs_shipped
def test_shipped_model_calls_code_and_headline_lists_low(shared: Path) -> None:
    """Code (this project's own, never in training) and the anchor texts of a real list
    page, one per line: junk whose line structure is part of the evidence."""
    from mdfs.fine.labelled import _anchors, _page_lines
    from mdfs.fine.scoring import load_scorer, score_documents

    code = (Path(__file__).parents[2] / "src" / "mdfs" / "pipeline.py").read_text("utf-8")
    forum = next((shared / "data" / "web" / "news_pages" / "list_pages").rglob("*.html"))
    html = forum.read_text(encoding="utf-8", errors="replace")
    headlines = "\n".join(_anchors(html)[0][:40]) or "\n".join(_page_lines(html)[:40])
    scores = score_documents([code[:3000], headlines], load_scorer(None))
    assert [score.label for score in scores] == ["low", "low"]


def test_segment_trimming_never_cuts_a_document_it_keeps_to_nothing() -> None:
    # One line is one block: a weak piece in it used to cut the whole line, and with it the
    # whole of a document whose own score is high (ChineseWebText "clean" pages, 0.74-0.82).
    step = QualityClassifier(min_segment_chars=0, max_segment_chars=40)
    step._scorer = _FixedScorer()
    step._ready = True
    good = "这是一篇很好的文章，内容充实。" * 8
    one_line = good + "垃圾标题"
    tail_cut = good + "\n" + "垃圾标题" * 5
    documents = [Document("one-line", one_line, "t"), Document("two-lines", tail_cut, "t")]
    removed: list[Removed] = []
    kept = list(run_steps([step], iter(documents), lambda name, r: removed.append(r))[0])
    assert not removed
    assert kept[0].text == one_line  # kept whole: nothing good was left to trim towards
    assert kept[0].meta["quality"] == {
        "label": "high", "scores": kept[0].meta["quality"]["scores"], "segments_removed": 0,
    }  # fmt: skip
    assert kept[1].text.strip() == good  # a junk tail below a good line still goes


@needs_shipped
def test_every_removed_record_of_the_bundled_sample_keeps_its_text(tmp_path: Path) -> None:
    """The default recipe over examples/data: whichever step removed a record (a filter, a
    mapper such as boilerplate, a global dedup, the fine stage), the record holds the text it
    entered that step with, never the nothing a cut left; and the three single-line clean
    ChineseWebText pages that segment trimming used to cut to nothing are not lost to it."""
    sample = Path(__file__).resolve().parents[2] / "examples" / "data"
    # and a page of nothing but navigation, which boilerplate (a mapper) empties
    navigation = "首页 | 新闻 | 体育 | 财经 | 娱乐 | 科技\n版权所有 © 2021 新华网 京ICP备12345678号"
    nav = tmp_path / "nav.jsonl"
    nav.write_text(json.dumps({"id": "nav", "text": navigation}, ensure_ascii=False) + "\n")
    output = tmp_path / "out"
    assert main(["run", str(sample), str(nav), "-o", str(output), "--workers", "1"]) == 0
    with gzip.open(sample / "dump.jsonl.gz") as lines:
        inputs = {record["id"]: record["text"] for record in map(json.loads, lines)}
    removed = read_parts(output / "removed")
    assert {r["removed_by"] for r in removed} >= {"boilerplate", "language", "fine_decision"}
    assert [r["text"] for r in removed if r["reason"] == "empty"] == [navigation]
    for record in removed:
        assert record["text"].strip(), (record["removed_by"], record["reason"], record["id"])
        if record["id"] in inputs and record["removed_by"] in ("boilerplate", "language"):
            # before any mapper changed it: the text as read, give or take normalize
            assert len(record["text"]) >= 0.5 * len(inputs[record["id"]].strip())
    kept = {d["id"]: d for d in read_parts(output / "corpus")}
    by_step = {r["id"]: r["removed_by"] for r in removed}
    for name in ("ccnet-clean-1", "ccnet-clean-7", "ccnet-clean-9"):
        assert by_step.get(name) != "quality_classifier"
        if name in kept:
            assert kept[name]["text"].strip()
    report = json.loads((output / "report.json").read_text())
    for examples in report["removed_examples"].values():
        assert all(example["text"].strip() for example in examples)
