import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from mdfs.collect.extract import extract_main_text

PAGES = Path(__file__).parent.parent / "fixtures" / "pages"


def char_f1(extracted: str, gold: str) -> float:
    got = Counter(c for c in extracted if not c.isspace())
    want = Counter(c for c in gold if not c.isspace())
    common = sum((got & want).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def load(name: str) -> tuple[str, str]:
    html = (PAGES / f"{name}.html").read_text(encoding="utf-8")
    gold = (PAGES / f"{name}.gold.txt").read_text(encoding="utf-8")
    return html, gold


@pytest.mark.parametrize("name", ["people_health", "163_dy"])
def test_fixture_matches_gold(name: str) -> None:
    html, gold = load(name)
    text = extract_main_text(html)
    assert char_f1(text, gold) >= 0.8
    # Every gold paragraph of prose comes out whole, on its own line (short credit lines
    # such as "(责编：…)" may be trimmed).
    lines = set(text.splitlines())
    for paragraph in gold.splitlines():
        if len(paragraph) >= 20:
            assert paragraph.strip() in lines


def test_people_page_drops_navigation_and_footer() -> None:
    html, _ = load("people_health")
    text = extract_main_text(html)
    for boilerplate in [
        "用户中心",
        "热门点击排行榜",
        "护士·我的职业选择",
        "人民日报社概况",
        "京ICP证",
    ]:
        assert boilerplate not in text
    assert text.startswith("本报讯（记者叶婉）")


def test_163_page_drops_headline_list_and_comment_bar() -> None:
    html, gold = load("163_dy")
    text = extract_main_text(html)
    for boilerplate in [
        "网易首页",
        "返回网易首页",
        "热门跟贴",
        "张镇麟当选2024CBA总决赛",
        "分享至",
    ]:
        assert boilerplate not in text
    assert "苹果公司否认了政府关于 iPhone 让消费者锁定这些设备的说法。" in text
    # The article is short; a page-wide dump would be many times the gold.
    assert len(text) < 2 * len(gold)


def test_paragraphs_are_separated_by_newlines() -> None:
    html, _ = load("people_health")
    lines = extract_main_text(html).split("\n")
    assert len(lines) == 3
    assert all(line == line.strip() and line for line in lines)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   \n\t",
        "no markup at all",
        "<html><body></body></html>",
        "\x00\x01\x02\xff" * 1000,
        "<" * 10_000,
        "<div>" * 20_000,
        "<a href='x'>" * 5_000,
    ],
)
def test_junk_gives_empty_or_text_never_raises(junk: str) -> None:
    assert isinstance(extract_main_text(junk), str)


def test_non_string_input_gives_empty() -> None:
    assert extract_main_text(None) == ""  # type: ignore[arg-type]
    assert extract_main_text(b"<p>bytes</p>") == ""  # type: ignore[arg-type]


def test_huge_page_is_capped_and_keeps_article() -> None:
    html, _ = load("people_health")
    # 50 MB: an inline data blob before the article and an endless link list after it.
    blob = "<script>var x = '" + "x" * 30_000_000 + "';</script>"
    links = "<ul>" + "<li><a href='/n'>热门新闻标题</a></li>" * 700_000 + "</ul>"
    head, tail = html.split("<body", 1)
    huge = head + blob + "<body" + tail.replace("</body>", links + "</body>")
    assert len(huge) > 50_000_000
    text = extract_main_text(huge)
    assert "本报讯（记者叶婉）" in text


def test_prose_without_boilerplate_is_kept() -> None:
    body = "".join(f"<p>这是第{i}段正文，内容完整，句子通顺，没有任何链接。</p>" for i in range(5))
    text = extract_main_text(f"<html><body>{body}</body></html>")
    assert text.splitlines() == [
        f"这是第{i}段正文，内容完整，句子通顺，没有任何链接。" for i in range(5)
    ]


def _step_verdicts(step, pages: list[str]) -> list[str]:
    """What the extract step did with each page: "kept" or the reason it was removed."""
    from mdfs.document import Document, Removed

    documents = [
        Document(id=str(i), text=p, source="t", meta={"format": "html"})
        for i, p in enumerate(pages)
    ]
    return [
        item.reason if isinstance(item, Removed) else "kept" for item in step.run(iter(documents))
    ]


