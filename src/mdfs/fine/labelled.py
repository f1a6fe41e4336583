"""Assembling the labelled set (high / low / ad) from the real data in ../shared/data.

`mdfs build-training-set` writes one JSON line per example:

    {"text": ..., "label": "high" | "low" | "ad", "source": recipe that made it,
     "unit": "document" | "segment", "group": ..., "split": "train" | "dev"}

- `unit`: a *document* is a whole text as `mdfs run` hands it to the fine stage (an
  extracted page, an article, an ad); a *segment* is a piece of one as
  `segments.split_segments` cuts it, which is what the classifier scores at run time. Every
  document's segments are in the set too, under the same group. Texts go through the coarse
  stage's `normalize` first, as at run time.
- `group`: all examples of one page, article or generated text share a group, and MinHash
  near-duplicates (3-gram Jaccard >= 0.5) are joined into one, so the train/dev split by
  group never puts a near-duplicate on both sides.
- `source`: the recipe, e.g. `page_boilerplate` (real junk), `spun` (generated, see
  `spam.py`); `SOURCE_KINDS` says which are real text and which are generated from it.

Classes have real examples where the data has them: Wikipedia, People's Daily and the
main text of real pages are high; what extraction and the coarse stage remove from real
pages (navigation, link farms, headline walls, comment bars), list pages and the junk around
the seed page's article are low; SMS advertisements (digits restored) and ad lines of pages
are ads. Junk the data lacks is made the way spammers make it, from real text (`spam.py`).

Held-out data stays out: `exclude_sources` drops every file (or folder) listed, before any
text of it is read, and `exclude_texts` drops every example, and every raw text a generator
could draw on, that is a near-duplicate of a held-out text.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mdfs.errors import UserError
from mdfs.fine import LABELS, spam
from mdfs.fine.segments import segment_texts, split_segments

log = logging.getLogger(__name__)

_POS_TAG = re.compile(r"/[A-Za-z]+\s*")
_ANCHOR_SPACE = re.compile(r"\s+")
_SHINGLE = 3
NEAR_DUPLICATE_JACCARD = 0.5
SIDES = ("train", "dev")

# Which sources are real text as found and which are generated from real text by a trick;
# the fingerprint test compares the two.
GENERATED_SOURCES = frozenset(
    {"spun", "collage", "keyword_stuffed", "injected_links", "marketing_article"}
)


@dataclass
class Example:
    text: str
    label: str
    source: str  # which recipe produced it, for the documented counts
    group: str  # examples of one group always fall on the same side of the split
    unit: str = "segment"  # or "document"


class Sources:
    """Files of the data folder, less the held-out ones (a listed folder holds all below it)."""

    def __init__(self, data: Path, excluded: Sequence[str] = ()) -> None:
        self.data = data
        self.excluded = [(data / entry).resolve() for entry in excluded]

    def allowed(self, path: Path) -> bool:
        resolved = path.resolve()
        return not any(resolved == e or e in resolved.parents for e in self.excluded)

    def files(self, folder: str, pattern: str) -> list[Path]:
        root = self.data / folder
        found = sorted(root.rglob(pattern)) if root.is_dir() else []
        return [path for path in found if self.allowed(path)]


def read_source_list(path: Path) -> list[str]:
    """Paths relative to the data folder, one a line; `#` starts a comment."""
    if not path.is_file():
        raise UserError(f"source list {path} does not exist")
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append(entry)
    return entries


def text_records(path: Path, what: str) -> Iterator[tuple[int, dict]]:
    """(line number, record) of a JSON-lines file whose records each have a string "text";
    a wrong line is the user's mistake, named by its number."""
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist")
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
            yield number, record


def read_texts(path: Path) -> list[str]:
    """The "text" field of every JSON line of `path` (held-out texts to stay away from)."""
    return [record["text"] for _, record in text_records(path, "text file")]


