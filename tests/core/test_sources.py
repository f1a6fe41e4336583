"""Yuan's other sources: Sogou news dumps, MediaWiki dumps, books and archives, end to end.

Every file is built here from real text (People's Daily sentences, Wikipedia paragraphs) in the
public formats' shapes, and read by `mdfs run` with an empty recipe, so what comes out is
exactly what the readers made.
"""

from __future__ import annotations

import bz2
import json
import lzma
import re
import tarfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from mdfs.cli import main
from tests.conftest import read_parts

_POS_TAG = re.compile(r"/[A-Za-z]+\s*")


@pytest.fixture(scope="module")
def sentences(shared: Path) -> list[str]:
    path = shared / "data" / "text" / "peoples_daily_199801_pos_tagged.txt"
    lines = path.read_text("utf-8").splitlines()[:400]
    return [_POS_TAG.sub("", line).replace(" ", "") for line in lines if len(line) > 80]


def run_plain(inputs: list[Path], output: Path) -> tuple[list[dict], dict]:
    recipe = output.parent / f"{output.name}.yaml"
    recipe.write_text("steps: []\n")
    args = ["run", *map(str, inputs), "-o", str(output), "--recipe", str(recipe), "--workers", "1"]
    assert main(args) == 0
    return read_parts(output / "corpus"), json.loads((output / "report.json").read_text())


def sogou_file(sentences: list[str]) -> bytes:
    records = []
    for i in range(3):
        body = "\ue40c".join(sentences[i * 3 : i * 3 + 3])
        title = sentences[10 + i][:20]
        records.append(
            f"<doc>\n<url>http://news.sohu.com/2012/{i}.shtml</url>\n<docno>sohu-{i}</docno>\n"
            f"<contenttitle>{title}</contenttitle>\n<content>{body}</content>\n</doc>\n"
        )
    records[1] = records[1].replace("<content>", "<content>中美贸易&合作论坛开幕。")  # unescaped &
    records.append("<doc>\n<url>http://news.sohu.com/x.shtml</url>\n<docno>sohu-9</docno>\n")
    data = "".join(records).encode("gb18030")
    stray = data.index("论坛".encode("gb18030"))
    return data[:stray] + b"\xff" + data[stray:]  # one stray byte inside a record