def test_extract_step_skips_pages_without_chinese_only_when_asked() -> None:
    from mdfs.collect.steps import Extract

    chinese, _ = load("people_health")
    # the same real page with every Chinese character replaced: nothing a Chinese recipe keeps
    latin = "".join("x" if "\u4e00" <= ch <= "\u9fff" else ch for ch in chinese)
    escaped = (
        "<html><body><p>" + "&#20013;&#25991;，" * 40 + "</p></body></html>"
    )  # 中文 by reference
    pages = [chinese, latin, "<p>An English page, caf\u00e9 \u2019quoted\u2019.</p>", escaped]

    assert _step_verdicts(Extract(skip_without_cjk=True), pages) == [
        "kept", "no_cjk", "no_cjk", "kept",
    ]  # fmt: skip
    # off (the step's default): every page is parsed, the Latin ones keep their text
    assert _step_verdicts(Extract(), pages) == ["kept"] * 4


def test_a_page_without_main_text_is_removed_with_its_html() -> None:
    from mdfs.collect.steps import Extract
    from mdfs.document import Document, Removed

    page = "<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>"
    (item,) = Extract().run(
        iter([Document(id="p", text=page, source="t", meta={"format": "html"})])
    )
    assert isinstance(item, Removed) and item.reason == "no_main_text"
    assert item.document.text == page  # what the step was given, to see why


# -- threads, list pages, fallback -----------------------------------------------------------


@pytest.mark.parametrize("name", ["phpbb_debian", "flaskbb"])
def test_thread_keeps_every_post_in_order(name: str) -> None:
    html, gold = load(name)
    text = extract_main_text(html)
    assert char_f1(text, gold) >= 0.9
    # every post body's opening line comes out, in the page's order
    firsts = {
        "phpbb_debian": [
            "Hello guys!",
            "There are several places, where such upgradings are stored:",
        ],
        "flaskbb": [
            "Hello i want to install FlaskBB on windows 10",
            "Could you elaborate a bit more",
            "i didn't understand how to do it on windows",
            "While it is recommended to install the dependencies",
            "my comment goes here for the test",
        ],
    }[name]
    positions = [text.find(first) for first in firsts]
    assert -1 not in positions and positions == sorted(positions)


def test_thread_drops_user_names_dates_and_buttons() -> None:
    html, _ = load("phpbb_debian")
    text = extract_main_text(html)
    for chrome in ["kikinder", "Joined: 2023-10-30", "Post Reply", "Quote", "Posts: 3"]:
        assert chrome not in text


def test_board_list_page_yields_little() -> None:
    html = (PAGES / "discuz_board_list.html").read_text(encoding="utf-8")
    assert len(extract_main_text(html)) < 100


def test_thread_list_with_teasers_yields_nothing() -> None:
    # tieba's thread list: every record is a title link, a user name and a teaser snippet of
    # the thread; the teasers are prose the post template repeats, yet no text of the page
    html = (PAGES / "tieba_thread_list.html").read_text(encoding="utf-8")
    assert "8月1日，青海省格尔木公安局通报称" in html  # a teaser the posts path finds
    assert len(extract_main_text(html)) < 100


def test_article_beside_a_longer_live_feed_is_found(shared: Path) -> None:
    # sina finance: a 300-character news item beside a stock-market live feed with more prose
    # (records headed by their authors' links); the feed is a list, the article the rest
    page = shared / "data" / "web" / "news_pages" / "article_pages" / "sina" / "2.html"
    text = extract_main_text(page.read_text(encoding="utf-8"))
    assert "有60万个“12306账号”和410万条联系人数据在暗网低价出售" in text
    assert "铁路12306网站未发生用户信息泄漏" in text
    assert "老师回答" not in text and len(text) < 400


def test_thread_opens_with_its_title(shared: Path) -> None:
    # the whole phpBB page (the fixture lost its title when cut down): the site's name is the
    # page's <h1>, the topic's title the <h2> nearest the posts; the gold starts with it
    forum = shared / "data" / "web" / "main_text" / "forum_other_languages" / "htmls"
    (page,) = forum.glob("5d5c1f0e*.html")
    text = extract_main_text(page.read_text(encoding="utf-8"))
    title = "Auto-rebuild code (nginx module) on debian package upgrade (nginx)"
    assert text.startswith(title + "\nHello guys!\n")
    assert text.count(title) == 1 and "Debian User Forums" not in text


