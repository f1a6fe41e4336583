"""Cut the dev set's texts from the shared data and write labels.jsonl.

The labels are judgements made by reading each text under GUIDELINES.md; they live in
``LABELS`` below, one row per item: ``source#locator | label | note``. This script only cuts
the text each row names, so the file can be rebuilt and checked against its sources.

Locators:
  record N            the text of line N (0-based) of a JSON-lines file   -> document
  record N lines A-B  lines A..B (1-based) of that text                   -> segment
  row N               the content of data row N (0-based) of a csv        -> document
  main text           the page's main text (mdfs.collect.extract)         -> document
  whole page          the page as plain text (resiliparse, main_content=False), as a WET
                      record gives it                                     -> document
  lines A-B           lines A..B (1-based) of that whole-page text        -> segment
  line A chars X-Y    characters X..Y (0-based, end excluded) of line A   -> segment

    PYTHONPATH=src python benchmarks/data/fine_dev/build_labels.py [SHARED_DATA]
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path

from resiliparse.extract.html2text import extract_plain_text

from mdfs.collect.extract import extract_main_text

HERE = Path(__file__).resolve().parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[3] / "shared" / "data"

LABELS = """
# ChineseWebText Common Crawl documents: labelled by reading; "dirty"/"clean" is their file
web/ccnet_labelled/clean.jsonl#record 0 | high | encyclopedic history narrative
web/ccnet_labelled/clean.jsonl#record 1 | high | actor biography; a role table at the end is a small part
web/ccnet_labelled/clean.jsonl#record 2 | high | short but complete encyclopedia entry
web/ccnet_labelled/clean.jsonl#record 3 | low | disambiguation list of namesakes, no prose (file says clean)
web/ccnet_labelled/clean.jsonl#record 4 | high | teacher biography, coherent
web/ccnet_labelled/clean.jsonl#record 5 | high | military explainer, coherent
web/ccnet_labelled/clean.jsonl#record 6 | high | management term definition with numbered points
web/ccnet_labelled/clean.jsonl#record 7 | high | encyclopedic product description; promotional tone but no offer or contact
web/ccnet_labelled/clean.jsonl#record 8 | high | short novel synopsis, complete
web/ccnet_labelled/clean.jsonl#record 9 | high | referee biography; match table at the end is about a sixth
web/ccnet_labelled/dirty.jsonl#record 0 | low | headline wall, training-school slogans and clipped notes on a gambling-titled page
web/ccnet_labelled/dirty.jsonl#record 1 | high | real discipline-inspection article, coherent (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 2 | high | Linux driver tutorial, starts mid-sentence; title on its spam domain does not match, the text itself is sound (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 3 | high | award announcement of a research project, coherent (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 4 | low | blog sidebar: profile, counters, clipped teasers
web/ccnet_labelled/dirty.jsonl#record 5 | high | opinion essay, coherent (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 6 | low | idiom glosses without their headwords, a URL and a chain list
web/ccnet_labelled/dirty.jsonl#record 7 | low | school news with pinyin injected after characters (obfuscated copy on a clinic station-group page)
web/ccnet_labelled/dirty.jsonl#record 8 | high | fluent web-novel excerpt; filler on a software page, but the text itself reads well (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 9 | low | category counts and author-name list
# SMS set: the csv label is a hint only
spam/test.csv#row 24331 | high | complete news flash
spam/test.csv#row 7740 | high | complete news flash
spam/test.csv#row 13683 | high | complete news flash
spam/test.csv#row 33686 | high | complete incident report
spam/test.csv#row 29860 | high | complete news sentence
spam/test.csv#row 36581 | high | complete news sentence
spam/test.csv#row 15041 | high | complete news sentence
spam/test.csv#row 18313 | high | complete news flash
spam/test.csv#row 1686 | high | complete news flash
spam/test.csv#row 437 | low | personal chatter
spam/test.csv#row 1566 | low | personal chatter with emoticons
spam/test.csv#row 1998 | low | personal chatter
spam/test.csv#row 5724 | low | personal chatter
spam/test.csv#row 6724 | low | personal venting
spam/test.csv#row 7374 | low | personal venting
spam/test.csv#row 13083 | low | personal message
spam/test.csv#row 14630 | low | personal chatter
spam/test.csv#row 15832 | low | personal complaint
spam/test.csv#row 17214 | low | personal chatter
spam/test.csv#row 21132 | low | personal message
spam/test.csv#row 27735 | low | personal chatter
spam/test.csv#row 2143 | low | clause fragment, no main verb
spam/test.csv#row 1868 | low | clause fragment
spam/test.csv#row 8851 | low | clause fragment
spam/test.csv#row 7606 | low | address fragment
spam/test.csv#row 37762 | low | garbled token string
spam/test.csv#row 3752 | low | personal bank-card note, no offer (csv says ad)
spam/test.csv#row 23009 | low | propaganda plea, not commercial (csv says ad)
spam/test.csv#row 2401 | low | masked number and a name only (csv says ad)
spam/test.csv#row 241 | ad | loan offer with hotline
spam/test.csv#row 565 | ad | supermarket discount
spam/test.csv#row 3014 | ad | insurance renewal offer
spam/test.csv#row 8633 | ad | property sale offer
spam/test.csv#row 10981 | ad | car service offer with booking line
spam/test.csv#row 23182 | ad | housekeeping service with address and phone
spam/test.csv#row 24963 | ad | floor-heating offer with phone and address
spam/test.csv#row 32860 | ad | door factory, dealers wanted, phone
spam/test.csv#row 34553 | ad | exam-prep school with teacher's phone
spam/test.csv#row 30098 | ad | lottery tip (gambling promotion)
spam/test.csv#row 2038 | ad | loan offer with phone, QQ and WeChat
spam/test.csv#row 2582 | ad | flat for sale, call
spam/test.csv#row 7213 | ad | machinery maker, call the manager
spam/test.csv#row 17838 | ad | wealth-management product, call me
spam/test.csv#row 26617 | ad | recruitment offer with pay
spam/test.csv#row 17609 | ad | sex service with prices (csv says ad)
spam/test.csv#row 23867 | ad | property investment with phone number (csv says not ad)
spam/test.csv#row 28190 | ad | promotion copy listing products on sale (csv says not ad)
# sina/1.html: news article page
web/news_pages/article_pages/sina/1.html#main text | high | news article
web/news_pages/article_pages/sina/1.html#whole page | low | article under navigation, login box, comments and headline lists: most of the text is boilerplate
web/news_pages/article_pages/sina/1.html#lines 67-79 | high | article body
web/news_pages/article_pages/sina/1.html#lines 103-111 | high | article body
web/news_pages/article_pages/sina/1.html#lines 132-158 | low | comment bar
web/news_pages/article_pages/sina/1.html#lines 163-178 | low | recommended-headline wall
web/news_pages/article_pages/sina/1.html#lines 264-274 | low | footer
"""


@cache
def _jsonl(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


@cache
def _csv(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as rows:
        return [row["content"] for row in csv.DictReader(rows)]


@cache
def _html(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@cache
def whole_page(path: Path) -> str:
    return extract_plain_text(_html(path), main_content=False)


def _lines(text: str, first: int, last: int) -> str:
    return "\n".join(text.split("\n")[first - 1 : last])


def cut(source: str, locator: str) -> tuple[str, str]:
    """The (kind, text) a row names."""
    path = DATA / source
    if m := re.fullmatch(r"record (\d+)(?: lines (\d+)-(\d+))?", locator):
        text = _jsonl(path)[int(m[1])]
        if m[2]:
            return "segment", _lines(text, int(m[2]), int(m[3])).strip()
        return "document", text.strip()
    if m := re.fullmatch(r"row (\d+)", locator):
        return "document", _csv(path)[int(m[1])].strip()
    if locator == "main text":
        return "document", extract_main_text(_html(path)).strip()
    if locator == "whole page":
        return "document", whole_page(path).strip()
    if m := re.fullmatch(r"lines (\d+)-(\d+)", locator):
        return "segment", _lines(whole_page(path), int(m[1]), int(m[2])).strip()
    if m := re.fullmatch(r"line (\d+) chars (\d+)-(\d+)", locator):
        line = whole_page(path).split("\n")[int(m[1]) - 1]
        return "segment", line[int(m[2]) : int(m[3])].strip()
    raise ValueError(f"unknown locator {locator!r}")


# Short names for the sources in item ids: "sina-1-main", "ccnet-dirty-record-3", "sms-row-241"
_SHORT = (
    ("web/news_pages/article_pages/", ""),
    ("web/news_pages/list_pages/", ""),
    ("web/ccnet_labelled/", "ccnet-"),
    ("spam/test", "sms"),
)


def item_id(source: str, locator: str) -> str:
    stem = Path(source).with_suffix("").as_posix()
    for long, short in _SHORT:
        stem = stem.replace(long, short)
    locator = locator.replace("main text", "main").replace("whole page", "page")
    return re.sub(r"[^0-9a-z]+", "-", f"{stem}-{locator}".lower()).strip("-")


def main() -> None:
    items = []
    for row in map(str.strip, LABELS.splitlines()):
        if not row or row.startswith("# "):
            continue
        where, label, note = (part.strip() for part in (row + " |").split("|")[:3])
        source, locator = where.split("#")
        kind, text = cut(source, locator)
        if not text:
            raise ValueError(f"{where}: empty text")
        if kind == "segment" and not 40 <= len(text) <= 500:
            print(f"note: {where} is {len(text)} characters", file=sys.stderr)
        items.append(
            {"id": item_id(source, locator), "kind": kind, "source": where, "label": label,
             "text": text, "note": note}
        )  # fmt: skip
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    with (HERE / "labels.jsonl").open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    counts = Counter((item["kind"], item["label"]) for item in items)
    print(len(items), "items", dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
