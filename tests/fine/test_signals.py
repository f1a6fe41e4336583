"""The fine filter's signals on real text: fluency, URL shape, lexical densities, combiner."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from mdfs.coarse.keywords import default_lexicon, read_words
from mdfs.coarse.normalize import Normalize
from mdfs.document import Document
from mdfs.errors import UserError
from mdfs.fine.combiner import DEFAULT_COMBINER, Combiner, FineDecision
from mdfs.fine.combiner_training import choose_threshold
from mdfs.fine.fluency import Fluency, held_out_of_fluency_model, reference_lines
from mdfs.fine.labelled import Sources, _peoples_daily, _wikipedia
from mdfs.fine.lexical import LexicalSignals, line_shape, title_overlap, top_ngram_share
from mdfs.fine.ngram import CharNgramModel
from mdfs.fine.url_signals import UrlSignals


@pytest.fixture(scope="module")
def normalize() -> Normalize:
    step = Normalize()
    step.setup()
    return step


@pytest.fixture(scope="module")
def held_out_wiki(shared: Path, normalize: Normalize) -> list[str]:
    """Wikipedia paragraphs the shipped fluency model was not trained on."""
    texts = [
        t
        for t, title in _wikipedia(Sources(shared / "data"))
        if held_out_of_fluency_model(f"wiki:{title}")
    ]
    return [normalize.normalize(t) for t in texts if len(t) > 300][:20]


def test_ngram_model_is_a_distribution_and_survives_a_file(shared: Path, tmp_path: Path) -> None:
    lines = [line for _, line in zip(range(800), reference_lines(shared / "data"), strict=False)]
    model = CharNgramModel.train(lines, order=3)
    vocabulary = [chr(c) for c in model.chars] + ["\n", "\x01"]  # \x01: the unknown id
    for context in ("中国", "qq"):
        total = sum(np.exp(model.log_probs(context + c)[len(context)]) for c in vocabulary)
        assert total == pytest.approx(1.0, abs=1e-4)
    model.save(tmp_path / "m.npz")
    again = CharNgramModel.load(tmp_path / "m.npz")
    text = lines[-1] + "\n" + lines[-2]
    assert np.array_equal(model.log_probs(text), again.log_probs(text))


def test_fluency_ranks_prose_below_spun_text_and_link_farms(
    held_out_wiki: list[str], shared: Path, normalize: Normalize
) -> None:
    step = Fluency()
    step.ensure_setup()
    rng = random.Random(0)
    for text in held_out_wiki[:10]:
        words = list(text)
        rng.shuffle(words)  # the same characters, no longer a sentence
        prose, spun = Document("p", text, "t"), Document("s", "".join(words), "t")
        assert step.keep(prose) is True and step.keep(spun) is True  # scores only by default
        assert prose.meta["fluency"]["perplexity"] * 3 < spun.meta["fluency"]["perplexity"]
    # a collage: one line of the real seed page's link farm inside held-out prose
    seed = normalize.normalize((shared / "samples" / "seed_page.txt").read_text("utf-8"))
    farm = next(line for line in seed.splitlines() if line.startswith("友情链接"))
    clean = Document("c", "\n".join(held_out_wiki[10:13]), "t")
    collage = Document("x", "\n".join([*held_out_wiki[10:12], farm, held_out_wiki[12]]), "t")
    step.keep(clean)
    step.keep(collage)
    c, x = clean.meta["fluency"], collage.meta["fluency"]
    assert x["line_perplexity_max"] > 3 * c["line_perplexity_max"]
    assert x["line_log_perplexity_std"] > c["line_log_perplexity_std"]
    assert x["high_perplexity_line_fraction"] > c["high_perplexity_line_fraction"]


def test_fluency_alone_removes_gibberish_with_its_reason(held_out_wiki: list[str]) -> None:
    step = Fluency(remove=True)
    step.ensure_setup()
    rng = random.Random(1)
    chars = list(held_out_wiki[0])
    rng.shuffle(chars)
    assert step.keep(Document("p", held_out_wiki[0], "t")) is True
    assert step.keep(Document("s", "".join(chars), "t")) == "low_quality:perplexity"


# -- lexical signals -----------------------------------------------------------------------


def _sms_ads(shared: Path, words: tuple[str, ...], n: int) -> list[str]:
    """Real SMS advertisements (sample files, not the reserved test.csv) naming any of words."""
    import csv

    found: list[str] = []
    with (shared / "data" / "spam" / "sample1.csv").open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            text = row["content"].strip()
            if row["label"] == "1" and any(w in text for w in words) and text not in found:
                found.append(text)
    return found[:n]


def test_gambling_injected_news_scores_above_the_clean_article(
    held_out_wiki: list[str], shared: Path
) -> None:
    step = LexicalSignals()
    step.ensure_setup()
    anchors = _sms_ads(shared, ("博彩", "娱乐城", "彩金", "真人视讯"), 4)
    assert len(anchors) == 4
    for article in held_out_wiki[:5]:
        paragraphs = article.split("。")
        half = len(paragraphs) // 2
        injected = "。".join(paragraphs[:half]) + "\n" + "\n".join(anchors) + "\n"
        injected += "。".join(paragraphs[half:])
        clean, dirty = Document("c", article, "t"), Document("d", injected, "t")
        assert step.keep(clean) is True and step.keep(dirty) is True
        assert clean.meta["lexical"]["gambling_density"] <= 1.0
        assert dirty.meta["lexical"]["gambling_density"] > 3 * max(
            1.0, clean.meta["lexical"]["gambling_density"]
        )
    strict = LexicalSignals(remove=True)
    strict.ensure_setup()
    assert strict.keep(Document("d", injected, "t")) == "low_quality:gambling"
    assert strict.keep(Document("c", held_out_wiki[0], "t")) is True


def test_hospital_ad_links_score_as_medical_and_contact(shared: Path) -> None:
    """A real health-portal page (39.net, in the magic-html set): its hospital ad anchors
    against its own article."""
    import json

    from mdfs.fine.labelled import _anchors

    root = shared / "data" / "web" / "main_text" / "article"
    sha = "0987b0ff61a8eca73758b6c328af71dca752bdfa9e7e0139dad6f08c29252960"
    html = (root / "htmls" / f"{sha}.html").read_text(encoding="utf-8", errors="replace")
    article = json.loads((root / "gold.json").read_text(encoding="utf-8"))[sha]["content"]
    ads = "\n".join(a for a in _anchors(html)[0] if "医院" in a or "白癜风" in a)
    step = LexicalSignals()
    step.ensure_setup()
    page_ads, page_article = Document("a", ads, "t"), Document("b", article, "t")
    step.keep(page_ads)
    step.keep(page_article)
    assert (
        page_ads.meta["lexical"]["medical_density"]
        > 2 * page_article.meta["lexical"]["medical_density"]
    )


def test_keyword_stuffing_and_title_mismatch(held_out_wiki: list[str]) -> None:
    article = held_out_wiki[1]
    stuffed = article.replace("，", "，北京治疗白癜风，")
    assert top_ngram_share(stuffed) > 1.5 * top_ngram_share(article)
    title = held_out_wiki[2][:20]
    own_title = article[:20]
    assert title_overlap(own_title + "\n" + article) > title_overlap(title + "\n" + article)
    assert title_overlap(article) is None  # a first line that is no title


# -- URL signals ---------------------------------------------------------------------------


def test_url_shapes_of_news_sites_and_station_groups(shared: Path) -> None:
    import json

    gold = json.loads(
        (shared / "data" / "web" / "main_text" / "article" / "gold.json").read_text("utf-8")
    )
    news_urls = [record["url"] for record in gold.values() if record.get("url")]
    blocked = [w for _, w in read_words(default_lexicon("blocked_domains.txt"))]
    step = UrlSignals(remove=True)
    step.ensure_setup()
    for url in news_urls:  # real article URLs: no rule fires
        assert step.keep(Document("n", "正文", "t", url)) is True, url
    assert step.keep(Document("b", "正文", "t", f"http://www.{blocked[0]}/")) == "low_quality:url"
    # the blocked domain itself and any sub-domain of it, never a domain that only ends alike
    domain = next(d for d in blocked if d.count(".") == 1 and f"www.{d}" not in blocked)
    for host in (domain, f"bbs.{domain}", f"a.b.{domain}"):
        assert step.keep(Document("b", "正文", "t", f"http://{host}/x")) == "low_quality:url", host
    assert step.keep(Document("b", "正文", "t", f"http://not{domain}/")) is True
    # a station-group host: generated numeric sub-domain under a cheap TLD
    spam = Document("s", "正文", "t", "http://8823.k7ldq.xyz/news/20210813/1234567.html")
    assert step.keep(spam) == "low_quality:url"
    figures = spam.meta["url"]
    assert figures["random_subdomain"] == 1 and figures["cheap_tld"] == 1
    assert figures["host_max_digit_run"] == 4
    assert "url" not in Document("x", "正文", "t").meta  # no URL, no figures
    assert UrlSignals().keep(Document("x", "正文", "t")) is True


# -- combiner ------------------------------------------------------------------------------


def _toy_combiner() -> Combiner:
    """Hand-set weights: gambling and perplexity push toward low, contact toward ad."""
    features = ["gambling_evidence", "log_perplexity", "contact_density"]
    coef = np.array([[-1.0, -1.0, -1.0], [2.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    return Combiner(features, np.zeros(3), np.ones(3), coef, np.array([2.0, 0.0, 0.0]), 0.5)


def test_combiner_file_round_trip(tmp_path: Path) -> None:
    shipped = Combiner.load(DEFAULT_COMBINER)
    shipped.save(tmp_path / "c.json")
    again = Combiner.load(tmp_path / "c.json")
    assert again.features == shipped.features and again.high_threshold == shipped.high_threshold
    rows = [{"log_perplexity": 5.0, "quality_high": 0.2}, {}]
    assert np.allclose(
        again.probabilities(again.standardise(rows)),
        shipped.probabilities(shipped.standardise(rows)),
        atol=1e-5,
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"features": ["shoe_size"]}', encoding="utf-8")
    with pytest.raises(UserError):
        Combiner.load(bad)


def test_decision_names_the_deciding_signal(tmp_path: Path) -> None:
    path = tmp_path / "toy.json"
    _toy_combiner().save(path)
    step = FineDecision(model=str(path))
    step.ensure_setup()
    clean = Document("c", "正文", "t", meta={"lexical": {"gambling_evidence": 0.0}})
    assert step.keep(clean) is True and clean.meta["fine"]["label"] == "high"
    gambling = Document("g", "正文", "t", meta={"lexical": {"gambling_evidence": 50.0}})
    assert step.keep(gambling) == "low_quality:gambling"
    assert gambling.meta["fine"]["signal"] == "gambling"
    spun = Document("s", "正文", "t", meta={"fluency": {"perplexity": 5000.0}})
    assert step.keep(spun) == "low_quality:perplexity"
    ad = Document("a", "正文", "t", meta={"lexical": {"contact_density": 100.0}})
    assert step.keep(ad) == "advertisement:contact"
    assert set(ad.meta["fine"]["scores"]) == {"high", "low", "ad"}


def test_default_fine_stage_removes_real_gambling_ads_and_keeps_prose(
    held_out_wiki: list[str], shared: Path
) -> None:
    from mdfs.fine.combiner_training import score_signals, signal_steps

    ads = _sms_ads(shared, ("博彩", "娱乐城", "彩金"), 5)
    prose = held_out_wiki[:6]
    documents = [Document(str(i), t, "t") for i, t in enumerate(prose + ads)]
    scored = score_signals(documents, signal_steps(bert=True))
    decision = FineDecision()
    decision.ensure_setup()
    verdicts = [decision.keep(d) for d in scored]
    # the shipped threshold is strict (0.9 precision of the kept documents on its training
    # mix), so some held-out prose goes too; no gambling ad is kept
    assert sum(v is True for v in verdicts[: len(prose)]) >= len(prose) // 2
    assert all(v is not True for v in verdicts[len(prose) :])
    high = [d.meta["fine"]["scores"]["high"] for d in scored]
    assert min(high[: len(prose)]) > max(high[len(prose) :])
    assert all(v.split(":")[0] in {"low_quality", "advertisement"} for v in verdicts[6:])
    assert all(d.meta["fine"]["label"] in {"high", "low", "ad"} for d in scored)


def test_one_ambiguous_word_in_a_short_text_removes_nothing(held_out_wiki: list[str]) -> None:
    """A single gambling or porn word is dense in a short text but no evidence: Wikipedia's
    snakes have 肛鳞 and its rivers 金沙江. Three such words are."""
    strict = LexicalSignals(remove=True)
    strict.ensure_setup()
    short = "金沙江畔的这种蛇腹部呈红色，肛门位置有一片二分式的肛鳞。"
    assert strict.keep(Document("s", short, "t")) is True
    stuffed = short + "百家乐真人视讯，娱乐城注册送彩金。"
    assert strict.keep(Document("g", stuffed, "t")) == "low_quality:gambling"


def test_a_records_own_title_is_compared_with_its_body(held_out_wiki: list[str]) -> None:
    """Station-group pages keep a keyword title over any body: the record's `title` field
    (in meta) is used when there is one, not the body's first line."""
    step = LexicalSignals()
    step.ensure_setup()
    article = held_out_wiki[3]
    own = Document("o", article, "t", meta={"title": article[:16]})
    foreign = Document("f", article, "t", meta={"title": "成都银康银屑病医院"})
    step.keep(own)
    step.keep(foreign)
    assert own.meta["lexical"]["title_overlap"] == 1.0
    assert foreign.meta["lexical"]["title_overlap"] < 0.5


