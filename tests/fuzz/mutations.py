"""Hypothesis strategies that damage real inputs the way crawls and disks do.

Each mutation is one of: a flipped bit, a byte set to any value, bytes cut out, random bytes
spliced in, a stretch of the input copied elsewhere (a spliced record), a run of one byte
(a huge line or field), a byte-order mark in front. `damaged(seed)` applies one to three.
"""

from __future__ import annotations

import codecs

from hypothesis import strategies as st

BOMS = [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE]


@st.composite
def damaged(draw: st.DrawFn, seed: bytes, huge: int = 0, cut: bool = True) -> bytes:
    """`seed` with one to three mutations; `huge` > 0 allows runs up to that many bytes;
    `cut` allows cutting the rest off (truncation)."""
    data = bytearray(seed)
    kinds = ["flip", "set", "delete", "splice", "copy", "bom"]
    kinds += ["run"] if huge else []
    kinds += ["truncate"] if cut else []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "copy" and data:
            start = draw(st.integers(0, len(data) - 1))
            data[at:at] = data[start : start + draw(st.integers(1, 4096))]
        elif kind == "bom":
            data[0:0] = draw(st.sampled_from(BOMS))
        elif kind == "run":
            data[at:at] = bytes([draw(st.integers(0, 255))]) * draw(st.integers(1, huge))
        elif kind == "truncate":
            del data[at:]
    return bytes(data)
