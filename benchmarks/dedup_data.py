"""Real Chinese text from ../shared/data, and the perturbations near-duplicates are made of.

Shared by dedup_quality.py and dedup_scale.py. Sources: Chinese Wikipedia paragraphs
(CMRC 2018, grouped by article, so paragraphs of one article are different documents on one
topic), People's Daily January 1998 (tags and spaces stripped; consecutive lines are one
article's paragraphs) and the SMS spam set (its adverts serve as inserted ads).
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass

from mdfs.shared import shared_folder

SHARED = shared_folder()
DATA = SHARED / "data"
_TAG = re.compile(r"/[A-Za-z]+")
_PUNCT = "，。、；：？！"
_FILLER = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"


def wikipedia_articles() -> list[list[str]]:
    """CMRC 2018 Wikipedia paragraphs, one list per article (one paragraph each, in fact)."""
    return [paragraphs for _, paragraphs in wikipedia_titled()]


def wikipedia_titled() -> list[tuple[str, list[str]]]:
    """(article title, its CMRC 2018 paragraphs)."""
    articles = []
    for path in sorted((DATA / "text" / "cmrc2018_wikipedia").glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            paragraphs = [p["context"].strip() for p in article["paragraphs"]]
            articles.append((article["title"], [p for p in paragraphs if p]))
    return articles


def peoples_daily_lines() -> list[str]:
    """People's Daily sentences/paragraphs as prose: tags and spaces stripped."""
    path = DATA / "text" / "peoples_daily_199801_pos_tagged.txt"
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = "".join(_TAG.sub("", raw).split())
        if len(line) >= 8:
            lines.append(line)
    return lines


def peoples_daily_documents(lines_per_document: int = 6) -> list[str]:
    """Consecutive lines grouped into documents of several paragraphs."""
    lines = peoples_daily_lines()
    return [
        "\n".join(lines[i : i + lines_per_document])
        for i in range(0, len(lines) - lines_per_document + 1, lines_per_document)
    ]


def sms(label: str) -> list[str]:
    """Distinct SMS texts of one label ("1": adverts, "0": everything else)."""
    seen: dict[str, None] = {}
    for path in sorted((DATA / "spam").glob("*.csv")):
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 2 and row[0] == label:
                    text = " ".join(row[1].split())
                    if text:
                        seen.setdefault(text, None)
    return list(seen)


# -- perturbations: each returns a new text ----------------------------------------------


def small_edits(text: str, rng: random.Random, rate: float) -> str:
    """Substitute, delete or insert characters at `rate` of positions (typos, rewording)."""
    out = []
    for char in text:
        roll = rng.random()
        if roll < rate / 3:
            continue
        if roll < 2 * rate / 3:
            out.append(rng.choice(_FILLER))
        elif roll < rate:
            out.extend((char, rng.choice(_FILLER)))
        else:
            out.append(char)
    return "".join(out)


def punctuation_and_layout(text: str, rng: random.Random) -> str:
    """Other punctuation, spaces and line breaks: a repost through another editor."""
    text = text.replace("，", rng.choice([",", "， ", "、"])).replace(
        "。", rng.choice([". ", "。\n"])
    )
    return text


def reorder_paragraphs(text: str, rng: random.Random) -> str:
    paragraphs = text.split("\n")
    for _ in range(10):
        shuffled = paragraphs[:]
        rng.shuffle(shuffled)
        if shuffled != paragraphs or len(paragraphs) < 2:
            break
    return "\n".join(shuffled)


def insert_ads(text: str, rng: random.Random, ads: list[str], count: int) -> str:
    paragraphs = text.split("\n")
    for _ in range(count):
        paragraphs.insert(rng.randint(0, len(paragraphs)), rng.choice(ads))
    return "\n".join(paragraphs)


def truncate(text: str, rng: random.Random, keep: float) -> str:
    return text[: max(1, int(len(text) * keep))]


def drop_sentences(text: str, rng: random.Random, fraction: float) -> str:
    """Drop a `fraction` of sentences: an abridged re-edit (SEO rewrites cut and paste)."""
    sentences = [s for s in re.split(r"(?<=[。！？])", text) if s]
    if len(sentences) < 2:
        return truncate(text, rng, 1 - fraction)
    kept = [s for s in sentences if rng.random() >= fraction]
    if len(kept) == len(sentences):
        kept.pop(rng.randrange(len(kept)))
    return "".join(kept)


