"""Character classes and counts shared by the rules."""

from __future__ import annotations

import re

CJK_RANGES = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
# runs, not characters: findall then builds a few hundred strings a page, not thousands (4x faster)
_CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
DIGIT = re.compile(r"[0-9]")
# Sentence-ending punctuation, Chinese and Western
SENTENCE_END = re.compile(r"[。！？!?…；;]|[.](?!\w)")


def visible_length(text: str) -> int:
    return len(text) - text.count(" ") - text.count("\n") - text.count("\t")


def cjk_count(text: str) -> int:
    return sum(map(len, _CJK_RUN.findall(text)))


def cjk_ratio(text: str) -> float:
    length = visible_length(text)
    return cjk_count(text) / length if length else 0.0
