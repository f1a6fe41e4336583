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

from mdfs.shared import shared_folder

SHARED = shared_folder()
DATA = SHARED / "data"
_TAG = re.compile(r"/[A-Za-z]+")
_PUNCT = "，。、；：？！"
_FILLER = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"


def wikipedia_articles() -> list[list[str]]:
    """CMRC 2018 Wikipedia paragraphs, one list per article (same topic)."""
    articles = []
    for path in sorted((DATA / "text" / "cmrc2018_wikipedia").glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            paragraphs = [p["context"].strip() for p in article["paragraphs"]]
            articles.append([p for p in paragraphs if p])
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


def sentence_rewrite(text: str, rng: random.Random, fraction: float) -> str:
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
