"""Assembling the labelled set (high / low / ad) from the real data in ../shared/data.

Every example is a *segment* as `segments.split_segments` cuts it, because that is what the
classifier scores at run time; texts go through the coarse stage's `normalize` first for the
same reason. Where a class has no natural examples of the length and shape the web shows
(walls of concatenated headlines, gambling SEO, garbled text), they are assembled from real
pieces: anchor texts of real pages, real lexicon entries, real prose scrambled.

The train/dev split is by group: all segments of one page, article or paragraph share a
group, and MinHash near-duplicates (SMS templates differ by a masked digit) are joined into
one group, so no near-duplicate straddles the split.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mdfs.errors import UserError
from mdfs.fine import LABELS
from mdfs.fine.segments import segment_texts

log = logging.getLogger(__name__)

_POS_TAG = re.compile(r"/[A-Za-z]+\s*")
_ANCHOR_SPACE = re.compile(r"\s+")
_SHINGLE = 3


@dataclass
class Example:
    text: str
    label: str
    source: str  # which recipe produced it, for the documented counts
    group: str  # examples of one group always fall on the same side of the split


class _Builder:
    def __init__(self, data: Path, seed: int) -> None:
        self.data = data
        self.rng = random.Random(seed)
        self.examples: list[Example] = []
        from mdfs.coarse.normalize import Normalize

        self._normalize = Normalize()
        self._normalize.setup()

    def norm(self, text: str) -> str:
        return self._normalize.normalize(text)

    def add(self, text: str, label: str, source: str, group: str) -> None:
        text = self.norm(text).strip()
        if len(text) >= 4:
            self.examples.append(Example(text, label, source, group))

    def add_segments(
        self, text: str, label: str, source: str, group: str, max_chars: int | None = None
    ) -> None:
        # varied segment sizes: the run-time segmenter gives short tails and full windows
        size = max_chars or self.rng.choice((96, 128, 192, 256, 256, 256))
        for piece in segment_texts(self.norm(text), max_chars=size, min_chars=40):
            self.add(piece, label, source, group)

    def take(self, items: list, n: int) -> list:
        items = list(items)
        self.rng.shuffle(items)
        return items[:n]


# -- sources ---------------------------------------------------------------------------------


def _wikipedia(data: Path) -> list[tuple[str, str]]:
    paragraphs: dict[str, str] = {}
    for path in sorted((data / "text" / "cmrc2018_wikipedia").glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                paragraphs.setdefault(paragraph["context"], article.get("title") or path.name)
    return [(text, title) for text, title in paragraphs.items()]


def _peoples_daily(data: Path) -> list[list[str]]:
    """Sentences of People's Daily grouped into pseudo-articles of 2-12 consecutive lines."""
    path = data / "text" / "peoples_daily_199801_pos_tagged.txt"
    lines = []
    with path.open(encoding="utf-8") as stream:
        for raw in stream:
            text = _POS_TAG.sub("", raw).replace(" ", "").strip()
            if text:
                lines.append(text)
    rng = random.Random(1998)
    articles, i = [], 0
    while i < len(lines):
        n = rng.randint(2, 12)
        articles.append(lines[i : i + n])
        i += n
    return articles


_MASKED_DIGITS = re.compile(r"(?<![A-Za-z])x+(?![A-Za-z])")


def _unmask_digits(text: str, rng: random.Random) -> str:
    """The SMS set masks every digit as "x"; put digits back, as web text has them.

    Left masked, "x" would mark nine in ten advertisements and no other text, and the
    model would learn the mask instead of the advertising.
    """
    return _MASKED_DIGITS.sub(
        lambda m: rng.choice("123456789") + "".join(rng.choices("0123456789", k=len(m[0]) - 1)),
        text,
    )