# -- the measure ---------------------------------------------------------------------------


def shingles(text: str, n: int = 5, raw: bool = False) -> set[str]:
    """The evaluation's shingles: n characters of the text without spaces or punctuation
    (MDFS's own normalisation), or, `raw`, without spaces only."""
    from mdfs.coarse.near_dedup import normalise

    s = "".join(text.split()) if raw else normalise(text)
    if len(s) < n:
        return {s} if s else set()
    return {s[i : i + n] for i in range(len(s) - n + 1)}


def jaccard(a: str, b: str, n: int = 5, raw: bool = False) -> float:
    x, y = shingles(a, n, raw), shingles(b, n, raw)
    return len(x & y) / len(x | y) if x or y else 1.0


# -- pairs whose truth is their provenance -------------------------------------------------

NEWS_PAGES = DATA / "web" / "news_pages" / "article_pages"

# Pages of different outlets on one topic, paired by hand from their titles (no similarity
# measure involved). None of the saved pages reports an event another outlet also reports,
# so these are same-topic pairs, not same-event ones.
SAME_TOPIC_PAGES = [
    ("sina/sina.html", "163/4.html"),  # Huawei's 5G chips
    ("guancha/3.html", "sina/4.html"),  # Apple in China
    ("ednchina/1.html", "guancha/2.html"),  # the Chinese chip industry
    ("163/8.html", "thepaper/5.html"),  # COVID-19
    ("ifeng/3.html", "toutiao/5.html"),  # life under the epidemic
    ("readhub/readhub.html", "wechat/1.html"),  # 5G phones on sale
    ("stcn/1.html", "mingridapan/1.html"),  # the stock market
    ("other/1.html", "sxmu/1.html"),  # laws passed by the NPC
]
# The same article saved twice from thepaper.cn, its navigation changed in between.
SAVED_TWICE = ("thepaper/2.html", "thepaper/4.html")
# Topics of Wikipedia articles, by the end of the title: fish, birds, dinosaurs, stations,
# lines, roads, schools, ... (stubs of one kind share their wording: hard negatives).
WIKI_TOPICS = ("鲷", "鱼", "鳗", "雉", "龙属", "站", "线", "路", "学", "院", "堂", "场", "郡", "蛇")


@dataclass(frozen=True)
class Pair:
    kind: str  # how the pair was made
    level: str  # the recorded edit rate or amount ("-" when none)
    same_source: bool  # the truth: one document and an edited copy of it
    a: str
    b: str


def page_texts(relative: str) -> tuple[str, str]:
    """A saved news page as (MDFS's main text, all visible text with navigation and footer)."""
    from resiliparse.extract.html2text import extract_plain_text

    from mdfs.collect.extract import extract_main_text

    html = (NEWS_PAGES / relative).read_text(encoding="utf-8", errors="replace")
    return extract_main_text(html), extract_plain_text(html)


def page_frame(full: str, main: str, chars: int = 200) -> tuple[str, str]:
    """A page's template: its first and last lines outside the main text, about `chars` each."""
    inside = set(main.splitlines())
    stripped = (line.strip() for line in full.splitlines())
    # a line longer than `chars` is no furniture (njxfhn's footer is one of 175,000 characters)
    lines = [line for line in stripped if line and line not in inside and len(line) <= chars]

    def take(seq: list[str]) -> list[str]:
        out: list[str] = []
        while seq and sum(map(len, out)) < chars:
            out.append(seq.pop(0))
        return out

    return "\n".join(take(lines[:])), "\n".join(reversed(take(lines[::-1])))