def test_fallback_adds_what_the_primary_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    import mdfs.collect.extract as extract

    html, _ = load("talkyard_short")
    text = extract_main_text(html)  # the line scores find one short post: trafilatura tries
    assert "Progress!" in text and "da fuq is going on?" in text
    monkeypatch.setattr(extract, "FALLBACK_BELOW_CHARS", 0)
    assert extract_main_text(html) == "My issue is this, da fuq is going on?"


def test_short_news_flash_survives_the_default_rules() -> None:
    from mdfs.collect.steps import Extract
    from mdfs.document import Document
    from mdfs.recipe import load_recipe

    html = (PAGES / "hexun_flash.html").read_text(encoding="utf-8")
    document = Document(id="flash", text=html, source="t", meta={"format": "html"})
    (extracted,) = Extract().run(iter([document]))
    assert extracted.text.startswith("据财联社9月26日消息")
    assert len(extracted.text) < 200  # shorter than ChineseWebText's min_chars
    (rules,) = [step for step in load_recipe().steps if step.name == "quality_rules"]
    assert rules.keep(extracted) is True
    # what the exception does not let through: a title, a footer, a cut-off teaser
    for text in [
        "京津冀交通一体化建设取得积极成效 下一步将打造三地综合立体交通网络",
        "网站首页 | 关于我们 | 联系我们 | 版权所有 © 2020 某某公司 保留所有权利。",
        "据财联社9月26日消息，今日从交通运输部行新闻发布会获悉，目前京津冀交通一体化建设各项"
        "工作取得积极成效，下一步将着力打造三地综合立体交通网络，实现区域内快速铁路覆盖",
    ]:
        assert rules.keep(Document(id="x", text=text, source="t")) == "too_short"


# -- replies under a topic or an article ------------------------------------------------------

ZH_FORUM = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "zh_forum"


def zh_page(url: str) -> tuple[str, str]:
    """A page of the Chinese forum gold set (one of its "tune" half) and its gold text."""
    key = hashlib.sha256(url.encode()).hexdigest()
    gold = json.loads((ZH_FORUM / "gold.json").read_text(encoding="utf-8"))[key]["content"]
    return (ZH_FORUM / "htmls" / f"{key}.html").read_text(encoding="utf-8"), gold


def test_replies_with_other_markup_than_the_topic_are_kept() -> None:
    # V2EX: the topic body is one template (`topic_content`), its 24 replies another
    # (`reply_content`) under "25 条回复"; the replies do not hold the topic, yet they are its text
    html, gold = zh_page("https://www.v2ex.com/t/664539")
    text = extract_main_text(html)
    assert char_f1(text, gold) >= 0.9
    firsts = [
        "百度网盘道歉 将对“用户激励计划”全部用户做取消处理",
        "4 月 20 日晚间，百度网盘做出回应",
        "伸手必被捉，当大家白痴么",
        "怎么才能证明是真的取消，而不是被隐藏",
    ]
    positions = [text.find(first) for first in firsts]
    assert -1 not in positions and positions == sorted(positions)
    for chrome in ["msn1983aa", "小时", "条回复"]:  # user names, dates, the replies' heading
        assert chrome not in text


def test_comments_under_an_article_are_kept_each_once() -> None:
    # guancha: the article, then "全部评论 23条"; hot comments are shown again in the full list.
    # The comments hang under the article's headline, which opens the text.
    html, gold = zh_page("http://www.guancha.cn/industry-science/2019_09_07_516923.shtml")
    text = extract_main_text(html)
    assert char_f1(text, gold) >= 0.9
    assert text.startswith(
        "我国集成电路进口突破3000亿美元！魏少军：产业结构扭曲，没将产品作为中心\n"
    )
    comment = "高端的芯片做不到，那做些低端、容易一点的吧。"
    assert html.count(comment) >= 2 and text.count(comment) == 1
    assert text.index("魏少军指出，全球每生产3块集成电路就有2块运到中国来") < text.index(comment)


