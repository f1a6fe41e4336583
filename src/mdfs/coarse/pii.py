"""PII masking: mainland mobile numbers, resident ID numbers, e-mail, QQ numbers, IP addresses."""

from __future__ import annotations

import re
from collections import Counter

from pydantic import Field

from mdfs.document import Document
from mdfs.pipeline import Mapper, register

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?![0-9A-Za-z])")
RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])"
)
QQ = re.compile(r"(?i)(?<![a-z])(?:qq|扣扣|企鹅)(?:号码?|号|群)?\s*[:：]?\s*([1-9]\d{4,10})(?!\d)")
IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"
)
# What a match of each pattern must hold, found by a search the regex engine runs fast (from a
# literal or a character class; the patterns open with a lookbehind, which it tries at every
# position): a pattern runs only on texts that hold its hint. 0.5 -> 0.15 ms a page.
_HINTS = {
    "email": re.compile("@"),
    "resident_id": re.compile(r"[1-9]\d{9}"),
    "mobile": re.compile(r"1[3-9]\d"),
    "qq": re.compile(r"[qQ][qQ]|扣扣|企鹅"),
    "ip": re.compile(r"\.(?<=\d\.)(?=\d)"),
}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_resident_id(number: str) -> bool:
    """GB 11643-1999 checksum of an 18-character resident ID number."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


@register
class PII(Mapper):
    """Replace personal data with placeholders; counts per kind go to `meta['pii']`.

    ID numbers are masked only when their checksum holds, so order numbers and other long
    digit strings survive. QQ numbers need a cue word (QQ/扣扣) before them: a bare 5–11
    digit number is far more often something else.
    """

    name = "pii"
    mask_email: bool = True
    mask_mobile: bool = True
    mask_resident_id: bool = True
    mask_qq: bool = True
    mask_ip: bool = True
    placeholders: dict[str, str] = Field(
        default_factory=lambda: {
            "email": "<EMAIL>",
            "mobile": "<PHONE>",
            "resident_id": "<ID>",
            "qq": "<QQ>",
            "ip": "<IP>",
        }
    )

    def mask(self, text: str) -> tuple[str, Counter[str]]:
        counts: Counter[str] = Counter()

        def replace(kind: str):
            def substitute(match: re.Match[str]) -> str:
                counts[kind] += 1
                return self.placeholders[kind]

            return substitute

        def replace_id(match: re.Match[str]) -> str:
            if not valid_resident_id(match.group(0)):
                return match.group(0)
            counts["resident_id"] += 1
            return self.placeholders["resident_id"]

        def replace_qq(match: re.Match[str]) -> str:
            counts["qq"] += 1
            start, end = match.span(1)
            whole = match.group(0)
            offset = match.start(0)
            return whole[: start - offset] + self.placeholders["qq"] + whole[end - offset :]

        if self.mask_email and _HINTS["email"].search(text):
            text = EMAIL.sub(replace("email"), text)
        if self.mask_resident_id and _HINTS["resident_id"].search(text):
            text = RESIDENT_ID.sub(replace_id, text)
        if self.mask_mobile and _HINTS["mobile"].search(text):
            text = MOBILE.sub(replace("mobile"), text)
        if self.mask_qq and _HINTS["qq"].search(text):
            text = QQ.sub(replace_qq, text)
        if self.mask_ip and _HINTS["ip"].search(text):
            text = IPV4.sub(replace("ip"), text)
        return text, counts

    def apply(self, document: Document) -> Document:
        document.text, counts = self.mask(document.text)
        if counts:
            document.meta["pii"] = dict(counts)
        return document
