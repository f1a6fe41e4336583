"""The one record that flows through every stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(slots=True)
class Document:
    id: str
    text: str
    source: str  # the input file it came from
    url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self, **extra: Any) -> bytes:
        record = {"id": self.id, "text": self.text, "source": self.source, "url": self.url}
        record.update(extra)
        record["meta"] = self.meta
        return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY)

    @classmethod
    def from_json(cls, line: bytes | str) -> Document:
        record = orjson.loads(line)
        return cls(
            id=record["id"],
            text=record["text"],
            source=record["source"],
            url=record.get("url"),
            meta=record.get("meta") or {},
        )


@dataclass(slots=True)
class Removed:
    """A document a step took out, and why (a short stable reason such as `too_short`)."""

    document: Document
    reason: str