def test_a_title_over_a_borrowed_body_removes_the_record(
    shared: Path, held_out_wiki: list[str]
) -> None:
    """ChineseWebText's dirty record 0 is construction-cost notes under the title 金沙游乐场
    (a hijacked site): its title's gambling word is nowhere in the body. A report on gambling
    uses its title's words in its text and is not judged by its title. Record 7's hospital
    title shares under a fifth of its characters with its body."""
    strict = LexicalSignals(remove=True)
    strict.ensure_setup()
    line = (shared / "data/web/ccnet_labelled/dirty.jsonl").read_text("utf-8").splitlines()[0]
    record = json.loads(line)
    hijacked = Document("h", record["text"], "t", meta={"title": record["info"]["title"]})
    assert strict.keep(hijacked) == "low_quality:title_hijacked"
    assert hijacked.meta["lexical"]["title_junk_hits"] == 1
    article = held_out_wiki[4]
    report = Document("r", "警方称，该团伙以百家乐为名。" + article, "t", meta={"title": "百家乐"})
    assert strict.keep(report) is True
    assert report.meta["lexical"]["title_junk_hits"] == 0
    untitled = Document("u", record["text"], "t")
    strict.keep(untitled)
    assert "title_junk_hits" not in untitled.meta["lexical"]
    # a title written for another page: 成都银康银屑病医院 over dirty record 7's body
    line = (shared / "data/web/ccnet_labelled/dirty.jsonl").read_text("utf-8").splitlines()[7]
    record = json.loads(line)
    foreign = Document("f", record["text"], "t", meta={"title": record["info"]["title"]})
    assert strict.keep(foreign) == "low_quality:title_mismatch"
    assert foreign.meta["lexical"]["title_overlap"] < 0.2
    assert strict.keep(Document("f", record["text"], "t")) is True  # no own title: no verdict
    lenient = LexicalSignals(remove=True, min_title_overlap=0.0)
    lenient.ensure_setup()
    assert lenient.keep(Document("f", record["text"], "t", meta=dict(foreign.meta))) is True
    # scores only, unless the step removes
    scoring = LexicalSignals()
    scoring.ensure_setup()
    assert scoring.keep(Document("h", record["text"], "t", meta=dict(hijacked.meta))) is True


