import os
from pathlib import Path

import opencc
import pytest

from mdfs.collect.encoding import DecodeError, decode_html
from mdfs.collect.extract import extract_main_text

PAGES = Path(__file__).parent.parent / "fixtures" / "pages"
ARTICLE_START = "本报讯（记者叶婉）近日，“心成长”青少年心理健康服务项目在北京市青年宫正式启动。"


@pytest.fixture(scope="module")
def page() -> str:
    # A real page that declares charset=GB2312 in its <meta> but is stored as UTF-8.
    return (PAGES / "people_health.html").read_text(encoding="utf-8")


def test_utf8_page_declaring_gb2312_decodes_as_utf8(page: str) -> None:
    payload = page.encode("utf-8")
    assert b"charset=GB2312" in payload
    assert decode_html(payload) == page
    assert decode_html(payload, declared="gb2312") == page


def test_gbk_page_with_declared_charset(page: str) -> None:
    gbk_page = page.replace("charset=GB2312", "charset=gbk")
    payload = gbk_page.encode("gb18030")
    assert decode_html(payload, declared="gbk") == gbk_page
    assert decode_html(payload) == gbk_page  # from the <meta> alone
    assert ARTICLE_START in extract_main_text(decode_html(payload))


def test_gbk_label_decodes_gb18030_only_characters(page: str) -> None:
    # "㐀" is outside GBK: a strict gbk codec fails where browsers (gb18030) succeed.
    text = page.replace("本报讯", "本报讯㐀")
    assert decode_html(text.encode("gb18030"), declared="gb2312") == text


def test_big5_page(page: str) -> None:
    traditional = opencc.OpenCC("s2t").convert(page).replace("charset=GB2312", "charset=big5")
    payload = traditional.encode("big5", errors="replace")
    decoded = decode_html(payload, declared="big5")
    assert "本報訊（記者葉婉）" in decoded
    assert decode_html(payload) == decoded  # from the <meta> alone


def test_big5_page_without_any_declaration(page: str) -> None:
    traditional = opencc.OpenCC("s2t").convert(page).replace("charset=GB2312", "")
    payload = traditional.encode("big5", errors="replace")
    assert "本報訊（記者葉婉）" in decode_html(payload)


def test_binary_junk_raises() -> None:
    with pytest.raises(DecodeError):
        decode_html(os.urandom(200_000))
    with pytest.raises(DecodeError):
        decode_html(bytes(range(32)) * 1000, declared="utf-8")
    assert issubclass(DecodeError, ValueError)


def test_empty_and_bom() -> None:
    assert decode_html(b"") == ""
    assert decode_html("\ufeff<p>正文</p>".encode()) == "<p>正文</p>"


def test_unknown_declared_label_is_ignored(page: str) -> None:
    assert decode_html(page.encode("utf-8"), declared="no-such-charset") == page
