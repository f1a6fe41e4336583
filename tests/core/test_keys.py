"""Exact-dedup keys and resident-ID checksums, against independent definitions."""

from __future__ import annotations

import random

from mdfs.coarse.exact_dedup import text_key
from mdfs.coarse.pii import valid_resident_id


def test_exact_dedup_key_ignores_whitespace_and_latin_case() -> None:
    text = "国务院新闻办公室今天举行发布会。\nMDFS 1.0 上线"
    assert text_key(text) == text_key("  国务院新闻办公室 今天举行发布会。MDFS1.0\t上线\n")
    assert text_key(text) == text_key(text.lower())
    assert text_key(text) != text_key(text.replace("今天", "昨天"))
    assert text_key(text) != text_key(text + "。")


def gb11643_check(first17: str) -> str:
    # GB 11643-1999: weight of position i (from the left) is 2^(17-i) mod 11.
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def test_resident_id_checksum_on_many_numbers() -> None:
    rng = random.Random(0)
    for _ in range(2000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        number = first17 + gb11643_check(first17)
        assert valid_resident_id(number), number
        assert valid_resident_id(number.lower())
        # any single changed digit breaks the checksum (weights are invertible mod 11)
        i = rng.randrange(17)
        digit = str((int(number[i]) + rng.randrange(1, 10)) % 10)
        assert not valid_resident_id(number[:i] + digit + number[i + 1 :]), number