def provenance_pairs(per_level: int, seed: int) -> list[Pair]:
    """Pairs whose truth is known by construction: a document and a copy under a recorded
    edit (same source), or two different documents on one topic (not the same source). No
    text is in two pairs; no similarity measure chooses or labels any pair."""
    rng = random.Random(seed)
    titled = wikipedia_titled()
    by_topic: dict[str, list[str]] = {}
    other_wiki = []
    for title, paragraphs in titled:
        topic = next((t for t in WIKI_TOPICS if title.endswith(t)), None)
        for paragraph in paragraphs:
            if topic is not None:
                by_topic.setdefault(topic, []).append(paragraph)
            elif len(paragraph) >= 150:
                other_wiki.append(paragraph)
    news = [d for d in peoples_daily_documents(6) if len(d) >= 200]
    rng.shuffle(other_wiki)
    # People's Daily in runs of neighbours: a document and the next one are one issue's
    # consecutive passages (most often one story continued).
    starts = list(range(0, len(news) - 1, 2))
    rng.shuffle(starts)
    neighbours = [(news[i], news[i + 1]) for i in starts]
    ads = sms("1")
    singles = iter(other_wiki)
    paired_news = iter(neighbours)
    pairs: list[Pair] = []

    def edited(kind: str, level: str, make, multi_paragraph: bool = False) -> None:
        for _ in range(per_level):
            text = next(paired_news)[0] if multi_paragraph or rng.random() < 0.5 else next(singles)
            pairs.append(Pair(kind, level, True, text, make(text)))

    for rate in (0.01, 0.03, 0.05, 0.10, 0.20):
        edited("char_edits", f"{rate:.0%}", lambda t, r=rate: small_edits(t, rng, r))
    for fraction in (0.1, 0.2, 0.3):
        edited(
            "dropped_sentences", f"{fraction:.0%}", lambda t, f=fraction: drop_sentences(t, rng, f)
        )
    for keep in (0.9, 0.7, 0.5):
        edited("truncated", f"{1 - keep:.0%} cut", lambda t, k=keep: truncate(t, rng, k))
    for count in (1, 2, 3):
        edited("added_adverts", f"{count} lines", lambda t, c=count: insert_ads(t, rng, ads, c))
    edited("reordered_paragraphs", "-", lambda t: reorder_paragraphs(t, rng), multi_paragraph=True)
    edited(
        "punctuation_layout", "-", lambda t: small_edits(punctuation_and_layout(t, rng), rng, 0.01)
    )
    first, second = (page_texts(page)[1] for page in SAVED_TWICE)
    pairs.append(Pair("same_page_saved_twice", "-", True, first, second))

    # different documents on one topic
    negatives = 3 * per_level
    topic_pairs = []
    for topic in WIKI_TOPICS:
        group = by_topic.get(topic, [])
        rng.shuffle(group)
        topic_pairs += [(topic, group[i], group[i + 1]) for i in range(0, len(group) - 1, 2)]
    for topic, x, y in rng.sample(topic_pairs, min(negatives, len(topic_pairs))):
        pairs.append(Pair("wiki_same_topic", topic, False, x, y))
    for _ in range(negatives):
        x, y = next(paired_news)
        pairs.append(Pair("peoples_daily_neighbours", "-", False, x, y))
    for _ in range(negatives):
        quoted, x, y = next(singles), next(singles), next(singles)
        pairs.append(Pair("shared_paragraph", "-", False, f"{quoted}\n{x}", f"{quoted}\n{y}"))
    sites = sorted(p.name for p in NEWS_PAGES.iterdir() if p.is_dir())
    frames = []
    for site in sites:
        main, full = page_texts(
            f"{site}/{sorted(p.name for p in (NEWS_PAGES / site).glob('*.html'))[0]}"
        )
        header, footer = page_frame(full, main)
        if header and footer:
            frames.append((site, header, footer))
    for k in range(negatives):
        site, header, footer = frames[k % len(frames)]
        x, y = next(singles), next(singles)
        pairs.append(Pair("shared_site_frame", site, False, f"{header}\n{x}\n{footer}", f"{header}\n{y}\n{footer}"))  # fmt: skip
    for site in sites:
        pages = sorted(f"{site}/{p.name}" for p in (NEWS_PAGES / site).glob("*.html"))
        pages = [p for p in pages if p not in SAVED_TWICE]
        for x, y in zip(pages[0::2], pages[1::2], strict=False):
            pairs.append(Pair("templated_pages", site, False, page_texts(x)[1], page_texts(y)[1]))
    for x, y in SAME_TOPIC_PAGES:
        pairs.append(Pair("same_topic_outlets", "-", False, page_texts(x)[0], page_texts(y)[0]))
    return pairs
