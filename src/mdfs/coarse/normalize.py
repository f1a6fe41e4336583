"""Normalisation that is safe for Chinese text."""

from __future__ import annotations

import re
import unicodedata

from pydantic import PrivateAttr

from mdfs.document import Document
from mdfs.pipeline import Mapper, register

# Invisible characters that only break matching and deduplication.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2000-\u200a\u202f\u205f]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Full-width ASCII letters and digits (Ａ-Ｚ, ０-９…) become half-width; punctuation stays.
_FULLWIDTH_ALNUM = {
    code: code - 0xFEE0
    for code in range(0xFF01, 0xFF5F)
    if chr(code - 0xFEE0).isalnum() or chr(code - 0xFEE0) in "@#$%&*+-/<=>\\^_`|~"
}
# Only text that has them is translated: str.translate looks every character up in the table.
_FULLWIDTH_RUN = re.compile("[" + "".join(map(chr, _FULLWIDTH_ALNUM)) + "]+")
# "。" typed where "." was meant: 1。6万亿, arxiv。org, 2110。04725。pdf. Each pattern starts
# with its literal (the lookbehind comes after it) so the regex engine jumps from "。" to "。"
# instead of trying the lookbehind at every position.
_DIGIT_DOT = re.compile(r"。(?<=\d。)(?=\d)")
_DOMAIN_DOT = re.compile(r"。(?<=[A-Za-z0-9]。)(?=[a-z])")
# ASCII punctuation between Chinese characters is a half-width slip: 你好,世界 → 你好，世界
_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_HALFWIDTH_PUNCT = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}
_HALFWIDTH_NEAR_CJK = re.compile(  # the punctuation first, once, for the same reason
    rf"[,?!:;](?:(?<={_CJK}[,?!:;])(?=\s*(?:{_CJK}|$))|(?<=[^\d\s][,?!:;])(?={_CJK}))",
    re.M,
)


@register
class Normalize(Mapper):
    """Unicode and punctuation clean-up, then traditional → simplified Chinese.

    NFKC is deliberately not applied to the whole text: it would turn Chinese full-width
    punctuation (，。：) into ASCII. Only NFC, full-width letters/digits and misused
    punctuation are changed.
    """

    name = "normalize"
    fullwidth_alnum_to_halfwidth: bool = True
    halfwidth_punct_to_fullwidth: bool = True
    repair_dot: bool = True
    traditional_to_simplified: bool = True
    opencc_config: str = "t2s"

    _converter: object = PrivateAttr(default=None)

    def setup(self) -> None:
        if self.traditional_to_simplified:
            import opencc

            self._converter = opencc.OpenCC(self.opencc_config)

    def normalize(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _INVISIBLE.sub("", text)
        text = _CONTROL.sub("", text)
        if self.fullwidth_alnum_to_halfwidth:
            text = _FULLWIDTH_RUN.sub(lambda m: m.group(0).translate(_FULLWIDTH_ALNUM), text)
        if self.repair_dot:
            text = _DIGIT_DOT.sub(".", text)
            text = _DOMAIN_DOT.sub(".", text)
        if self.halfwidth_punct_to_fullwidth:
            text = _HALFWIDTH_NEAR_CJK.sub(lambda m: _HALFWIDTH_PUNCT[m.group(0)], text)
        lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
        text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
        if self._converter is not None:
            text = self._converter.convert(text)  # type: ignore[attr-defined]
        return text

    def apply(self, document: Document) -> Document:
        document.text = self.normalize(document.text)
        return document