class NearDuplicates:
    """Is a text a near-duplicate of one of the held-out texts (or of a segment of one)?

    Near-duplicate: 3-gram shingle Jaccard >= 0.5 with a held-out document or segment, or
    half of the smaller text's shingles inside the other (a training segment cut from a
    held-out page, a held-out paragraph inside a training page). Exact sets, not MinHash
    estimates: the held-out set is small. Candidates come from shingles that few held-out
    texts share, so a common 3-gram (的一个) never makes a pair on its own.
    """

    def __init__(self, texts: Iterable[str], normalize=None) -> None:
        self.units: list[set[bytes]] = []
        for text in texts:
            text = normalize(text) if normalize else text
            for piece in (text, *segment_texts(text)):
                shingles = _shingles(piece)
                if shingles:
                    self.units.append(shingles)
        postings: dict[bytes, list[int]] = {}
        for index, shingles in enumerate(self.units):
            for shingle in shingles:
                postings.setdefault(shingle, []).append(index)
        self.postings = {k: v for k, v in postings.items() if len(v) <= 64}

    def __bool__(self) -> bool:
        return bool(self.units)

    def matches(self, text: str) -> bool:
        shingles = _shingles(text)
        candidates: set[int] = set()
        for shingle in shingles:
            candidates.update(self.postings.get(shingle, ()))
        for index in sorted(candidates):
            unit = self.units[index]
            common = len(shingles & unit)
            if common >= NEAR_DUPLICATE_JACCARD * (len(shingles) + len(unit) - common):
                return True
            if min(len(shingles), len(unit)) >= 20 and common >= 0.5 * min(
                len(shingles), len(unit)
            ):
                return True
        return False


class _Builder:
    def __init__(self, sources: Sources, seed: int, held_out: Sequence[str] = ()) -> None:
        self.sources = sources
        self.data = sources.data
        self.rng = random.Random(seed)
        self.examples: list[Example] = []
        from mdfs.coarse.normalize import Normalize

        self._normalize = Normalize()
        self._normalize.setup()
        self.held_out = NearDuplicates(held_out, self.norm)
        self.held_out_dropped = 0

    def norm(self, text: str) -> str:
        return self._normalize.normalize(text)

    def fresh(self, texts: Iterable, key=lambda item: item) -> list:
        """The raw texts that are not near-duplicates of a held-out text."""
        texts = list(texts)
        if not self.held_out:
            return texts
        kept = [t for t in texts if not self.held_out.matches(self.norm(key(t)))]
        self.held_out_dropped += len(texts) - len(kept)
        return kept

    def add(self, text: str, label: str, source: str, group: str, unit: str = "segment") -> None:
        text = self.norm(text).strip()
        if len(text) >= 4:
            self.examples.append(Example(text, label, source, group, unit))

    def add_segments(
        self, text: str, label: str, source: str, group: str, max_chars: int | None = None
    ) -> None:
        # varied segment sizes: the run-time segmenter gives short tails and full windows
        size = max_chars or self.rng.choice((96, 128, 192, 256, 256, 256))
        for piece in segment_texts(self.norm(text), max_chars=size, min_chars=40):
            self.add(piece, label, source, group)

    def add_document(self, text: str, label: str, source: str, group: str) -> None:
        """The whole text as one document example, and its segments."""
        self.add(text, label, source, group, unit="document")
        self.add_segments(text, label, source, group)

    def take(self, items: list, n: int) -> list:
        items = list(items)
        self.rng.shuffle(items)
        return items[:n]


# -- sources ---------------------------------------------------------------------------------


def _wikipedia(sources: Sources) -> list[tuple[str, str]]:
    paragraphs: dict[str, str] = {}
    for path in sources.files("text/cmrc2018_wikipedia", "*.json"):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                paragraphs.setdefault(paragraph["context"], article.get("title") or path.name)
    return [(text, title) for text, title in paragraphs.items()]