def test_one_junk_word_in_clean_prose_is_no_evidence(shared: Path) -> None:
    """Wikipedia's 玖岛城 names its lord 加藤 and 猴面包树 cooks its leaves like 菠菜: one porn
    or gambling word each. The densities count it; the evidence the combiner reads starts at
    the second hit, so the default fine stage keeps both paragraphs (it removed them when
    the combiner read the densities). Overlapping words are one hit: 六合彩, not also 合彩."""
    from mdfs.fine.combiner_training import score_signals, signal_steps

    paragraphs = {title: text for text, title in _wikipedia(Sources(shared / "data"))}
    titles = ["玖岛城", "猴面包树"]
    documents = [Document(t, paragraphs[t], "t") for t in titles]
    scored = score_signals(documents, signal_steps(bert=True))
    decision = FineDecision()
    decision.ensure_setup()
    for document in scored:
        figures = document.meta["lexical"]
        assert figures["gambling_hits"] == 1, document.id
        assert figures["gambling_density"] + figures["porn_density"] > 0
        assert figures["gambling_evidence"] == figures["porn_evidence"] == 0
        assert decision.keep(document) is True, document.id
    step = LexicalSignals()
    step.ensure_setup()
    step.keep(twice := Document("t", "他买了六合彩。" * 3, "t"))
    assert twice.meta["lexical"]["gambling_hits"] == 3
    assert twice.meta["lexical"]["gambling_evidence"] == 20.0  # 2 hits after the first / 100


