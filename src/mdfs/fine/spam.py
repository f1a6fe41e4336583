"""Web junk made the way spammers make it, from real text: one small generator per trick.

Each generator takes real pieces (articles, ad sentences, lexicon entries, domains) and
applies one trick that Chinese SEO and spam pages are known for. None adds characters,
markers or layout of its own: every character of the output comes from its inputs or from
the separators real pages use between links and lines (`GLUES`), so a model cannot learn
"generated" from a fingerprint instead of learning the trick (tests check this).

- `spin`: 伪原创 tools swap words for near-synonyms to fool duplicate detection; the table
  is the small documented list `SYNONYMS`, chosen the way those tools choose (a thesaurus
  look-up blind to context, so the result reads slightly wrong).
- `collage`: sentences of unrelated articles interleaved into new paragraphs, as content
  farms fill a page around a keyword.
- `stuff_keywords`: one keyword (an SEO target: a brand or service name from a real ad, a
  gambling or porn term) repeated into a real article's sentences and its title line.
- `inject_links`: gambling / porn anchor texts and blocklisted domains injected into a real
  article as lines of links (hacked news and government pages show exactly this).
- `marketing_article`: advertising (hospital, clinic, franchise, product) dressed as an
  article or a Q&A: real ad sentences of one topic as paragraphs, real ad questions as
  question lines followed by ad answers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

# Separators real pages put between anchors and lines (seen in the pages of ../shared/data).
GLUES = (" ", "|", " | ", "、", "，", "_", "-", "\n")

# Near-synonyms as a 伪原创 thesaurus swaps them (either direction), a documented small list.
SYNONYMS = (
    ("因此", "所以"), ("但是", "可是"), ("非常", "十分"), ("重要", "关键"),
    ("发展", "进展"), ("提高", "提升"), ("目前", "当前"), ("已经", "早已"),
    ("问题", "疑问"), ("进行", "开展"), ("我们", "咱们"), ("认为", "以为"),
    ("表示", "表明"), ("通过", "经由"), ("需要", "须要"), ("方面", "层面"),
    ("工作", "作业"), ("情况", "状况"), ("主要", "首要"), ("能够", "可以"),
    ("增加", "增添"), ("开始", "起头"), ("建设", "修建"), ("经济", "财经"),
    ("企业", "公司"), ("国家", "国度"), ("人民", "公民"), ("地区", "区域"),
    ("部门", "单位"), ("活动", "举动"), ("技术", "技能"), ("政府", "当局"),
    ("社会", "社区"), ("市场", "商场"), ("生产", "出产"), ("全国", "天下"),
    ("领导", "引导"), ("同时", "一起"), ("获得", "取得"), ("世界", "全球"),
    ("成为", "变成"), ("一些", "一点"), ("这些", "此类"), ("他们", "它们"),
    ("可能", "或许"), ("必须", "务必"), ("迅速", "快速"), ("积极", "主动"),
    ("坚持", "坚持不懈"), ("研究", "探究"), ("重大", "严重"), ("完成", "达成"),
    ("影响", "作用"), ("参加", "参与"), ("使用", "运用"), ("所有", "一切"),
    ("特别", "格外"), ("以及", "及其"), ("位于", "坐落于"), ("成立", "建立"),
)  # fmt: skip

_SWAPS: dict[str, tuple[str, ...]] = {}
for _a, _b in SYNONYMS:
    _SWAPS[_a] = (*_SWAPS.get(_a, ()), _b)
    _SWAPS[_b] = (*_SWAPS.get(_b, ()), _a)
_SWAP_PATTERN = re.compile("|".join(sorted(map(re.escape, _SWAPS), key=len, reverse=True)))

_SENTENCE = re.compile(r"[^。！？!?；]+[。！？!?；]?")


def sentences(text: str) -> list[str]:
    """Sentences of `text` with their closing punctuation, blanks dropped."""
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) >= 4]


def spin(text: str, rng: random.Random, rate: float = 0.7) -> str:
    """Swap each listed word for its thesaurus twin with probability `rate`."""

    def swap(match: re.Match[str]) -> str:
        word = match[0]
        return rng.choice(_SWAPS[word]) if rng.random() < rate else word

    return _SWAP_PATTERN.sub(swap, text)


def spinnable(text: str, min_swaps: int = 4) -> bool:
    """Whether the text has enough thesaurus words for a spun copy to differ from it."""
    return len(_SWAP_PATTERN.findall(text)) >= min_swaps


def collage(articles: Sequence[str], rng: random.Random, n_sentences: int = 12) -> str:
    """Sentences drawn in turn from unrelated articles, cut into 1-4 paragraphs."""
    pools = [sentences(a) for a in articles]
    for pool in pools:
        rng.shuffle(pool)
    picked: list[str] = []
    while any(pools) and len(picked) < n_sentences:
        pool = rng.choice([p for p in pools if p])
        picked.append(pool.pop())
    paragraphs, i = [], 0
    while i < len(picked):
        n = rng.randint(2, 6)
        paragraphs.append("".join(picked[i : i + n]))
        i += n
    return "\n".join(paragraphs)


def stuff_keywords(article: str, keyword: str, rng: random.Random, rate: float = 0.5) -> str:
    """A title line of the keyword joined by real title separators, and the keyword
    pushed into about `rate` of the article's sentences (before or after them)."""
    glue = rng.choice(("_", "-", "|", " "))
    title = glue.join([keyword] * rng.randint(2, 4))
    body = []
    for sentence in sentences(article):
        roll = rng.random()
        if roll < rate / 2:
            sentence = keyword + sentence
        elif roll < rate:
            sentence = sentence[:-1] + keyword + sentence[-1]
        body.append(sentence)
    paragraphs, i = [], 0
    while i < len(body):
        n = rng.randint(2, 5)
        paragraphs.append("".join(body[i : i + n]))
        i += n
    return "\n".join([title, *paragraphs])


