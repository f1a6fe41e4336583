"""Write `data/lexicon/signals_ambiguous.txt`: gambling and porn words too common in clean text.

    python scripts/ambiguous_signal_words.py [--min-documents 5]

The gambling and porn rows of the lexicons (`signals.tsv`, and `sensitive.tsv`'s 赌博/色情
rows) were written for junk pages, but matched as substrings many of them also occur in
ordinary prose: 亚热 in 亚热带, 三级 in 三级历史建筑, 成人 in 成人教育, 肛门 in an anatomy
article. A handful of such hits in a Wikipedia paragraph counted as porn density, and the
fine stage removed it. A word is listed here, and not counted by `lexical_signals`, when it
occurs in at least `--min-documents` of the clean reference documents: the Chinese
Wikipedia paragraphs of CMRC 2018 and People's Daily (January 1998, 2-12 sentences a
document) from the shared data folder, 3,867 documents, the same text the labelled set and
the fluency model read (`mdfs.fine.labelled`).
Advertising words (电话, 咨询, 优惠 ...) are left alone: ordinary text uses them too, and the
advertising gate asks for a density that ordinary text does not reach.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from mdfs.coarse.keywords import default_lexicon, read_words
from mdfs.fine.labelled import Sources, _peoples_daily, _wikipedia
from mdfs.fine.lexical import SENSITIVE_CATEGORIES
from mdfs.shared import shared_folder

TARGET = Path(default_lexicon("signals_ambiguous.txt"))
CATEGORIES = {"gambling", "porn"}


def reference_documents(data: Path) -> list[str]:
    """The clean reference text the labelled set and the fluency model read: Wikipedia
    paragraphs and People's Daily pseudo-articles."""
    sources = Sources(data)
    documents = [text for text, _ in _wikipedia(sources)]
    return documents + ["".join(article) for article in _peoples_daily(sources)]


def occurs(word: str):
    """A Latin word must stand alone, as `count_hits` matches it ("av" is not in "java")."""
    if not word.isascii():
        return lambda document: word in document
    pattern = re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])")
    return lambda document: pattern.search(document) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-documents", type=int, default=5)
    args = parser.parse_args()
    words = {w for c, w in read_words(default_lexicon("signals.tsv")) if c in CATEGORIES}
    words |= {
        w for c, w in read_words(default_lexicon("sensitive.tsv")) if c in SENSITIVE_CATEGORIES
    }
    documents = [d.lower() for d in reference_documents(shared_folder() / "data")]
    counts = {w: sum(map(occurs(w), documents)) for w in sorted(words)}
    ambiguous = sorted((w for w, n in counts.items() if n >= args.min_documents), key=counts.get)
    header = [
        "# Gambling and porn words that lexical_signals does not count: each occurs in at least",
        f"# {args.min_documents} of {len(documents):,} clean reference documents (Wikipedia, People's Daily).",
        "# Written by scripts/ambiguous_signal_words.py, most frequent first.",
    ]
    lines = ambiguous[::-1]
    TARGET.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    print(f"{len(ambiguous)} of {len(words)} words written to {TARGET}")


if __name__ == "__main__":
    main()