def test_a_report_repeating_one_contact_word_is_no_ad(shared: Path) -> None:
    """People's Daily's story on children's pay-phone bills says 电话 over twenty times: one
    advertising word, however dense, is the report's subject. An ad uses several."""
    strict = LexicalSignals(remove=True)
    strict.ensure_setup()
    article = next(
        "\n".join(a) for a in _peoples_daily(Sources(shared / "data")) if "拒缴电话费" in "".join(a)
    )
    report = Document("r", article, "t")
    assert strict.keep(report) is True
    figures = report.meta["lexical"]
    assert figures["advertising_hits"] >= 20 and figures["advertising_words"] < 3
    assert figures["contact_density"] >= strict.max_ad_density
    ad = Document("a", "专业祛斑，咨询电话13800000000，加微信免费领取优惠券。" * 2, "t")
    assert strict.keep(ad) == "advertisement:lexical"


def test_line_shape_counts_characters_of_finished_sentences(shared: Path) -> None:
    """A one-paragraph article whose last words are a link (大莱龙铁路官方网站) is prose up to
    there; a navigation line ends no sentence."""
    paragraphs = {title: text for text, title in _wikipedia(Sources(shared / "data"))}
    railway = next(t for t in paragraphs.values() if t.endswith("大莱龙铁路官方网站"))
    _, finished = line_shape(railway)
    assert 0.9 < finished < 1.0
    assert line_shape("首页 > 新闻 > 国内\n今天天气很好。")[1] == 7 / 19


