from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mdfs.coarse import rules
from mdfs.coarse.boilerplate import Boilerplate
from mdfs.coarse.keywords import Keywords
from mdfs.coarse.language import Language
from mdfs.coarse.normalize import Normalize
from mdfs.coarse.pii import PII, valid_resident_id
from mdfs.coarse.rules import QualityRules, repeated_ngram_char_fraction
from mdfs.document import Document


def doc(text: str, url: str | None = None) -> Document:
    return Document(id="d", text=text, source="test", url=url)


@pytest.fixture(scope="module")
def normalize() -> Normalize:
    step = Normalize()
    step.ensure_setup()
    return step


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("谷歌推出了1。6万亿参数的模型", "谷歌推出了1.6万亿参数的模型"),
        ("https:arxiv。orgpdf2110。04725。pdf", "https:arxiv.orgpdf2110.04725.pdf"),
        ("大模型?巨头角力,已经开始!", "大模型？巨头角力，已经开始！"),
        ("這是繁體中文的測試", "这是繁体中文的测试"),
        ("ＡＢＣ１２３，全角", "ABC123，全角"),
        ("他说。我们走吧。", "他说。我们走吧。"),
        ("a\u200bb\u3000\u3000c\r\n\n\n\nd", "ab c\n\nd"),
        ("Hello, world. It works!", "Hello, world. It works!"),
    ],
)
def test_normalize(normalize: Normalize, raw: str, expected: str) -> None:
    assert normalize.normalize(raw) == expected


def test_seed_page_boilerplate(shared: Path, normalize: Normalize) -> None:
    text = normalize.normalize((shared / "samples" / "seed_page.txt").read_text())
    cleaned, removed = Boilerplate().clean(text)
    lines = cleaned.split("\n")
    for junk in ("宜春榆林", "延吉湖北乐清贵港襄阳宜春", "娄底河南", "投诉 评论 转载"):
        assert junk not in lines
    assert "友情链接" not in cleaned
    for sentence in (
        "自从2018年谷歌推出BERT模型以来，语言模型做的越来越大，仿佛没有终点。",
        "从结果上看，源1.0的训练共消耗约4095PD(PetaFlopsday)，相较于GPT3的3640PD，计算效率得到大幅提升。",
    ):
        assert sentence in cleaned
    assert "张量并行" in lines  # a one-line section heading is not part of a run
    assert removed >= 16


def test_boilerplate_menus_and_bars() -> None:
    step = Boilerplate()
    assert step.is_furniture("首页 | 新闻 | 体育 | 财经 | 娱乐")
    assert step.is_furniture("分享到：微信 微博 QQ空间")
    assert step.is_furniture("Copyright © 2020 某某网 版权所有 京ICP备12345号")
    assert not step.is_furniture("记者从北京市卫健委获悉，今年流感疫苗接种工作已经启动。")
    assert not step.is_furniture(
        "相关阅读材料显示，这一政策在推出后的三年里，惠及了超过两千万名农村学生和他们的家庭。" * 3
    )


def test_language() -> None:
    step = Language()
    step.ensure_setup()
    assert step.keep(doc("北京是中华人民共和国的首都，也是全国的政治、文化中心。")) is True
    assert step.keep(doc("The quick brown fox jumps over the lazy dog again.")) == "wrong_language"
    mostly_digits = doc("中国 " + "1234567890 " * 30)
    assert step.keep(mostly_digits) in ("low_cjk_ratio", "wrong_language")


def wikipedia_paragraphs(shared: Path) -> list[str]:
    path = sorted((shared / "data" / "text" / "cmrc2018_wikipedia").glob("*.json"))[0]
    data = json.loads(path.read_text())["data"]
    return [p["context"] for article in data for p in article["paragraphs"]]


def test_rules(shared: Path) -> None:
    rules = QualityRules()
    paragraphs = [p for p in wikipedia_paragraphs(shared) if len(p) > 300][:20]
    assert all(rules.keep(doc(p)) is True for p in paragraphs)
    assert rules.keep(doc("太短了。")) == "too_short"
    assert rules.keep(doc("\n".join(["标签"] * 150))) == "short_lines"
    spam = "\n".join(["点击这里立即领取大奖，名额有限先到先得！"] * 20)
    assert rules.keep(doc(spam)) == "duplicate_lines"
    assert repeated_ngram_char_fraction("一二三四五六七八九十" * 5, 5) == 1.0
    assert repeated_ngram_char_fraction("北京是中华人民共和国的首都", 5) == 0.0