def test_a_repeated_block_after_an_article_is_no_comment_list(shared: Path) -> None:
    # gmw: a photo feed of captions follows the article, repeated by one template like
    # comments, but under no heading that counts replies; the article alone stays
    article = shared / "data" / "web" / "main_text" / "article" / "htmls"
    gold = json.loads((article.parent / "gold.json").read_text(encoding="utf-8"))
    (page,) = [key for key, entry in gold.items() if "content_37319243" in entry["url"]]
    text = extract_main_text((article / f"{page}.html").read_text(encoding="utf-8"))
    assert "奔跑吧·少年2024年内蒙古自治区棒垒球邀请赛在鄂尔多斯市康巴什区开赛" not in text
    assert char_f1(text, gold[page]["content"]) >= 0.95


def test_a_comment_list_of_names_and_dates_adds_nothing() -> None:
    # 163 (dy): the template that repeats most under "跟贴 19" holds each comment's user name,
    # place and time, not its words; the article stays alone
    html, _ = zh_page("http://dy.163.com/v2/article/detail/EFDAIN1E054550F0.html")
    text = extract_main_text(html)
    assert "由于京沪高速尤其是江阴大桥由南往北段封闭施工" in text
    assert "网易北京手机网友" in html and "网易北京手机网友" not in text
    assert "2019-05-17 20:33:49" not in text


# -- the edges of an article (zh_article set, its "tune" half) ---------------------------------

ZH_ARTICLE = ZH_FORUM.parent / "zh_article"
GNE_ARTICLES = Path("data") / "web" / "news_pages" / "article_pages"


def zh_article_page(url: str) -> tuple[str, str]:
    """A page of the Chinese article gold set (one of its "tune" half) and its gold text."""
    key = hashlib.sha256(url.encode()).hexdigest()
    assert hashlib.sha256(key.encode()).digest()[0] % 2 == 0, "a held-out page"
    gold = json.loads((ZH_ARTICLE / "gold.json").read_text(encoding="utf-8"))[key]["content"]
    return (ZH_ARTICLE / "htmls" / f"{key}.html").read_text(encoding="utf-8"), gold


def test_a_related_articles_heading_ends_the_article() -> None:
    # ednchina: after the article, share and comment boxes, then "您可能感兴趣的文章" with
    # long punctuated teasers that outweigh them; the article ends before the boxes
    html, gold = zh_article_page("gne:article_pages/ednchina/1.html")
    text = extract_main_text(html)
    assert char_f1(text, gold) >= 0.95
    assert "未来，阿里成为软硬件一体化协同发展的公司。" in text  # the last paragraph
    for after in ["您可能感兴趣的文章", "拆解iPhone11 Pro Max", "暂无评论", "我要评论"]:
        assert after in html and after not in text
    # people.cn: "推荐阅读" and its teasers follow the editor's credit and the page links
    html, _ = zh_article_page("http://culture.people.com.cn/n1/2019/0615/c1013-31153719.html")
    text = extract_main_text(html)
    assert text.endswith("字里行间都是对儿子的爱。")
    assert "致敬改革开放四十年" not in text and "责编" not in text


def test_a_bootstrap_modal_is_no_page_text() -> None:
    # ednchina: a magazine notice in a `class="modal"` dialog, hidden until a link opens it
    html, _ = zh_article_page("gne:article_pages/ednchina/1.html")
    notice = "我司杂志提供免费订阅"
    assert notice in html and notice not in extract_main_text(html)
    assert extract_main_text(f'<div class="modal"><p>{notice}。</p></div>') == ""


def test_the_dateline_under_a_headline_is_trimmed() -> None:
    # date, source and author in one line above a one-paragraph news item (stcn), date and
    # site above a games news item (gamersky)
    html, _ = zh_article_page("gne:article_pages/stcn/1.html")
    assert extract_main_text(html).startswith("证券时报e公司讯，当升科技")
    html, _ = zh_article_page("https://ol.gamersky.com/news/201909/1220000.shtml")
    text = extract_main_text(html)
    assert text.startswith("《逆水寒》每周的版本更新都安排在周四")
    assert "游民星空[整理]" not in text


def test_the_editor_credit_ends_the_article(shared: Path) -> None:
    # sina finance: "责任编辑" under the article, then the comment box and a live feed of
    # headlines and teasers longer than the comment box; the article ends at the credit
    page = shared / GNE_ARTICLES / "sina" / "3.html"
    html = page.read_text(encoding="utf-8")
    text = extract_main_text(html)
    assert text.endswith("并通过同时购买政府和企业债券重启量化宽松。（完）")
    assert "科技牛来临？创业板暴涨" in html and "科技牛来临" not in text


