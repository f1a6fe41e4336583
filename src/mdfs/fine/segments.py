"""Cutting a document into segments the classifier scores one by one.

A segment is a run of consecutive lines of at most `max_chars` characters (about as many
BERT tokens for Chinese). A line longer than that (a wiki paragraph, or a wall of
concatenated headlines) is cut into pieces of its own, so junk glued to the end of an
article never shares a segment with it. Segments shorter than `min_chars` are merged into
a neighbour: a ten-character line says too little to be judged alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Where a long line may be cut without splitting a sentence.
_SENTENCE_END = re.compile(r"[。！？!?；;…」”』)]")


@dataclass(frozen=True, slots=True)
class Segment:
    start: int  # character offsets into the document text
    end: int

    def text(self, document: str) -> str:
        return document[self.start : self.end]


def _cut_long_line(start: int, end: int, text: str, max_chars: int) -> list[tuple[int, int]]:
    pieces = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        # prefer the last sentence end in the second half of the window
        cut = max_chars
        for match in _SENTENCE_END.finditer(window, max_chars // 2):
            cut = match.end()
        pieces.append((start, start + cut))
        start += cut
    pieces.append((start, end))
    return pieces


def split_segments(text: str, max_chars: int = 256, min_chars: int = 40) -> list[Segment]:
    """Spans covering every non-blank line of `text`, in order."""
    pieces: list[tuple[int, int, bool]] = []  # start, end, whether it is part of a long line
    position = 0
    for line in text.split("\n"):
        start, end = position, position + len(line)
        position = end + 1
        stripped = line.strip()
        if not stripped:
            continue
        start += len(line) - len(line.lstrip())
        end = start + len(stripped)
        if end - start > max_chars:
            pieces.extend((a, b, True) for a, b in _cut_long_line(start, end, text, max_chars))
        else:
            pieces.append((start, end, False))
    segments: list[list[int]] = []
    open_run = False  # may the next short line join the last segment?
    for start, end, long_piece in pieces:
        if open_run and not long_piece and end - segments[-1][0] <= max_chars:
            segments[-1][1] = end
        else:
            segments.append([start, end])
        open_run = not long_piece
    merged: list[list[int]] = []
    for seg in segments:
        short = merged and min(seg[1] - seg[0], merged[-1][1] - merged[-1][0]) < min_chars
        # a short piece is judged with its neighbour, never alone
        if short and seg[1] - merged[-1][0] <= 2 * max_chars:
            merged[-1][1] = seg[1]
            continue
        merged.append(seg)
    return [Segment(a, b) for a, b in merged]


def segment_texts(text: str, max_chars: int = 256, min_chars: int = 40) -> list[str]:
    return [seg.text(text) for seg in split_segments(text, max_chars, min_chars)]