def _peoples_daily(sources: Sources) -> list[list[str]]:
    """Sentences of People's Daily grouped into pseudo-articles of 2-12 consecutive lines."""
    path = sources.data / "text" / "peoples_daily_199801_pos_tagged.txt"
    lines: list[str] = []
    if not path.is_file() or not sources.allowed(path):
        return []
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


def _sms(sources: Sources) -> tuple[list[str], list[str]]:
    """(advertisements, short fragments), unique, in file order, digits unmasked."""
    rng = random.Random(2015)
    ads: dict[str, None] = {}
    fragments: dict[str, None] = {}
    for path in sources.files("spam", "*.csv"):
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


def _pages(sources: Sources) -> Iterator[tuple[str, str, str | None]]:
    """(page id, html, gold main text) of the pages with gold main text, then of the news
    pages (gold None)."""
    from mdfs.collect.encoding import decode_html

    root = sources.data / "web" / "main_text" / "article"
    gold_file = root / "gold.json"
    gold = json.loads(gold_file.read_text("utf-8")) if gold_file.is_file() else {}
    for sha, record in sorted(gold.items()):
        path = root / "htmls" / f"{sha}.html"
        if path.is_file() and sources.allowed(path):
            yield f"gold:{sha[:12]}", decode_html(path.read_bytes(), None), record["content"]
    for path in sources.files("web/news_pages/article_pages", "*.html"):
        yield f"news:{path.parent.name}/{path.name}", decode_html(path.read_bytes(), None), None


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

SEED_PAGE = Path("..") / "samples" / "seed_page.txt"
# The seed page's article runs from its title (line 16) to its last reference (line 161);
# the city list above it and the 投诉 / headline wall / 友情链接 block below it are junk.
_SEED_ARTICLE = (15, 161)
_SEED_TITLE = "浪潮英伟达微软为何狂炼AI大模型"

# Brand and service names in brackets, as SMS ads open (【牛津花园】): real SEO keywords.
_BRACKETED = re.compile(r"【([^】\s]{2,10})】")
_QUESTION = re.compile(r"[^。！？!?；;，,]{6,40}[？?]")


def build_examples(
    data: Path,
    seed: int = 13,
    exclude_sources: Sequence[str] = (),
    exclude_texts: Sequence[str] = (),
) -> list[Example]:
    if not (data / "text").is_dir() or not (data / "spam").is_dir():
        raise UserError(f"{data} does not look like ../shared/data (no text/ or spam/ folder)")
    b = _Builder(Sources(data, exclude_sources), seed, exclude_texts)
    wiki = b.fresh(_wikipedia(b.sources), key=lambda item: item[0])
    articles = b.fresh(_peoples_daily(b.sources), key="".join)
    ads, fragments = _sms(b.sources)
    ads, fragments = b.fresh(ads), b.fresh(fragments)
    lexicon = _Lexicon(data)

    for text, title in wiki:
        b.add_document(text, "high", "wikipedia", f"wiki:{title}")
    for index, article in enumerate(b.take(articles, 1600)):
        b.add_document("\n".join(article), "high", "peoples_daily", f"pd:{index}")
    pages = _add_pages(b)
    _add_seed_page(b)
    prose = [t for t, _ in wiki] + ["".join(a) for a in articles[:3000]] + pages.main_texts
    _add_assembled_junk(b, prose, articles, fragments, pages, lexicon)
    _add_generated_junk(b, prose, pages, ads, lexicon)
    _add_ads(b, ads, pages, lexicon)

    examples = _dedup(b.examples)
    if b.held_out:
        near = {e.group for e in examples if b.held_out.matches(e.text)}
        examples = [e for e in examples if e.group not in near]
        b.held_out_dropped += len(near)
    log.info("held out: %d raw texts and groups dropped as near-duplicates", b.held_out_dropped)
    return examples