def test_one_paragraph_that_trails_off_is_not_a_page_of_teasers(shared: Path) -> None:
    """Wikipedia's plot summaries end on …… or ...; Gopher's ellipsis rule is for pages of
    cut-off teasers, which take at least `min_ellipsis_lines` such lines."""
    rules = QualityRules()
    summaries = [p for p in wikipedia_paragraphs(shared) if p.rstrip().endswith(("…", "..."))]
    assert summaries
    assert all(rules.keep(doc(p)) is True for p in summaries)
    teasers = [p[:60] + "……" for p in wikipedia_paragraphs(shared)[:4]]
    assert rules.keep(doc("\n".join(teasers))) == "truncated_lines"
    assert QualityRules(min_ellipsis_lines=1).keep(doc(summaries[0])) == "truncated_lines"


def test_repeated_ngrams_by_hash_equal_counting_strings(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hashed grams give the string count's fraction, and so does a hash that collides
    everywhere (every gram hashes to 0: the strings decide)."""
    paragraphs = [p for p in wikipedia_paragraphs(shared) if len(p) > 300][:20]
    texts = [
        *paragraphs,
        "\n".join([*paragraphs[:3], paragraphs[0]]),
        "一二三四五六七八九十" * 5 + "北京是首都",
    ]
    exact = [rules._repeated_ngram_char_fraction_exact("".join(t.split()), 13) for t in texts]
    assert [repeated_ngram_char_fraction(t, 13) for t in texts] == exact
    assert 0 < exact[-2] < 1 and 0 < exact[-1] < 1
    monkeypatch.setattr(rules, "_gram_multipliers", lambda n: np.zeros(n, dtype=np.uint64))
    assert [repeated_ngram_char_fraction(t, 13) for t in texts] == exact


def test_keywords(shared: Path) -> None:
    step = Keywords()
    step.ensure_setup()
    news = "国务院新闻办公室今天举行发布会，介绍今年经济运行情况。\n" * 5
    assert step.keep(doc(news, url="http://www.gov.cn/x.html")) is True
    ad = "\n".join(["厂家直销，全场包邮，限时抢购！加微信咨询", "诚招代理，免费咨询，欢迎来电"] * 3)
    assert step.keep(doc(ad)) == "ad_keywords"
    domain = next(iter(step._domain_set))
    assert step.keep(doc(news, url=f"http://www.{domain}/index.html")) == "blocked_domain"
    # Real Common Crawl text that ChineseWebText marked clean has no keyword hit to remove.
    clean = (shared / "data" / "web" / "ccnet_labelled" / "clean.jsonl").read_text("utf-8")
    verdicts = [step.keep(doc(json.loads(line)["text"])) for line in clean.splitlines()]
    assert verdicts == [True] * 10


def test_keywords_latin_words_stand_alone() -> None:
    step = Keywords()
    step.ensure_setup()
    from mdfs.coarse.keywords import count_hits

    assert sum(count_hits(step._sensitive, "java navigation avatar").values()) == 0


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("请拨打13812345678咨询", "mobile"),
        ("电话：+86 138-1234-5678", "mobile"),
        ("身份证号11010519491231002X", "resident_id"),
        ("邮箱zhang.san@example.com", "email"),
        ("加QQ：123456789", "qq"),
        ("服务器地址192.168.1.1", "ip"),
    ],
)
def test_pii_masked(text: str, kind: str) -> None:
    masked, counts = PII().mask(text)
    assert counts == {kind: 1}
    assert not any(ch.isdigit() for ch in masked.replace("86", "")) or kind in ("email",)


@pytest.mark.parametrize(
    "text",
    ["订单号110105194912310021", "版本1.2.3.4.5", "共计123456789元", "2023年12345678人"],
)
def test_pii_leaves_lookalikes(text: str) -> None:
    assert PII().mask(text) == (text, {})


def test_resident_id_checksum() -> None:
    assert valid_resident_id("11010519491231002X")
    assert not valid_resident_id("110105194912310021")
