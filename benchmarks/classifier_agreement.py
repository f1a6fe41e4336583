"""Do the BERT scorer's faster paths decide what the plain forward pass decides?

    python benchmarks/classifier_agreement.py [--no-built]

Three paths (as in `classifier_speed.py`): plain (transformers' own forward pass), fast
(the shipped scorer: [CLS] only through the last layer) and int8 (`quantize: true`).
For each of fast and int8 against plain:
- the classifier alone: labels that differ and the largest |difference| of a class
  probability, on the hand-labelled dev set (held out; each item scored as
  `mdfs classify` scores it: its segments, then their weighted mean) and on the built set's
  dev split (the shipped BERT's own split: segments it never trained on, but its training
  run chose nothing on them either);
- the default recipe's fine-stage decisions (kept, low or ad, as `fine_filter_quality.py`
  makes them: the lexical and URL gates, then the combiner over all signals) on the
  hand-labelled dev set and on the combiner's built split (the part it chose its threshold
  on, i.e. tuned on).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from pathlib import Path

import numpy as np
from classifier_quality import DEV_LABELS, SOURCES
from classifier_speed import plain
from fine_filter_quality import deciders, label_of
from fine_stage_speed import plain_forward

from mdfs.document import Document
from mdfs.fine.bert import BertScorer
from mdfs.fine.combiner_training import (
    in_fit_part,
    read_reserved_sources,
    score_signals,
    signal_steps,
    training_documents,
)
from mdfs.fine.labelled import read_labelled, read_source_list, write_labelled_set
from mdfs.fine.scoring import DEFAULT_BERT, score_documents
from mdfs.fine.step import QualityClassifier
from mdfs.fine.training import segments_only
from mdfs.shared import shared_folder

PATHS = ("plain", "fast", "int8")


def scorers() -> dict[str, BertScorer]:
    return {
        "plain": plain(BertScorer(DEFAULT_BERT)),
        "fast": BertScorer(DEFAULT_BERT),
        "int8": BertScorer(DEFAULT_BERT, quantize=True),
    }


def compare(title: str, probabilities: dict[str, np.ndarray]) -> None:
    reference = probabilities["plain"]
    for name in PATHS[1:]:
        other = probabilities[name]
        changed = int((other.argmax(axis=1) != reference.argmax(axis=1)).sum())
        delta = float(np.abs(other - reference).max())
        print(f"{title:<48}{name:<6}{changed:>5} of {len(reference):<6}{delta:>14.2e}")


def decisions(texts: list[str], urls: list[str | None]) -> dict[str, list[str]]:
    """Each path's decisions: plain while BertScorer is patched, int8 with `quantize`."""
    verdicts = {}
    decide = deciders(None, texts)["default"]
    for name in PATHS:
        steps = [
            s.model_copy(update={"quantize": name == "int8"})
            if isinstance(s, QualityClassifier)
            else s
            for s in signal_steps(bert=True)
        ]
        documents = [
            Document(str(i), t, "bench", u)
            for i, (t, u) in enumerate(zip(texts, urls, strict=True))
        ]
        with plain_forward() if name == "plain" else contextlib.nullcontext():
            scored = score_signals(documents, steps)
        verdicts[name] = [label_of(decide(d)) for d in scored]
    return verdicts


def compare_decisions(title: str, verdicts: dict[str, list[str]]) -> None:
    for name in PATHS[1:]:
        changed = [
            f"{a}->{b}" for a, b in zip(verdicts["plain"], verdicts[name], strict=True) if a != b
        ]
        shown = f"  ({', '.join(changed)})" if changed else ""
        print(
            f"{title:<48}{name:<6}{len(changed):>5} of {len(verdicts['plain']):<6}{'':>14}{shown}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-built", action="store_true", help="only the hand-labelled set")
    args = parser.parse_args()
    data = shared_folder() / "data"
    hand = [json.loads(line) for line in DEV_LABELS.read_text("utf-8").splitlines() if line]
    texts, urls = [i["text"] for i in hand], [i.get("url") for i in hand]
    print(f"{'set (against plain)':<48}{'path':<6}{'labels changed':>14}{'max |delta p|':>14}")
    paths = scorers()
    compare(
        "hand-labelled dev set, classifier",
        {n: np.array([s.scores for s in score_documents(texts, p)]) for n, p in paths.items()},
    )
    if not args.no_built:
        with tempfile.TemporaryDirectory() as scratch:
            labelled = Path(scratch) / "labelled.jsonl"
            write_labelled_set(data, labelled, exclude_sources=read_source_list(SOURCES))
            dev = [
                r["text"] for r in segments_only(read_labelled(labelled)) if r.get("split") == "dev"
            ]
        compare(
            "built set's dev split (segments), classifier",
            {n: p.predict(dev) for n, p in paths.items()},
        )
    compare_decisions("hand-labelled dev set, default recipe", decisions(texts, urls))
    if not args.no_built:
        built = [
            d
            for d in training_documents(data, read_reserved_sources(SOURCES), leave_out=frozenset())
            if not in_fit_part(d.group)
        ]
        verdicts = decisions([d.text for d in built], [d.url for d in built])
        compare_decisions("combiner's built split, default recipe", verdicts)


if __name__ == "__main__":
    main()
