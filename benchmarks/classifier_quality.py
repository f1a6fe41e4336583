"""Quality of the fine filter: the built set's dev split, the hand-labelled dev set,
ccnet_labelled and the seed page.

    python benchmarks/classifier_quality.py [--data LABELLED.jsonl] [--model DIR]
        [--labels benchmarks/data/fine_dev/labels.jsonl] [--old-model DIR --old-fasttext BIN]

Without --data the labelled set is rebuilt from ../shared/data into a temporary file, with
the hand-labelled set's sources held out (the split is deterministic). Its dev examples are
segments, scored one by one. The hand-labelled dev set and ccnet_labelled (clean = high,
dirty = low) are scored as `mdfs classify` does, segment by segment; both are held out of
training. `--old-model`/`--old-fasttext` score an earlier pair of models beside the shipped
one. The seed page goes through `mdfs run` with the default recipe (its article and junk are
in the training set, so that figure is not held out).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import tempfile
from pathlib import Path

from mdfs.cli import main as mdfs
from mdfs.fine import LABELS
from mdfs.fine.labelled import read_labelled, read_source_list, write_labelled_set
from mdfs.fine.scoring import load_scorer, score_documents
from mdfs.fine.training import format_report, per_class_report, segments_only
from mdfs.shared import shared_folder

FINE_DEV = Path(__file__).resolve().parent / "data" / "fine_dev"
SOURCES = FINE_DEV / "sources.txt"  # held out of the built set, as the shipped models were
DEV_LABELS = FINE_DEV / "labels.jsonl"


def ccnet(data: Path) -> tuple[list[str], list[str]]:
    texts, gold = [], []
    for name, label in (("clean", "high"), ("dirty", "low")):
        for line in (data / "web" / "ccnet_labelled" / f"{name}.jsonl").open(encoding="utf-8"):
            texts.append(json.loads(line)["text"])
            gold.append(label)
    return texts, gold


def seed_page(seed: Path, work: Path) -> tuple[float, float]:
    """(% of article characters kept, % of output characters that are junk)."""
    from mdfs.coarse.normalize import Normalize

    normalize = Normalize()
    normalize.setup()
    lines = seed.read_text(encoding="utf-8").split("\n")
    # The article runs from its title (line 16) to its last reference (line 161); the
    # city list above it and the 投诉/headline wall/友情链接 block below it are junk.
    article_lines = [normalize.normalize(line) for line in lines[15:161]]
    squash = re.compile(r"\s+")
    article = squash.sub("", "".join(article_lines))
    assert mdfs(["run", str(seed), "--output", str(work)]) == 0
    with gzip.open(next((work / "corpus").glob("*.jsonl.gz")), "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    output = squash.sub("", "\n".join(texts))
    kept = junk = 0
    for line in "\n".join(texts).split("\n"):
        piece = squash.sub("", line)
        if piece and piece in article:
            kept += len(piece)
        else:
            junk += len(piece)
    return 100 * kept / len(article), 100 * junk / max(1, len(output))


def hand_labelled(path: Path) -> list[dict]:
    """The hand-labelled dev set: {id, kind, source, label, text, note} lines."""
    with path.open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="built labelled set (default: rebuilt, sources held out)")
    parser.add_argument("--model", help="BERT model dir (default: shipped)")
    parser.add_argument("--fasttext", help="fastText model (default: shipped)")
    parser.add_argument("--labels", type=Path, default=DEV_LABELS, help="hand-labelled dev set")
    parser.add_argument("--old-model", help="a second BERT model dir, scored side by side")
    parser.add_argument("--old-fasttext", help="a second fastText model, scored side by side")
    parser.add_argument("--no-seed-page", action="store_true")
    args = parser.parse_args()
    data_dir = shared_folder() / "data"
    with tempfile.TemporaryDirectory() as scratch:
        labelled = Path(args.data) if args.data else Path(scratch) / "labelled.jsonl"
        if not args.data:
            write_labelled_set(data_dir, labelled, exclude_sources=read_source_list(SOURCES))
        dev = [r for r in segments_only(read_labelled(labelled)) if r.get("split") == "dev"]
        texts, gold = ccnet(data_dir)
        hand = hand_labelled(args.labels) if args.labels.is_file() else []
        models = [
            ("bert", args.model),
            ("fasttext", args.fasttext),
            *([("bert (old)", args.old_model)] if args.old_model else []),
            *([("fasttext (old)", args.old_fasttext)] if args.old_fasttext else []),
        ]
        for name, model in models:
            scorer = load_scorer(model, name.split()[0])
            probabilities = scorer.predict([r["text"] for r in dev])
            predicted = [LABELS[i] for i in probabilities.argmax(axis=1)]
            report = per_class_report([r["label"] for r in dev], predicted)
            print(f"== {name}: built set, dev split ({len(dev)} segments)\n{format_report(report)}")
            scores = score_documents(texts, scorer)
            # ccnet labels are binary: anything not high (low or ad) counts as dirty
            binary = ["high" if s.label == "high" else "low" for s in scores]
            report = per_class_report(gold, binary)
            print(
                f"== {name}: ccnet_labelled (20 documents, clean=high, dirty=low, held out)\n"
                f"  macro-F1 over high/low {_binary_macro(report):.3f}, "
                f"accuracy {report['macro']['accuracy']:.3f}"
            )
            if hand:
                # scored as `mdfs classify` scores a document: segments, weighted mean
                scores = score_documents([r["text"] for r in hand], scorer)
                report = per_class_report([r["label"] for r in hand], [s.label for s in scores])
                print(
                    f"== {name}: hand-labelled dev set ({len(hand)} texts, held out)\n"
                    f"{format_report(report)}"
                )
        if not args.no_seed_page:
            work = Path(scratch) / "run"
            kept, junk = seed_page(shared_folder() / "samples" / "seed_page.txt", work)
            print(
                f"== seed page (mdfs run, default recipe): article kept {kept:.1f}%, junk {junk:.1f}%"
            )


def _binary_macro(report: dict[str, dict]) -> float:
    return (report["high"]["f1"] + report["low"]["f1"]) / 2


if __name__ == "__main__":
    main()