def test_words_of_ordinary_prose_are_no_porn_evidence() -> None:
    """亚热带, 三级历史建筑 and 成人教育 hold porn-list words as substrings; the ambiguous list
    (scripts/ambiguous_signal_words.py) keeps them from counting, while the list's
    unambiguous words still count."""
    step = LexicalSignals()
    step.ensure_setup()
    prose = "鲤鱼门天后庙位于亚热带海岸，现被列为香港三级历史建筑，庙旁设有成人教育中心。"
    step.keep(document := Document("p", prose, "t"))
    assert document.meta["lexical"]["porn_density"] == 0.0
    ambiguous = {w for _, w in read_words(default_lexicon("signals_ambiguous.txt"))}
    assert {"亚热", "三级", "成人"} <= ambiguous
    counting = LexicalSignals(ambiguous_files=[])
    counting.ensure_setup()
    counting.keep(document := Document("p", prose, "t"))
    assert document.meta["lexical"]["porn_density"] > 0
    step.keep(document := Document("s", prose + "色情片在线观看。", "t"))
    assert document.meta["lexical"]["porn_density"] > 0


def test_threshold_balances_kept_good_and_good_kept_at_the_crawls_share() -> None:
    """Twenty good documents among sixty: the threshold that best balances the two figures
    at a third good is 0.6 (18 of 20 good kept, 18 of 20 kept good); weighting the same
    documents to a tenth good raises it, since each junk document kept then costs more."""
    p_high = np.array([0.9] * 16 + [0.6] * 2 + [0.3] * 2 + [0.6] * 2 + [0.5] * 3 + [0.1] * 35)
    is_high = np.array([True] * 20 + [False] * 40)
    assert choose_threshold(p_high, is_high, 1 / 3) == 0.6
    assert choose_threshold(p_high, is_high, 0.1) == 0.9
    assert choose_threshold(p_high, np.zeros(60, dtype=bool), 1 / 3) == 0.5


def test_densities_are_hits_per_thousand_characters_a_short_text_as_a_hundred() -> None:
    """Worked by hand: one gambling word and one porn word (both count as gambling hits) in
    a text of 20 characters (read as 100) and of 500; one advertising word per category."""
    step = LexicalSignals()
    step.ensure_setup()
    short = Document("s", "赌场色情网站" + "。" * 14, "t")
    long = Document("l", "赌场色情网站" + "。" * 494, "t")
    for document in (short, long):
        step.keep(document)
    assert short.meta["lexical"]["gambling_hits"] == long.meta["lexical"]["gambling_hits"] == 2
    assert short.meta["lexical"]["gambling_density"] == 10.0  # 1 hit per 100 characters
    assert short.meta["lexical"]["porn_density"] == 10.0
    assert long.meta["lexical"]["gambling_density"] == 2.0  # 1 hit in 500
    assert long.meta["lexical"]["medical_density"] == 0.0
