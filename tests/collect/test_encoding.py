import os
import random
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


def common_prefix(first: str, second: str) -> int:
    return next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b),
                min(len(first), len(second)))  # fmt: skip


def lost_characters(original: str, damaged: str) -> tuple[int, str]:
    """How many characters of `original` are gone in `damaged`, and what stands in their place
    (one flip is local, so the common prefix and suffix hold everything else)."""
    prefix = common_prefix(original, damaged)
    suffix = common_prefix(original[prefix:][::-1], damaged[prefix:][::-1])
    return len(original) - prefix - suffix, damaged[prefix : len(damaged) - suffix]


@pytest.mark.parametrize("name", ["people_health.html", "163_dy.html"])
def test_a_flipped_byte_costs_at_most_its_character(name: str) -> None:
    # Crawled UTF-8 is often slightly damaged; charset guessing used to turn such a page into
    # mojibake or reject it (one 0xFF byte in the middle of a real page).
    payload = (PAGES / name).read_bytes()
    original = decode_html(payload)
    rng = random.Random(name)
    for trial in range(40):
        damaged = bytearray(payload)
        position = len(payload) // 2 if trial == 0 else rng.randrange(len(payload))
        damaged[position] = 0xFF if trial % 2 == 0 else damaged[position] ^ (1 << rng.randrange(8))
        lost, standing = lost_characters(original, decode_html(bytes(damaged)))
        assert lost <= 1 and len(standing) <= 2, (position, standing)


def test_a_page_cut_inside_a_character_keeps_the_rest(page: str) -> None:
    payload = page.encode("utf-8")
    cut = payload.index("本报讯".encode()) + 4  # inside 报
    assert decode_html(payload[:cut]) == page[: page.index("本报讯") + 1] + "\ufffd"


def test_gbk_page_is_not_taken_for_damaged_utf8(page: str) -> None:
    gbk_page = page.replace("charset=GB2312", "")
    assert decode_html(gbk_page.encode("gb18030")) == gbk_page


@pytest.mark.parametrize("replacement", [0x00, ord("8"), 0xFF, 0xE4])
def test_a_continuation_byte_replaced_costs_one_character(page: str, replacement: int) -> None:
    # found by the fuzz suite: 0x00 in place of a continuation byte left "\ufffd\x00\ufffd"
    payload = bytearray(page.encode("utf-8"))
    middle = payload.index("心理健康".encode()) + 1  # the second byte of 心
    payload[middle] = replacement
    lost, standing = lost_characters(page, decode_html(bytes(payload)))
    assert lost == 1 and standing == "\ufffd"