class _Lexicon:
    """The real word lists: gambling/porn terms, blocklisted domains, advertising words."""

    def __init__(self, data: Path) -> None:
        lexicon = data / "lexicon"
        konsheng = lexicon / "konsheng"
        self.domains = _words(konsheng / "illegal_domains.txt")
        categories = lexicon / "sensitive_words_by_category.tsv"
        rows = [line.split("\t") for line in _lines(categories) if "\t" in line]
        self.gambling = [word for category, word in rows if category == "赌博"]
        self.porn = [w for w in _words(konsheng / "porn_words.txt") if len(w) >= 2]
        self.porn += [word for category, word in rows if category == "色情"]
        self.other = [word for category, word in rows if category == "其他"]
        self.advertising = _words(konsheng / "advertising.txt")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def _words(path: Path) -> list[str]:
    return list(dict.fromkeys(w.strip() for w in _lines(path) if w.strip()))


@dataclass
class _Pages:
    main_texts: list[str]  # articles of real pages, as the extractor gives them
    anchors: list[str]  # anchor texts of headline length
    urls: list[str]
    junk_lines: list[tuple[str, str]]  # (page id, line) of everything but the article


def _add_pages(b: _Builder) -> _Pages:
    """Real pages: their article is high; what extraction and the coarse stage remove from
    them (menus, link farms, headline walls, comment bars), their anchor lists and the
    list pages are low."""
    from mdfs.coarse.boilerplate import Boilerplate
    from mdfs.collect.encoding import decode_html
    from mdfs.collect.extract import extract_main_text

    boilerplate = Boilerplate()
    pages = _Pages([], [], [], [])
    for page_id, html, gold in _pages(b.sources):
        extracted = extract_main_text(html)
        if gold is not None and len(_squash(gold)) < 0.5 * len(_squash(extracted)):
            continue  # a stub gold text (two pages): the rest of the page is article, not junk
        if gold is not None:
            main = _gold_article(html, gold)
            # what the extractor keeps that is not article: its leaks are junk the run sees
            leaks = [line for line in extracted.split("\n") if _junk_line(line, gold)]
            if leaks:
                b.add_segments("\n".join(leaks), "low", "extractor_leak", page_id)
        else:
            # the coarse stage's line filter on the extracted text: what it drops is junk
            main, _ = boilerplate.clean(b.norm(extracted))
            dropped = [line for line in b.norm(extracted).split("\n") if _junk_line(line, main)]
            if dropped:
                b.add_segments("\n".join(dropped), "low", "coarse_removed", page_id)
        if b.fresh([main]) and len(_squash(main)) >= 150:
            b.add_document(main, "high", "page_main_text", page_id)
            pages.main_texts.append(main)
        page_anchors, page_urls = _anchors(html)
        pages.anchors.extend(b.fresh(page_anchors))
        pages.urls.extend(page_urls)
        rest = [line for line in _page_lines(html) if _junk_line(line, main)]
        pages.junk_lines.extend((page_id, line) for line in rest)
        if rest:
            b.add_document("\n".join(rest), "low", "page_boilerplate", page_id)
        if len(page_anchors) >= 5:
            picked = b.rng.sample(page_anchors, min(len(page_anchors), 60))
            b.add_segments("\n".join(picked), "low", "link_list", page_id)
    for path in b.sources.files("web/news_pages/list_pages", "*.html"):
        html = decode_html(path.read_bytes(), None)
        group = f"list:{path.relative_to(b.data)}"
        b.add_document(extract_main_text(html), "low", "list_page", group)
        b.add_segments("\n".join(_page_lines(html)), "low", "list_page", group)
    return pages


def _junk_line(line: str, article: str) -> bool:
    squashed = _squash(line)
    return bool(squashed) and squashed not in _squash(article)