def link_block(
    terms: Sequence[str], domains: Sequence[str], anchors: Sequence[str], rng: random.Random
) -> str:
    """A run of injected links: junk terms, sometimes with their domain, a few real anchors."""
    items = []
    for _ in range(rng.randint(3, 15)):
        roll = rng.random()
        if roll < 0.55:
            item = rng.choice(terms)
            if rng.random() < 0.4:
                item += rng.choice((" ", "")) + rng.choice(domains)
        elif roll < 0.8:
            item = rng.choice(domains)
        else:
            item = rng.choice(anchors)
        items.append(item)
    return rng.choice(GLUES).join(items)


def inject_links(
    lines: Sequence[str],
    terms: Sequence[str],
    domains: Sequence[str],
    anchors: Sequence[str],
    rng: random.Random,
) -> list[tuple[str, bool]]:
    """(line, injected?) of an article with 1-3 link blocks put between or after its lines."""
    out = [(line, False) for line in lines]
    for _ in range(rng.randint(1, 3)):
        at = rng.choice((len(out), len(out), rng.randrange(len(out) + 1)))
        out.insert(at, (link_block(terms, domains, anchors, rng), True))
    return out


# Topics of advertising dressed as articles, and the words that put an SMS ad in one.
AD_TOPICS = {
    "clinic": re.compile(r"医院|诊所|门诊|医生|专家|治疗|妇科|男科|整形|美容"),
    "franchise": re.compile(r"加盟|招商|代理|诚招|商机"),
    "property": re.compile(r"楼盘|售楼|户型|置业|首付|现房|别墅"),
    "product": re.compile(r"特价|优惠|促销|折|新品|专卖|厂家|热销"),
    "finance": re.compile(r"贷款|信用卡|理财|投资|收益|利息"),
    "education": re.compile(r"培训|课程|招生|辅导|学校|报名"),
}


def marketing_article(
    ad_sentences: Sequence[str], questions: Sequence[str], rng: random.Random
) -> str:
    """One topic's real ad sentences as an article (title, paragraphs) or as a Q&A."""
    title = rng.choice(ad_sentences).rstrip("。！!；;，,")
    lines = [title[: rng.randint(8, 30)]]
    qa = questions and rng.random() < 0.4
    for _ in range(rng.randint(2, 5)):
        if qa:
            lines.append(rng.choice(questions))
        lines.append("".join(rng.sample(ad_sentences, min(len(ad_sentences), rng.randint(2, 5)))))
    return "\n".join(lines)