def test_sogou_news_gb18030_with_unescaped_ampersand_and_stray_byte(
    sentences: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "news_tensite_xml.dat"
    path.write_bytes(sogou_file(sentences))
    with zipfile.ZipFile(tmp_path / "sogou.zip", "w") as archive:
        archive.write(path, "SogouCA/news_tensite_xml.dat")
    docs, report = run_plain([path, tmp_path / "sogou.zip"], tmp_path / "out")
    assert len(docs) == 6  # three records, twice
    plain = sorted((d for d in docs if d["source"] == str(path)), key=lambda d: d["id"])
    assert [d["id"] for d in plain] == ["sohu-0", "sohu-1", "sohu-2"]
    first = plain[0]
    assert first["url"] == "http://news.sohu.com/2012/0.shtml"
    assert first["meta"]["title"] == sentences[10][:20]
    assert first["text"] == "\n".join([sentences[10][:20], *sentences[0:3]])
    assert "中美贸易&合作" in plain[1]["text"] and "\ufffd" in plain[1]["text"]  # one char lost
    assert "<" not in "".join(d["text"] for d in docs)
    zipped = [d for d in docs if d["source"].startswith("zip://")]
    assert sorted(d["text"] for d in zipped) == sorted(d["text"] for d in plain)
    # the record cut off at the end of each file is counted, not lost without a word
    assert report["errors"] == {"truncated_record": 2}
    assert report["sources"][str(path)] == {"in": 3, "kept": 3}


def mediawiki_dump(paragraphs: list[str]) -> str:
    def page(page_id: int, title: str, ns: int, text: str, redirect: bool = False) -> str:
        return (
            f"<page><title>{title}</title><ns>{ns}</ns><id>{page_id}</id>"
            + ('<redirect title="北京市" />' if redirect else "")
            + f"<revision><id>{page_id}0</id><timestamp>2021-10-01T00:00:00Z</timestamp>"
            f'<text bytes="1" xml:space="preserve">{escape(text)}</text></revision></page>'
        )

    article = (
        "{{Infobox city|name=北京|population=2189万}}\n"
        f"'''北京'''{paragraphs[0]}<ref>{{{{cite web|url=http://x.cn}}}}</ref>\n"
        f"== 历史 ==\n{paragraphs[1]} [[File:Beijing.jpg|thumb|天安门]]\n"
        '{| class="wikitable"\n|-\n| 区 || 人口\n|}\n'
        f"=== 近代 ===\n[[清朝|清代]]以后，{paragraphs[2]}\n[[Category:中国城市]]"
    )
    return (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xml:lang="zh">'
        "<siteinfo><sitename>维基百科</sitename></siteinfo>"
        + page(1, "北京", 0, article)
        + page(2, "北京市", 0, "#REDIRECT [[北京]]", redirect=True)
        + page(3, "Talk:北京", 1, "讨论")
        + page(4, "上海", 0, f"'''上海'''{paragraphs[3]}")
        + "</mediawiki>"
    )


def wiki_paragraphs(shared: Path) -> list[str]:
    path = sorted((shared / "data" / "text" / "cmrc2018_wikipedia").glob("*.json"))[0]
    data = json.loads(path.read_text("utf-8"))["data"]
    return [p["context"] for a in data for p in a["paragraphs"]][:4]


def test_mediawiki_dump_bz2_rendered_without_markup(shared: Path, tmp_path: Path) -> None:
    paragraphs = wiki_paragraphs(shared)
    path = tmp_path / "zhwiki-20211001-pages-articles.xml.bz2"
    path.write_bytes(bz2.compress(mediawiki_dump(paragraphs).encode("utf-8")))
    docs, report = run_plain([path], tmp_path / "out")
    assert [d["meta"]["title"] for d in docs] == ["北京", "上海"]
    beijing = docs[0]["text"].split("\n")
    assert beijing[0] == "北京"
    assert "历史" in beijing and "近代" in beijing  # headings kept as lines
    assert beijing[1].startswith("北京" + paragraphs[0][:10])
    assert f"清代以后，{paragraphs[2]}" in beijing
    text = docs[0]["text"]
    for markup in (
        "{{",
        "}}",
        "[[",
        "<ref",
        "cite web",
        "thumb",
        "wikitable",
        "Category",
        "2189万",
    ):
        assert markup not in text, markup
    assert report["errors"] == {"wiki_redirect": 1, "wiki_not_article": 1}


def test_truncated_mediawiki_dump_keeps_pages_before_the_damage(
    shared: Path, tmp_path: Path
) -> None:
    dump = mediawiki_dump(wiki_paragraphs(shared))
    path = tmp_path / "cut.xml"
    path.write_text(dump[: dump.index("<title>上海")], "utf-8")
    docs, report = run_plain([path], tmp_path / "out")
    assert [d["meta"]["title"] for d in docs] == ["北京"]
    assert report["errors"]["corrupt_file"] == 1


def test_epub_chapters_in_spine_order(sentences: list[str], tmp_path: Path) -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("mdfs-test-book")
    book.set_title("人民日报选编")
    book.set_language("zh")
    chapters = []
    for i in range(3):
        chapter = epub.EpubHtml(title=f"第{i + 1}章", file_name=f"c{i}.xhtml", lang="zh")
        paragraphs = "".join(f"<p>{s}</p>" for s in sentences[i * 4 : i * 4 + 4])
        chapter.content = f"<h1>第{i + 1}章</h1>{paragraphs}"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", chapters[0], chapters[2], chapters[1]]  # reading order is the spine's
    epub.write_epub(str(tmp_path / "book.epub"), book)
    docs, report = run_plain([tmp_path / "book.epub"], tmp_path / "out")
    assert [d["meta"]["chapter_title"] for d in docs] == ["第1章", "第3章", "第2章"]
    assert all(d["meta"]["title"] == "人民日报选编" for d in docs)
    assert docs[1]["text"].split("\n")[1:] == sentences[8:12]
    assert report["errors"] == {}


def novel(sentences: list[str]) -> str:
    parts = ["红星照耀\n作者：佚名\n"]
    for i, numeral in enumerate(["一", "二", "三", "四"]):
        parts.append(f"第{numeral}章　新的开始\n" + "\n".join(sentences[i * 5 : i * 5 + 5]))
    return "\n".join(parts)


def test_gb18030_novel_split_by_chapter_headings(sentences: list[str], tmp_path: Path) -> None:
    path = tmp_path / "novel.txt"
    path.write_bytes(novel(sentences).encode("gb18030"))
    xz = tmp_path / "novel-copy.txt.xz"
    xz.write_bytes(lzma.compress(novel(sentences).encode("gb18030")))
    docs, _ = run_plain([path, xz], tmp_path / "out")
    plain = [d for d in docs if d["source"] == str(path)]
    assert [d["meta"].get("chapter_title") for d in plain] == [
        None, "第一章　新的开始", "第二章　新的开始", "第三章　新的开始", "第四章　新的开始",
    ]  # fmt: skip
    assert plain[0]["text"] == "红星照耀\n作者：佚名"
    assert plain[2]["text"].split("\n")[1:] == sentences[5:10]
    assert [d["text"] for d in docs if d["source"] == str(xz)] == [d["text"] for d in plain]


def test_long_text_is_capped_at_paragraph_ends() -> None:
    from mdfs.collect.books import split_book

    text = "\n".join(f"第{i}段。" + "字" * 995 for i in range(10))
    pieces = split_book(text, max_chars=3000)
    assert len(pieces) == 4 and all(len(p) <= 3000 for _, p in pieces)
    assert "".join(p for _, p in pieces).replace("\n", "") == text.replace("\n", "")


def test_tar_members_are_sources_and_a_broken_archive_is_counted(
    sentences: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    (folder / "a.txt").write_text(sentences[0], "utf-8")
    (folder / "b.jsonl").write_text(json.dumps({"text": sentences[1]}, ensure_ascii=False) + "\n")
    with tarfile.open(tmp_path / "set.tar.gz", "w:gz") as archive:
        archive.add(folder / "a.txt", "set/a.txt")
        archive.add(folder / "b.jsonl", "set/b.jsonl")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    docs, report = run_plain([tmp_path / "set.tar.gz", tmp_path / "broken.zip"], tmp_path / "out")
    assert sorted(d["text"] for d in docs) == sorted(sentences[:2])
    assert sorted(report["sources"]) == [
        f"tar://set/a.txt::{tmp_path / 'set.tar.gz'}",
        f"tar://set/b.jsonl::{tmp_path / 'set.tar.gz'}",
    ]
    assert report["errors"] == {"corrupt_file": 1}


def test_sogou_page_records_decode_like_warc_pages(tmp_path: Path) -> None:
    from tests.conftest import FIXTURES

    page = (FIXTURES / "pages" / "people_health.html").read_text("utf-8")
    gbk = page.replace("charset=GB2312", "charset=gbk").encode("gb18030")
    headers = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=gbk\r\n\r\n"
    record = b"<doc>\n<docno>web-1</docno>\n<url>http://health.people.com.cn/a.html</url>\n"
    empty = b"<doc>\n<docno>web-2</docno>\n<url>http://x.cn/</url>\n</doc>\n"
    path = tmp_path / "SogouT.dat"
    path.write_bytes(record + headers + gbk + b"\n</doc>\n" + empty)
    docs, report = run_plain([path], tmp_path / "out")
    assert [(d["id"], d["url"], d["meta"]["format"]) for d in docs] == [
        ("web-1", "http://health.people.com.cn/a.html", "html")
    ]
    assert docs[0]["text"].strip() == page.replace("charset=GB2312", "charset=gbk").strip()
    assert report["errors"] == {"bad_record": 1}
