"""Fine filter quality: each signal alone and the combination, per class.

    python benchmarks/fine_filter_quality.py --dev benchmarks/data/fine_dev/labels.jsonl
        [--no-built] [--combiner FILE]

Two sets, reported apart:
- the hand-labelled dev set (`--dev`, fields id, kind, source, label, text): held out,
  never trained or tuned on;
- the built split: the 30 % of the combiner's training documents it chose its threshold on
  (`mdfs train-combiner`), i.e. data it was tuned on.

Every item goes through the default fine stage's scoring steps (BERT with `decide: false`,
which cuts junk segments, then fluency, lexical and URL signals). A signal alone is its own
step with `remove: true` and its shipped thresholds (BERT alone: its shipped 0.5 / 0.5
thresholds); a removal counts as the class its reason names (`advertisement...` -> ad,
anything else -> low), a kept item as high. Then, as the issue checks `mdfs run`: of the
kept documents, the share that is good text; of the good documents, the share kept.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from mdfs.document import Document
from mdfs.fine import LABELS
from mdfs.fine.combiner import DEFAULT_SIGNALS_COMBINER, FineDecision
from mdfs.fine.combiner_training import (
    in_fit_part,
    per_class_report,
    read_reserved_sources,
    score_signals,
    signal_steps,
    training_documents,
)
from mdfs.fine.fluency import Fluency
from mdfs.fine.lexical import LexicalSignals
from mdfs.fine.url_signals import UrlSignals
from mdfs.shared import shared_folder


def label_of(verdict: bool | str) -> str:
    if verdict is True:
        return "high"
    return "ad" if str(verdict).startswith("advertisement") else "low"


def bert_alone(document: Document) -> bool | str:
    label = document.meta.get("quality", {}).get("label", "high")
    return True if label == "high" else ("advertisement" if label == "ad" else "low_quality")


def deciders(combiner: str | None, texts: list[str]) -> dict[str, Callable[[Document], bool | str]]:
    steps = {
        "fluency": Fluency(remove=True),
        "lexical": LexicalSignals(remove=True),
        "url": UrlSignals(remove=True),
        "combiner": FineDecision(model=combiner),
    }
    for step in steps.values():
        step.ensure_setup()

    def default_recipe(document: Document) -> bool | str:
        """As the default recipe decides: the lexical and URL signals remove on their own,
        reading the text as it entered the fine stage; the combiner decides the rest."""
        entering = Document(document.id, texts[int(document.id)], "bench", document.url)
        for gate in (steps["lexical"], steps["url"]):
            verdict = gate.keep(entering)
            if verdict is not True:
                return verdict
        return steps["combiner"].keep(document)

    alone = {name: step.keep for name, step in steps.items()}
    return {"bert": bert_alone, **alone, "default": default_recipe}


def report(
    title: str,
    items: list[dict],
    texts: list[str],
    urls: list[str | None],
    combiner: str | None,
) -> None:
    documents = scored(texts, urls, bert=True)
    cheap = scored(texts, urls, bert=False)
    print(f"\n== {title}: {len(items)} items " + " ".join(
        f"{c}={sum(i['label'] == c for i in items)}" for c in LABELS))  # fmt: skip
    gold = [item["label"] for item in items]
    is_document = [item.get("kind", "document") == "document" for item in items]
    header = f"{'signal':<10}" + "".join(f"{c + ' P/R/F1':>20}" for c in LABELS)
    print(header + f"{'macro-F1':>10}{'kept good':>11}{'good kept':>11}")
    rows = [(name, decide, documents) for name, decide in deciders(combiner, texts).items()]
    # documents without classifier scores: the combiner fitted without them, beside `combiner`
    signals_only = (
        str(Path(combiner).with_name(DEFAULT_SIGNALS_COMBINER.name)) if combiner else None
    )
    without_bert = FineDecision(model=signals_only)
    without_bert.ensure_setup()
    rows.append(("no BERT", without_bert.keep, cheap))
    for name, decide, docs in rows:
        predicted = [label_of(decide(d)) for d in docs]
        figures = per_class_report(gold, predicted)
        row = f"{name:<10}"
        for c in LABELS:
            f = figures[c]
            row += f"{f['precision']:>8.2f}/{f['recall']:.2f}/{f['f1']:.2f}"
        kept = [
            g for g, p, doc in zip(gold, predicted, is_document, strict=True) if p == "high" and doc
        ]
        good = [
            p for g, p, doc in zip(gold, predicted, is_document, strict=True) if g == "high" and doc
        ]
        kept_good = sum(g == "high" for g in kept) / max(1, len(kept))
        good_kept = sum(p == "high" for p in good) / max(1, len(good))
        print(row + f"{figures['macro']['f1']:>10.3f}{kept_good:>11.2f}{good_kept:>11.2f}")
    print("kept good / good kept: documents only, as `mdfs run` keeps or removes them;")
    print("no BERT: the combiner fitted without the classifier, on the cheap signals alone")


def scored(texts: list[str], urls: list[str | None], bert: bool) -> list[Document]:
    """The documents after the fine stage's scoring steps (with BERT: after its cuts)."""
    pairs = zip(texts, urls, strict=True)
    documents = [Document(str(i), t, "bench", u) for i, (t, u) in enumerate(pairs)]
    return score_signals(documents, signal_steps(bert=bert))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", help="hand-labelled labels.jsonl (held out)")
    parser.add_argument("--no-built", action="store_true", help="skip the built split")
    parser.add_argument("--combiner", help="combiner JSON (default: the shipped one)")
    parser.add_argument("--data-dir", default=str(shared_folder() / "data"))
    args = parser.parse_args()
    if args.dev:
        items = [
            json.loads(line)
            for line in Path(args.dev).read_text("utf-8").splitlines()
            if line.strip()
        ]
        texts, urls = [i["text"] for i in items], [i.get("url") for i in items]
        report("hand-labelled dev set (held out)", items, texts, urls, args.combiner)
        # the check is made of web documents; the dev set's SMS rows are not
        web = [i for i in items if i["kind"] == "document" and not i["source"].startswith("spam/")]
        texts, urls = [i["text"] for i in web], [i.get("url") for i in web]
        report("its web documents (Common Crawl and pages)", web, texts, urls, args.combiner)
    if not args.no_built:
        reserved = read_reserved_sources(
            Path(__file__).parent / "data" / "fine_dev" / "sources.txt"
        )
        built = [
            d
            for d in training_documents(Path(args.data_dir), reserved, leave_out=frozenset())
            if not in_fit_part(d.group)
        ]
        items = [{"label": d.label, "kind": "document"} for d in built]
        texts, urls = [d.text for d in built], [d.url for d in built]
        title = "built split the combiner's threshold was chosen on (tuned on; with the rewritten junk it never saw)"
        report(title, items, texts, urls, args.combiner)


if __name__ == "__main__":
    main()
