"""Helpers: a fake `mdfs run` output whose documents carry the fine stage's decisions.

Texts are real: Chinese Wikipedia paragraphs (CMRC 2018) stand for `high`, SMS adverts for
`ad`, and short SMS fragments for `low`. The model's labels are mostly right and sometimes
wrong, so agreement is measurable. One document is hostile HTML.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mdfs.review.app import ReviewApp, ReviewServer, make_server
from mdfs.review.store import LabelStore, ReviewPaths, ensure_sample

CLASSES = ("high", "low", "ad")
HOSTILE_ID = "hostile-1"
HOSTILE_TEXT = (
    "这是一段恶意网页文字。<script>alert(1)</script><img src=x onerror=alert(2)>"
    '"><b>粗体</b>&amp; 结束。'
)


@dataclass
class FakeRun:
    root: Path
    truth: dict[str, str]  # id -> the class the text really is
    model: dict[str, str]  # id -> the model's label
    undecided: set[str]  # ids removed before the fine stage


def wiki_paragraphs(shared: Path) -> list[str]:
    paragraphs = []
    for file in sorted((shared / "data/text/cmrc2018_wikipedia").glob("*.json")):
        for article in json.loads(file.read_text("utf-8"))["data"]:
            paragraphs += [p["context"] for p in article["paragraphs"]]
    return paragraphs


def sms(shared: Path) -> tuple[list[str], list[str]]:
    ads, fragments, seen = [], [], set()
    with open(shared / "data/spam/sample1.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text = row["content"].strip()
            if text and text not in seen:
                seen.add(text)
                (ads if row["label"] == "1" else fragments).append(text)
    return ads, fragments


def scores_for(label: str, rng: random.Random) -> dict[str, float]:
    top = rng.uniform(0.4, 0.99)
    others = [c for c in CLASSES if c != label]
    split = rng.uniform(0, 1 - top)
    return {label: top, others[0]: split, others[1]: 1 - top - split}


def record(doc_id: str, text: str, model_label: str | None, rng: random.Random) -> dict[str, Any]:
    meta: dict[str, Any] = {"language": "zh"}
    if model_label is not None:
        meta["quality"] = {"label": model_label, "scores": scores_for(model_label, rng)}
    return {"id": doc_id, "text": text, "source": "crawl.warc.gz", "url": None, "meta": meta}


def write_shard(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for item in records:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")


def make_run(root: Path, shared: Path, per_class: int = 60, seed: int = 7) -> FakeRun:
    rng = random.Random(seed)
    wiki = wiki_paragraphs(shared)
    ads, fragments = sms(shared)
    if len(wiki) < per_class or len(ads) < per_class or len(fragments) < per_class + 20:
        pytest.skip("not enough shared data for the fake run")
    truth, model, undecided = {}, {}, set()
    corpus, removed_fine, removed_early = [], [], []
    for cls, texts in (("high", wiki), ("ad", ads), ("low", fragments)):
        for i, text in enumerate(texts[:per_class]):
            doc_id = f"{cls}-{i}"
            # One in six is misjudged by the model.
            label = cls if rng.random() > 1 / 6 else rng.choice([c for c in CLASSES if c != cls])
            truth[doc_id], model[doc_id] = cls, label
            item = record(doc_id, text, label, rng)
            if label == "high":
                corpus.append(item)
            else:
                reason = "advertisement" if label == "ad" else "low_quality"
                removed_fine.append({**item, "removed_by": "quality_classifier", "reason": reason})
    for i, text in enumerate(fragments[per_class : per_class + 20]):
        doc_id = f"early-{i}"
        undecided.add(doc_id)
        removed_early.append(
            {
                **record(doc_id, text, None, rng),
                "removed_by": "quality_rules",
                "reason": "too_short",
            }
        )
    hostile = record(HOSTILE_ID, HOSTILE_TEXT, "high", rng)
    hostile["url"] = "javascript:alert(3)"
    hostile["source"] = '"><script>alert(4)</script>'
    corpus.append(hostile)
    truth[HOSTILE_ID], model[HOSTILE_ID] = "low", "high"

    rng.shuffle(corpus)
    half = len(corpus) // 2
    write_shard(root / "corpus/part-00000.jsonl.gz", corpus[:half])
    write_shard(root / "corpus/part-00001.jsonl.gz", corpus[half:])
    write_shard(root / "removed/phase-0-part-00000.jsonl.gz", removed_early)
    write_shard(root / "removed/phase-1-part-00000.jsonl.gz", removed_fine)
    return FakeRun(root, truth, model, undecided)


def serve(run: FakeRun, fraction: float = 1.0) -> ReviewServer:
    sample, summary, _ = ensure_sample(run.root, fraction, 0, None)
    app = ReviewApp(sample, LabelStore(ReviewPaths(run.root).labels), summary, "tester")
    server = make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server