def test_an_editor_credit_above_most_of_the_article_does_not_end_it() -> None:
    body = "".join(
        f"<p>第{n}段：这是正文的一段话，讲述事情的经过，也有人物的说法和记者的观察。</p>"
        for n in range(8)
    )
    lead = "<p>导语：这是一段放在编辑署名之前的导语，简要介绍本文的内容。</p>"
    text = extract_main_text(f"<html><body>{lead}<p>责任编辑：张三</p>{body}</body></html>")
    assert text.startswith("导语：") and text.endswith(
        "第7段：这是正文的一段话，讲述事情的经过，也有人物的说法和记者的观察。"
    )


def test_reprint_notes_at_the_edges_are_trimmed(shared: Path) -> None:
    # 163: "（原标题：…）" opens a reprinted article, "本文来源：… 责任编辑：…" closes it
    html = (shared / GNE_ARTICLES / "163" / "1.html").read_text(encoding="utf-8")
    text = extract_main_text(html)
    assert "（原标题：多地项目连环爆雷" in html and "原标题" not in text
    assert "本文来源：证券市场红周刊" in html and "本文来源" not in text
    assert text.startswith("2019年，龙湖集团即将迎来赴港上市10周年。")


def test_a_code_block_inside_an_article_is_kept_line_by_line() -> None:
    # WeChat's editors write code as <pre><code> with a <br> per line; the rendering keeps those
    # as tags, and lines of code carry no clause marks, yet they are the tutorial's text
    prose = "<p>我们来看这样一个场景：我有一个函数，它从队列中持续读入数据，并写入数据库中。</p>"
    code = "<br>".join(
        ["import json", "import redis", "client = redis.Redis()", "def parse():",
         "    data = client.lpop('test')", "    if not data:", "        return"]
    )  # fmt: skip
    after = "<p>但现在我想增加一个需求，当读取结束或者读取报错的时候，把当前时间也写进去。</p>"
    nav = "".join(f'<a href="/c{n}">栏目{n}</a> ' for n in range(20))
    html = f"<html><body><div>{nav}</div>{prose}<pre><code>{code}</code></pre>{after}</body></html>"
    lines = extract_main_text(html).splitlines()
    assert lines[1:4] == ["import json", "import redis", "client = redis.Redis()"]
    assert lines[-1].startswith("但现在我想增加一个需求")
    assert not any("栏目" in line for line in lines)


def test_a_code_only_post_is_main_text() -> None:
    # a how-to that is headings and shell commands, no prose: the code is what it says
    commands = [
        "export https_proxy=http://127.0.0.1:59727", "export http_proxy=http://127.0.0.1:59727",
        "source ~/.bashrc", "echo $https_proxy", "curl -v https://www.google.com",
    ]  # fmt: skip
    pre = "<pre>" + "\n".join(commands) + "</pre>"
    links = "".join(f'<p><a href="/a{n}">推荐文章标题第{n}篇</a></p>' for n in range(10))
    text = extract_main_text(f"<html><body><h1>设置代理</h1>{pre}<div>{links}</div></body></html>")
    assert text.splitlines() == commands


def test_a_platform_statement_ends_the_article_before_the_next_one() -> None:
    # 360kuai, sohu and 163 close a user's article with "本平台仅提供信息存储服务"; 360kuai then
    # appends the next article whole, longer than the first
    first = (
        "<p>据报道，美国官员表示，没有证据表明该事件中存在谋杀行为，全面调查仍在进行中。</p>"
        "<p>他称，事发地点天气糟糕，大雾弥漫，所以这看起来像是一起事故。</p>"
    )
    statement = "<p>以上内容为创作者平台用户上传并发布，本平台仅提供信息存储服务</p>"
    second = "".join(
        f"<p>第{n}段：这是下一篇文章的一段话，讲述另一位歌手的故事，和上一篇毫无关系。</p>"
        for n in range(6)
    )
    text = extract_main_text(f"<html><body>{first}{statement}{second}</body></html>")
    assert text.splitlines() == [
        "据报道，美国官员表示，没有证据表明该事件中存在谋杀行为，全面调查仍在进行中。",
        "他称，事发地点天气糟糕，大雾弥漫，所以这看起来像是一起事故。",
    ]
