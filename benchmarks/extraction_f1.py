"""Main-text extraction quality and speed against human-marked gold text.

Character-level F1 on the magic-html Chinese article pages: bag-of-characters overlap with
whitespace ignored, precision = |common| / |extracted|, recall = |common| / |gold|. The pages
are split by sorted file name: even indices were used to tune MDFS's weights ("tune"), odd
ones never were ("held"). Report both; only "held" says how it does on unseen sites.

    python benchmarks/extraction_f1.py [--data DIR] [--show N] [--eyeball]

``--eyeball`` also prints the first lines MDFS extracts from the GeneralNewsExtractor article
and list pages (no gold there), to read by eye.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import trafilatura
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from mdfs.collect.extract import extract_main_text

DATA = Path("/work/shared/data/web")
Extractor = Callable[[str, str], str]

EXTRACTORS: dict[str, Extractor] = {
    "trafilatura": lambda html, url: trafilatura.extract(html, url=url) or "",
    "resiliparse": lambda html, url: extract_plain_text(HTMLTree.parse(html), main_content=True),
    "mdfs": lambda html, url: extract_main_text(html, url),
}


def char_f1(extracted: str, gold: str) -> float:
    got = Counter(c for c in extracted if not c.isspace())
    want = Counter(c for c in gold if not c.isspace())
    common = sum((got & want).values())
    if common == 0:
        return 0.0
    precision = common / sum(got.values())
    recall = common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def load_gold(article_dir: Path) -> list[tuple[str, str, str, str]]:
    """(name, url, html, gold text), sorted by file name.

    gold.json is keyed by the file name without ``.html`` (a sha256 of the original download,
    not of the stored file).
    """
    gold = json.loads((article_dir / "gold.json").read_text(encoding="utf-8"))
    pages = []
    for path in sorted((article_dir / "htmls").glob("*.html")):
        entry = gold[path.stem]
        html = path.read_text(encoding="utf-8")
        pages.append((path.stem, entry["url"], html, entry["content"]))
    return pages


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def run(pages: list[tuple[str, str, str, str]]) -> None:
    scores: dict[str, list[float]] = {name: [] for name in EXTRACTORS}
    seconds: dict[str, float] = dict.fromkeys(EXTRACTORS, 0.0)
    print(f"{'split':5} {'page':8} {'site':32} " + " ".join(f"{n:>11}" for n in EXTRACTORS))
    for i, (stem, url, html, gold) in enumerate(pages):
        row = []
        for name, extract in EXTRACTORS.items():
            start = time.perf_counter()
            text = extract(html, url)
            seconds[name] += time.perf_counter() - start
            scores[name].append(char_f1(text, gold))
            row.append(f"{scores[name][-1]:11.3f}")
        split = "tune" if i % 2 == 0 else "held"
        site = url.split("//", 1)[-1][:32]
        print(f"{split:5} {stem[:8]:8} {site:32} " + " ".join(row))
    print()
    print(f"{'extractor':12} {'tune':>6} {'held':>6} {'all':>6} {'ms/page':>8}")
    for name, values in scores.items():
        ms = 1000 * seconds[name] / len(pages)
        print(
            f"{name:12} {mean(values[0::2]):6.3f} {mean(values[1::2]):6.3f} "
            f"{mean(values):6.3f} {ms:8.1f}"
        )
    print(f"time ratio mdfs / resiliparse: {seconds['mdfs'] / seconds['resiliparse']:.2f}")


def eyeball(news_dir: Path, show: int) -> None:
    for path in sorted(news_dir.rglob("*.html")):
        html = path.read_bytes().decode("utf-8", errors="replace")
        text = extract_main_text(html)
        lines = text.splitlines()
        print(f"== {path.relative_to(news_dir)}: {len(text)} chars, {len(lines)} lines")
        for line in lines[:show]:
            print("   ", line[:100])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared web data folder")
    parser.add_argument("--eyeball", action="store_true", help="print news-page extractions")
    parser.add_argument("--show", type=int, default=3, help="lines per page with --eyeball")
    args = parser.parse_args()
    pages = load_gold(args.data / "main_text" / "article")
    for _, url, html, _ in pages[:2]:  # warm up imports and caches before timing
        for extract in EXTRACTORS.values():
            extract(html, url)
    run(pages)
    if args.eyeball:
        eyeball(args.data / "news_pages", args.show)


if __name__ == "__main__":
    main()
