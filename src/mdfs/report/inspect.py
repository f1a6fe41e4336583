"""Looking into a finished run: examples, the funnel per group, reproducible samples.

All three read a run folder's `corpus/` and `removed/` as streams, so they work on runs much
larger than memory; a sample is chosen by a keyed hash of each document's id (the n smallest
hashes), so it depends only on the seed and the set of documents, not on shard order.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import xxhash

from mdfs.errors import UserError
from mdfs.layout import part_files, read_records
from mdfs.storage import filesystem

KEPT = "kept"
NO_URL = "(no url)"


def run_records(run_dir: Path, which: str = "both") -> Iterator[dict[str, Any]]:
    """Every record of a run, kept and/or removed; removed ones carry `removed_by` and `reason`."""
    folders = {"kept": ["corpus"], "removed": ["removed"], "both": ["corpus", "removed"]}[which]
    if not (run_dir / "report.json").is_file():
        raise UserError(f"{run_dir} is not a finished `mdfs run` output (no report.json)")
    fs = filesystem(run_dir)[0]
    for folder in folders:
        for part in part_files(fs, str(run_dir / folder)):
            yield from read_records(fs, part)


def removal(step: str, reason: str) -> str:
    """How a funnel names a removal: `step/reason`."""
    return f"{step}/{reason}"


def status(record: dict[str, Any]) -> str:
    """`kept`, or `step/reason` for a removed record (or, in an annotated run, for one a
    step would remove)."""
    if "removed_by" in record:
        step, reason = record["removed_by"], record.get("reason")
    else:
        meta = record.get("meta") or {}
        step, reason = meta.get("removed_by"), meta.get("reason")
    return removal(step, str(reason)) if step else KEPT


def domain_of(url: str | None) -> str:
    return urlsplit(url or "").hostname or NO_URL


def group_of(record: dict[str, Any], by: str) -> str:
    if by == "source":
        return str(record.get("source"))
    if by == "domain":
        return domain_of(record.get("url"))
    if by.startswith("meta."):
        value: Any = record.get("meta") or {}
        for key in by.removeprefix("meta.").split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return "(none)" if value is None else str(value)
    raise UserError(f"--by {by}: use source, domain or meta.FIELD")


def funnel_by(run_dir: Path, by: str) -> dict[str, Counter[str]]:
    """Per group: documents in, kept, and removed per `step/reason`."""
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for record in run_records(run_dir):
        counts = groups[group_of(record, by)]
        counts["in"] += 1
        counts[status(record)] += 1
    return dict(groups)


def examples(
    run_dir: Path, step: str | None, reason: str | None, kept: bool, n: int
) -> list[dict[str, Any]]:
    found = []
    for record in run_records(run_dir, "kept" if kept else "removed"):
        if step and record.get("removed_by") != step:
            continue
        if reason and record.get("reason") != reason:
            continue
        found.append(record)
        if len(found) == n:
            break
    return found


def sample(run_dir: Path, n: int, which: str, seed: int) -> list[dict[str, Any]]:
    """n documents chosen by a keyed hash of their ids, in a stable order."""
    # a max-heap of the n smallest (key, id) by negation; the sequence number breaks ties of
    # duplicate ids without ever comparing records
    chosen: list[tuple[int, str, int, dict[str, Any]]] = []
    for number, record in enumerate(run_records(run_dir, which)):
        doc_id = str(record.get("id"))
        item = (-xxhash.xxh3_64_intdigest(doc_id.encode(), seed=seed), doc_id, -number, record)
        if len(chosen) < n:
            heapq.heappush(chosen, item)
        elif item[:3] > chosen[0][:3]:
            heapq.heapreplace(chosen, item)
    return [item[3] for item in sorted(chosen, key=lambda i: (-i[0], i[1], -i[2]))]


def format_example(record: dict[str, Any], width: int = 300) -> str:
    meta = record.get("meta") or {}
    scores = {k: meta[k] for k in ("quality", "language", "perplexity", "signals") if k in meta}
    text = " ".join((record.get("text") or "").split())
    head = f"[{status(record)}] {record.get('id')}  {record.get('url') or record.get('source')}"
    lines = [head]
    if scores:
        lines.append(f"  scores: {orjson.dumps(scores, option=orjson.OPT_SORT_KEYS).decode()}")
    lines.append("  " + (text[:width] + (" …" if len(text) > width else "")))
    return "\n".join(lines)


def funnel_rows(
    groups: dict[str, Counter[str]], top: int
) -> list[tuple[str, Counter[str], list[tuple[str, int]]]]:
    """The `top` largest groups by documents in: (name, counts, the three commonest removals)."""
    rows = sorted(groups.items(), key=lambda item: (-item[1]["in"], item[0]))[:top]
    return [(name, counts, top_removals(counts)) for name, counts in rows]


def top_removals(counts: Counter[str], n: int = 3) -> list[tuple[str, int]]:
    return Counter({k: v for k, v in counts.items() if k not in ("in", KEPT)}).most_common(n)


def merge_funnels(into: dict[str, Counter[str]], more: dict[str, dict[str, int]]) -> None:
    for name, counts in more.items():
        into.setdefault(name, Counter()).update(counts)


def format_funnel(groups: dict[str, Counter[str]], top: int = 50) -> str:
    """One row per group, largest first: in, kept, the share kept, the commonest removals."""
    width = min(60, max([len(name) for name in groups] + [5]))
    lines = [f"{'group':<{width}}  {'in':>7}  {'kept':>7}  {'kept%':>6}  top removals"]
    for name, counts, removals in funnel_rows(groups, top):
        common = ", ".join(f"{k} {v}" for k, v in removals)
        share = counts[KEPT] / counts["in"]
        lines.append(
            f"{name[:width]:<{width}}  {counts['in']:>7}  {counts[KEPT]:>7}  {share:>6.1%}  {common}"
        )
    if len(groups) > top:
        lines.append(f"… and {len(groups) - top} more groups")
    return "\n".join(lines)