def _add_seed_page(b: _Builder) -> None:
    """The seed page: its article is high, the city list, link farm and headline wall low."""
    path = b.data / SEED_PAGE
    if not path.is_file() or not b.sources.allowed(path):
        return
    lines = path.read_text(encoding="utf-8").split("\n")
    first, last = _SEED_ARTICLE
    if len(lines) < last or not lines[first].startswith(_SEED_TITLE):
        log.warning("%s: not the seed page this builder knows; left out", path)
        return
    # segments of a fixed size: the seed page lies beside the data folder, and whether it is
    # there must not move the random draws, and so the texts, of everything built after it
    for text, label in (
        ("\n".join(lines[first:last]), "high"),
        ("\n".join(lines[:first]), "low"),
        ("\n".join(lines[last:]), "low"),
    ):
        b.add(text, label, "seed_page", "seed", unit="document")
        b.add_segments(text, label, "seed_page", "seed", max_chars=256)


def _add_assembled_junk(
    b: _Builder,
    prose: list[str],
    articles: list[list[str]],
    fragments: list[str],
    pages: _Pages,
    lexicon: _Lexicon,
) -> None:
    """Junk the pages show in a few examples only, assembled from real pieces."""
    rng = b.rng
    # high: articles end with their sources; a reference list after prose is still the article
    for index, text in enumerate(b.take(prose, 500)):
        lines = [
            text[-rng.randint(60, 200) :],
            rng.choice(("参考资料：", "参考文献", "来源：", "")),
        ]
        for url in rng.sample(pages.urls, min(len(pages.urls), rng.randint(1, 5))):
            # pages flattened to text often lose the slashes of their links (see seed page)
            lines.append(url.replace("/", "") if rng.random() < 0.3 else url)
        b.add_segments("\n".join(lines), "high", "article_references", f"refs:{index}", 256)

    # low: walls of concatenated headlines and teasers (the tail of content-farm pages)
    for index in range(min(1500, len(pages.anchors))):
        parts = []
        for _ in range(rng.randint(3, 12)):
            headline = rng.choice(pages.anchors)
            if rng.random() < 0.5:
                teaser = rng.choice(prose)
                cut = rng.randint(0, max(0, len(teaser) - 80))
                headline += teaser[cut : cut + rng.randint(15, 80)] + rng.choice(("……", "…", ""))
            parts.append(headline)
        glue = rng.choice(("", "", " ", "\n"))
        b.add_document(glue.join(parts), "low", "headline_wall", f"wall:{index}")

    # low: runs of gambling / porn terms, blocklisted domains and ad words (SEO junk pages)
    terms = lexicon.gambling + lexicon.porn + lexicon.other
    for index in range(min(300, len(pages.anchors))):
        parts = []
        for _ in range(rng.randint(4, 20)):
            pool = rng.choice((terms, lexicon.domains, lexicon.advertising, pages.anchors))
            parts.append(rng.choice(pool))
        glue = rng.choice(spam.GLUES)
        b.add_document(glue.join(parts), "low", "seo_junk", f"seo:{index}")

    # low: short fragments, alone and as runs of unrelated ones
    for text in b.take(fragments, 1500):
        b.add(text, "low", "short_fragment", f"frag:{text}")
    for index in range(min(500, len(fragments) // 10)):
        run = rng.sample(fragments, rng.randint(3, 10))
        b.add_document("\n".join(run), "low", "fragment_run", f"fragrun:{index}")

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
    for index, snippet in enumerate(_code_snippets(rng, min(500, len(prose)))):
        b.add_segments(snippet, "low", "code", f"code:{index}")


def _add_generated_junk(
    b: _Builder, prose: list[str], pages: _Pages, ads: list[str], lexicon: _Lexicon
) -> None:
    """Spam made by the tricks of `spam.py` from real articles and real lexicons."""
    rng = b.rng
    if not prose or not pages.anchors:
        return
    spinnable = [text for text in prose if spam.spinnable(text)]
    for index, text in enumerate(b.take(spinnable, 700)):
        b.add_document(spam.spin(text, rng), "low", "spun", f"spun:{index}")
    for index in range(min(700, len(prose) // 3)):
        pieces = rng.sample(prose, rng.randint(3, 6))
        text = spam.collage(pieces, rng, rng.randint(6, 16))
        b.add_document(text, "low", "collage", f"collage:{index}")
    keywords = sorted({m for ad in ads for m in _BRACKETED.findall(ad)})
    keywords += lexicon.gambling + [w for w in lexicon.advertising if len(w) >= 2]
    for index, text in enumerate(b.take(prose, 700)):
        stuffed = spam.stuff_keywords(text, rng.choice(keywords), rng)
        b.add_document(stuffed, "low", "keyword_stuffed", f"stuffed:{index}")
    terms = lexicon.gambling + lexicon.porn
    for index, text in enumerate(b.take(prose, 700)):
        group = f"injected:{index}"
        article = [line for line in text.split("\n") if line.strip()]
        lines = spam.inject_links(article, terms, lexicon.domains, pages.anchors, rng)
        document = b.norm("\n".join(line for line, _ in lines))
        b.add(document, "low", "injected_links", group, unit="document")
        _add_marked_segments(b, lines, "low", "injected_links", group)


def _add_marked_segments(
    b: _Builder, lines: list[tuple[str, bool]], label: str, source: str, group: str
) -> None:
    """Segments of a text that hold a marked line; the rest of the text is left out."""
    normalized = [(b.norm(line), marked) for line, marked in lines]
    text = "\n".join(line for line, _ in normalized)
    spans, position = [], 0
    for line, marked in normalized:
        if marked:
            spans.append((position, position + len(line)))
        position += len(line) + 1
    size = b.rng.choice((96, 128, 192, 256, 256, 256))
    for segment in split_segments(text, max_chars=size, min_chars=40):
        if any(start < segment.end and segment.start < end for start, end in spans):
            b.add(segment.text(text), label, source, group)


def _add_ads(b: _Builder, ads: list[str], pages: _Pages, lexicon: _Lexicon) -> None:
    """Ads: SMS ads (digits restored), alone and as blocks; ad lines of pages; marketing
    dressed as articles and Q&As from real ad sentences of one topic."""
    rng = b.rng
    for text in b.take(ads, 3600):
        b.add(text, "ad", "sms_ad", f"ad:{text}")
    # Texts assembled from several ads draw on the ads of their own side of the split only,
    # or they would join train and dev ads into one near-duplicate component.
    by_side = {side: [ad for ad in ads if group_side(f"ad:{ad}") == side] for side in SIDES}
    for index in range(min(900, len(ads) // 5)):
        pool = by_side[group_side(f"adb:{index}")]
        block = rng.sample(pool, min(len(pool), rng.randint(2, 5)))
        glue = rng.choice(("\n", "", " "))
        b.add_document(glue.join(block), "ad", "ad_block", f"adb:{index}")
    ad_words = sorted(set(lexicon.advertising))
    for page_id, line in pages.junk_lines:
        hits = sum(1 for word in ad_words if word in line)
        if hits >= 2 and len(line) >= 12:
            b.add(line, "ad", "page_ad_line", page_id)
    questions = sorted({q for ad in ads for q in _QUESTION.findall(ad)})
    topics = sorted(spam.AD_TOPICS.items())
    pools = {}
    for side in SIDES:
        ad_sentences = [s for ad in by_side[side] for s in spam.sentences(ad)]
        pools[side] = [[s for s in ad_sentences if pattern.search(s)] for _, pattern in topics]
    for index in range(min(1200, len(ads) // 3)):
        group = f"marketing:{index}"
        pool = pools[group_side(group)][index % len(topics)]
        if len(pool) >= 5:
            b.add_document(
                spam.marketing_article(pool, questions, rng), "ad", "marketing_article", group
            )


def _squashed(text: str) -> str:
    """A text as near-copies share it: lower case, no spaces, punctuation, digits or `x`
    (the SMS set's masked digits)."""
    return re.sub(r"[\W\dx]+", "", text.lower())


def _dedup(examples: list[Example]) -> list[Example]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for example in examples:
        key = _squashed(example.text)
        if key and (example.unit, key) not in seen:
            seen.add((example.unit, key))
            unique.append(example)
    return unique


def _shingles(text: str) -> set[bytes]:
    squashed = _squashed(text) or text
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
    # A component goes where most of its groups' hashes send them: a text assembled from
    # pieces of one side's pool (see `_add_ads`) then stays on that side, and one member
    # cannot drag a large component across.
    votes: dict[int, Counter[str]] = {}
    for i, example in enumerate(examples):
        votes.setdefault(find(i), Counter())[group_side(example.group, dev_fraction)] += 1
    return [
        "dev" if votes[find(i)]["dev"] > votes[find(i)]["train"] else "train"
        for i in range(len(examples))
    ]


def group_side(group: str, dev_fraction: float = 0.1) -> str:
    """The side a group's hash sends it to."""
    digest = int(hashlib.sha1(group.encode()).hexdigest()[:8], 16)
    return "dev" if digest % 1000 < dev_fraction * 1000 else "train"


# -- the split, by content --------------------------------------------------------------------
#
# A split is recorded as the keys of its dev texts: a key is a hash of the text itself, so the
# record names the same split wherever the data folder lies, in whatever order the lines come.

SPLIT_KEY = "sha1 of the text lower-cased without spaces, punctuation, digits or x; 16 hex"


def text_key(text: str) -> str:
    return hashlib.sha1((_squashed(text) or text).encode("utf-8")).hexdigest()[:16]


def split_digest(texts: Sequence[str], sides: Sequence[str]) -> str:
    """One hash of a whole split: of its sorted (text key, side) pairs."""
    pairs = sorted(f"{text_key(t)} {side}" for t, side in zip(texts, sides, strict=True))
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()


def split_record(texts: Sequence[str], sides: Sequence[str], rule: str) -> dict:
    """What rebuilds a split exactly from the same labelled set (`recorded_sides`)."""
    return {
        "rule": rule,
        "key": SPLIT_KEY,
        "examples": {side: list(sides).count(side) for side in SIDES},
        "digest": split_digest(texts, sides),
        "dev_keys": sorted(
            {text_key(t) for t, side in zip(texts, sides, strict=True) if side == "dev"}
        ),
    }


def recorded_sides(texts: Sequence[str], record: dict) -> list[str]:
    """The sides a recorded split gives these texts; a UserError when they are not the texts
    it was made from (its digest then differs)."""
    dev = set(record["dev_keys"])
    sides = ["dev" if text_key(text) in dev else "train" for text in texts]
    if split_digest(texts, sides) != record["digest"]:
        raise UserError(
            f"these {len(texts):,} texts are not the labelled set the split was recorded on "
            f"({record['examples']['train']:,} train, {record['examples']['dev']:,} dev)"
        )
    return sides


def write_labelled_set(
    data: Path,
    output: Path,
    seed: int = 13,
    exclude_sources: Sequence[str] = (),
    exclude_texts: Sequence[str] = (),
) -> Counter[tuple[str, str]]:
    """Write the labelled set (the module docstring gives the fields); return counts per
    (split, label) of segments, and per ("source", "label/source/unit")."""
    examples = build_examples(data, seed, exclude_sources, exclude_texts)
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
                "source": example.source,
                "unit": example.unit,
                "group": example.group,
                "split": sides[i],
            }
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            if example.unit == "segment":
                counts[(sides[i], example.label)] += 1
            counts[("source", f"{example.label}/{example.source}/{example.unit}")] += 1
    return counts


def read_labelled(path: Path) -> list[dict]:
    """Lines {"text", "label"[, "split"]}; a wrong line is the user's mistake, named by number."""
    records = []
    for number, record in text_records(path, "labelled data"):
        if record.get("label") not in LABELS:
            raise UserError(
                f"{path}:{number}: label {record.get('label')!r} is not one of {list(LABELS)}"
            )
        records.append(record)
    if not records:
        raise UserError(f"labelled data {path} is empty")
    return records