def _sms(data: Path) -> tuple[list[str], list[str]]:
    """(advertisements, short fragments), unique, in file order, digits unmasked."""
    rng = random.Random(2015)
    ads: dict[str, None] = {}
    fragments: dict[str, None] = {}
    for path in sorted((data / "spam").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as stream:
            for row in csv.DictReader(stream):
                text = (row.get("content") or "").strip()
                if not text:
                    continue
                (ads if row.get("label") == "1" else fragments).setdefault(text, None)
    return [_unmask_digits(t, rng) for t in ads], [_unmask_digits(t, rng) for t in fragments]


def _page_lines(html: str) -> list[str]:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    text = extract_plain_text(HTMLTree.parse(html), main_content=False, alt_texts=False)
    return [line.strip() for line in text.split("\n") if line.strip()]


def _anchors(html: str) -> tuple[list[str], list[str]]:
    """(anchor texts of headline length, absolute link targets) of a page."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(html)
    except Exception:  # an unparsable page simply gives no anchors
        return [], []
    texts, urls = [], []
    for a in tree.iter("a"):
        text = _ANCHOR_SPACE.sub("", a.text_content() or "")
        if 6 <= len(text) <= 40:
            texts.append(text)
        href = a.get("href") or ""
        if href.startswith(("http://", "https://")) and len(href) < 150:
            urls.append(href)
    return texts, urls


# Pinyin syllables for the disguised-copy garble; which one follows which character does not
# matter to a reader of the result, only that the text is riddled with them.
_SYLLABLES = (
    "de", "shi", "yi", "bu", "you", "zhe", "ge", "ren", "zai", "ta", "men", "lai", "dao",
    "shang", "da", "wei", "guo", "zhong", "nian", "sheng", "xue", "jia", "hui", "zhu",
    "gong", "jie", "di", "er", "san", "si", "bei", "qi", "fang", "xin", "ji", "yan", "tai",
    "zhou", "liang", "ti", "chang",
)  # fmt: skip


def _code_snippets(rng: random.Random, n: int) -> list[str]:
    """Windows of 5-40 lines of real code: the Python standard library of this interpreter."""
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(
        path
        for path in stdlib.rglob("*.py")
        if not {"test", "tests", "site-packages"} & set(path.relative_to(stdlib).parts)
        and path.stat().st_size > 4000
    )
    snippets = []
    for _ in range(n if files else 0):
        lines = rng.choice(files).read_text(encoding="utf-8", errors="replace").split("\n")
        start = rng.randrange(max(1, len(lines) - 40))
        snippet = "\n".join(lines[start : start + rng.randint(5, 40)]).strip()
        if len(snippet) >= 40:
            snippets.append(snippet)
    return snippets


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pages(data: Path) -> Iterator[tuple[str, str, str]]:
    """(page id, html, main text) for pages with gold main text, then news pages (extracted)."""
    from mdfs.collect.encoding import decode_html
    from mdfs.collect.extract import extract_main_text

    root = data / "web" / "main_text" / "article"
    gold = json.loads((root / "gold.json").read_text(encoding="utf-8"))
    for sha, record in sorted(gold.items()):
        path = root / "htmls" / f"{sha}.html"
        if path.is_file():
            yield f"gold:{sha[:12]}", decode_html(path.read_bytes(), None), record["content"]
    for path in sorted((data / "web" / "news_pages" / "article_pages").rglob("*.html")):
        html = decode_html(path.read_bytes(), None)
        yield f"news:{path.parent.name}/{path.name}", html, extract_main_text(html)


def _gold_article(html: str, gold: str) -> str:
    """The page's article as the run-time extractor gives it: its lines that are gold text.

    The gold text breaks lines around every inline link and loses captions' and headings'
    line breaks; the extractor's lines keep the shape an article has when it reaches the
    classifier (headings, captions and list items as short lines of their own), and
    recover ~97 % of the gold characters.
    """
    from mdfs.collect.extract import extract_main_text

    squashed = _squash(gold)
    lines = [line.strip() for line in extract_main_text(html).split("\n")]
    return "\n".join(line for line in lines if line and _squash(line) in squashed)


# -- assembly ---------------------------------------------------------------------------------


def build_examples(data: Path, seed: int = 13) -> list[Example]:
    if not (data / "text").is_dir() or not (data / "spam").is_dir():
        raise UserError(f"{data} does not look like ../shared/data (no text/ or spam/ folder)")
    b = _Builder(data, seed)
    rng = b.rng

    # high: Wikipedia, People's Daily, main text of real pages
    wiki = _wikipedia(data)
    for text, title in wiki:
        b.add_segments(text, "high", "wikipedia", f"wiki:{title}")
    articles = _peoples_daily(data)
    for index, article in enumerate(b.take(articles, 1600)):
        b.add_segments("\n".join(article), "high", "peoples_daily", f"pd:{index}")

    anchors: list[str] = []
    urls: list[str] = []
    all_lines: list[tuple[str, str]] = []
    for page_id, html, main in _pages(data):
        page_anchors, page_urls = _anchors(html)
        anchors.extend(page_anchors)
        urls.extend(page_urls)
        main_squashed = _squash(main)
        if page_id.startswith("gold:"):
            main = _gold_article(html, main)
        if len(_squash(main)) >= 150:
            b.add_segments(main, "high", "page_main_text", page_id)
        # low: everything on the page that is not its main text (menus, footers, lists)
        rest = [
            line
            for line in _page_lines(html)
            if _squash(line) and _squash(line) not in main_squashed
        ]
        all_lines.extend((page_id, line) for line in rest)
        if rest:
            b.add_segments("\n".join(rest), "low", "page_boilerplate", page_id)
        if len(page_anchors) >= 5:
            picked = rng.sample(page_anchors, min(len(page_anchors), 60))
            b.add_segments("\n".join(picked), "low", "link_list", page_id)
    for path in sorted((data / "web" / "news_pages" / "list_pages").rglob("*.html")):
        from mdfs.collect.encoding import decode_html

        html = decode_html(path.read_bytes(), None)
        b.add_segments("\n".join(_page_lines(html)), "low", "list_page", f"list:{path}")

    prose = [t for t, _ in wiki] + ["".join(a) for a in articles[:3000]]
    # high: articles end with their sources; a reference list after prose is still the article
    for index, text in enumerate(b.take(prose, 500)):
        lines = [
            text[-rng.randint(60, 200) :],
            rng.choice(("参考资料：", "参考文献", "来源：", "")),
        ]
        for url in rng.sample(urls, rng.randint(1, 5)):
            # pages flattened to text often lose the slashes of their links (see seed page)
            lines.append(url.replace("/", "") if rng.random() < 0.3 else url)
        b.add_segments("\n".join(lines), "high", "article_references", f"refs:{index}", 256)

    # low: walls of concatenated headlines and teasers (the tail of content-farm pages)
    for index in range(1500):
        parts = []
        for _ in range(rng.randint(3, 12)):
            headline = rng.choice(anchors)
            if rng.random() < 0.5:
                teaser = rng.choice(prose)
                cut = rng.randint(0, max(0, len(teaser) - 80))
                headline += teaser[cut : cut + rng.randint(15, 80)] + rng.choice(("……", "…", ""))
            parts.append(headline)
        glue = rng.choice(("", "", " ", "\n"))
        b.add_segments(glue.join(parts), "low", "headline_wall", f"wall:{index}")

    # low: gambling / SEO junk from real lexicon entries and blocked domains
    lexicon = data / "lexicon"
    domains = (lexicon / "konsheng" / "illegal_domains.txt").read_text(encoding="utf-8").split()
    junk_words = [
        line.split("\t")[1]
        for line in (lexicon / "sensitive_words_by_category.tsv").read_text("utf-8").splitlines()
        if "\t" in line and line.split("\t")[0] in ("赌博", "色情", "其他")
    ]
    ad_words = (lexicon / "konsheng" / "advertising.txt").read_text(encoding="utf-8").split()
    for index in range(700):
        parts = []
        for _ in range(rng.randint(4, 20)):
            roll = rng.random()
            if roll < 0.35:
                parts.append(rng.choice(junk_words))
            elif roll < 0.55:
                parts.append(rng.choice(domains))
            elif roll < 0.75:
                parts.append(rng.choice(ad_words))
            else:
                parts.append(rng.choice(anchors))
        glue = rng.choice(("", " ", "-", "|", "_", "，", "\n"))
        b.add_segments(glue.join(parts), "low", "seo_junk", f"seo:{index}")

    # low: short fragments, alone and as runs of unrelated ones
    ads, fragments = _sms(data)
    for text in b.take(fragments, 1500):
        b.add(text, "low", "short_fragment", f"frag:{text}")
    for index in range(500):
        run = rng.sample(fragments, rng.randint(3, 10))
        b.add_segments("\n".join(run), "low", "fragment_run", f"fragrun:{index}")

    # low: machine-garbled text: mojibake, shuffled characters, word salad
    for index, text in enumerate(b.take(prose, 1200)):
        text = text[: rng.randint(60, 256)]
        kind = index % 4
        if kind == 0:
            codec = rng.choice(("gbk", "latin-1", "big5", "shift_jis"))
            garbled = text.encode("utf-8").decode(codec, errors="replace")
        elif kind == 1:
            chars = list(text)
            rng.shuffle(chars)
            garbled = "".join(chars)
        elif kind == 2:
            # content farms disguise copied text from duplicate detectors: 烟(yan)台市(shi)
            garbled = "".join(
                ch + (f"({rng.choice(_SYLLABLES)})" if rng.random() < 0.3 else "") for ch in text
            )
        else:
            words = [w for a in rng.sample(articles, 5) for w in "".join(a).split("，")]
            garbled = "".join(rng.sample(words, min(len(words), 6)))[:256]
            chars = list(garbled)
            for _ in range(len(chars) // 4):  # drop and swap characters like a broken OCR
                i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
                chars[i], chars[j] = chars[j], chars[i]
            garbled = "".join(chars)
        b.add_segments(garbled, "low", "garbled", f"garbled:{index}")

    # low: source code, as crawled pages of snippets and repositories show it
    for index, snippet in enumerate(_code_snippets(rng, 500)):
        b.add_segments(snippet, "low", "code", f"code:{index}")

    # ad: SMS advertisements, alone and as blocks; advertising lines of pages
    for text in b.take(ads, 3600):
        b.add(text, "ad", "sms_ad", f"ad:{text}")
    for index in range(900):
        block = rng.sample(ads, rng.randint(2, 5))
        b.add_segments(rng.choice(("\n", "", " ")).join(block), "ad", "ad_block", f"adb:{index}")
    ad_set = set(ad_words)
    for page_id, line in all_lines:
        hits = sum(1 for word in ad_set if word in line)
        if hits >= 2 and len(line) >= 12:
            b.add(line, "ad", "page_ad_line", page_id)

    return _dedup(b.examples)


def _dedup(examples: list[Example]) -> list[Example]:
    seen: set[str] = set()
    unique = []
    for example in examples:
        key = re.sub(r"[\W\dx]+", "", example.text.lower())
        if key and key not in seen:
            seen.add(key)
            unique.append(example)
    return unique


def _shingles(text: str) -> set[bytes]:
    squashed = re.sub(r"[\W\dx]+", "", text.lower()) or text
    return {squashed[i : i + _SHINGLE].encode() for i in range(max(1, len(squashed) - 2))}


def assign_split(examples: list[Example], dev_fraction: float = 0.1) -> list[str]:
    """'train' or 'dev' per example; near-duplicates (MinHash Jaccard ≳ 0.5) share a side."""
    from datasketch import MinHash, MinHashLSH

    parent = list(range(len(examples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    by_group: dict[str, int] = {}
    for i, example in enumerate(examples):
        if example.group in by_group:
            union(i, by_group[example.group])
        else:
            by_group[example.group] = i
    lsh = MinHashLSH(threshold=0.5, num_perm=64)
    for i, example in enumerate(examples):
        signature = MinHash(num_perm=64, seed=7)
        signature.update_batch(list(_shingles(example.text)))
        for j in lsh.query(signature):
            union(i, j)
        lsh.insert(i, signature)
    sides = []
    for i in range(len(examples)):
        root = examples[find(i)].group
        digest = int(hashlib.sha1(root.encode()).hexdigest()[:8], 16)
        sides.append("dev" if digest % 1000 < dev_fraction * 1000 else "train")
    return sides


def write_labelled_set(data: Path, output: Path, seed: int = 13) -> Counter[tuple[str, str]]:
    """Write {"text", "label", "split", "source"} lines; return counts per (split, label)."""
    examples = build_examples(data, seed)
    sides = assign_split(examples)
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    counts: Counter[tuple[str, str]] = Counter()
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as stream:
        for i in order:
            example = examples[i]
            record = {
                "text": example.text,
                "label": example.label,
                "split": sides[i],
                "source": example.source,
            }
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            counts[(sides[i], example.label)] += 1
            counts[("source", f"{example.label}/{example.source}")] += 1
    return counts


def read_labelled(path: Path) -> list[dict]:
    """Lines {"text", "label"[, "split"]}; a wrong line is the user's mistake, named by number."""
    if not path.is_file():
        raise UserError(f"labelled data {path} does not exist")
    records = []
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise UserError(f"{path}:{number}: not JSON ({error.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise UserError(f"{path}:{number}: no string field 'text'")
            if record.get("label") not in LABELS:
                raise UserError(
                    f"{path}:{number}: label {record.get('label')!r} is not one of {list(LABELS)}"
                )
            records.append(record)
    if not records:
        raise UserError(f"labelled data {path} is empty")
    return records
