"""Merge per-shard statistics into the run's report and check the accounting invariant."""

from __future__ import annotations

from collections import Counter
from typing import Any

from mdfs.layout import ShardResult
from mdfs.pipeline import StepStats
from mdfs.report.inspect import funnel_rows, merge_funnels

# The domains report.json lists (by documents in); `mdfs stats --by domain` lists them all.
TOP_DOMAINS = 50


class AccountingError(RuntimeError):
    pass


def build_report(results: list[ShardResult], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    phases = sorted({r.phase for r in results})
    steps: list[StepStats] = []
    errors: Counter[str] = Counter()
    error_examples: list[str] = []
    sources_in: Counter[str] = Counter()
    sources_kept: Counter[str] = Counter()
    removed_by_source: dict[str, Counter[str]] = {}
    domains: dict[str, Counter[str]] = {}
    examples: dict[str, list[dict[str, Any]]] = {}
    skipped_inputs: dict[str, str] = {}
    documents_in = 0
    for phase in phases:
        merged: dict[str, StepStats] = {}
        for result in sorted((r for r in results if r.phase == phase), key=lambda r: r.shard):
            for data in result.steps:
                stats = StepStats.from_dict(data)
                if stats.name in merged:
                    merged[stats.name].merge(stats)
                else:
                    merged[stats.name] = stats
            errors.update(result.errors)
            merge_funnels(domains, result.domains)
            for source, by_step in result.removed_by_source.items():
                removed_by_source.setdefault(source, Counter()).update(by_step)
            error_examples.extend(result.error_examples[: 20 - len(error_examples)])
            for key, items in result.examples.items():
                bucket = examples.setdefault(key, [])
                bucket.extend(items[: 3 - len(bucket)])
            if phase == 0:
                skipped_inputs.update(result.skipped_inputs)
                documents_in += result.documents_in
                sources_in.update(result.sources_in)
            if phase == phases[-1]:
                sources_kept.update(result.sources_kept)
        steps.extend(merged.values())
    kept = steps[-1].kept if steps else documents_in
    step_dicts = [s.to_dict() for s in steps]
    # the examples go beside the funnel, so that `steps` stays a table of figures
    kept_examples = {s["name"]: s.pop("kept_examples") for s in step_dicts}
    cut_examples = {s["name"]: c for s in step_dicts if (c := s.pop("cut_examples"))}
    report: dict[str, Any] = {
        "documents_in": documents_in,
        "documents_kept": kept,
        "steps": step_dicts,
        "sources": {
            source: {"in": count, "kept": sources_kept.get(source, 0)}
            for source, count in sorted(sources_in.items())
        },
        # source -> step -> documents that step removed from that source
        "removed_by_source": {
            source: dict(removed_by_source[source])
            for source in sorted(sources_in)
            if source in removed_by_source
        },
        # the funnel of the largest domains: in, kept, step/reason -> documents
        "domains": {name: dict(counts) for name, counts, _ in funnel_rows(domains, TOP_DOMAINS)},
        "domains_count": len(domains),
        "errors": dict(errors.most_common()),
        # input files not read, or not read to the end, as a whole: path -> the one-line reason
        "skipped_inputs": dict(sorted(skipped_inputs.items())),
        "error_examples": error_examples,
        "removed_examples": examples,
        "kept_examples": kept_examples,
        "cut_examples": cut_examples,
        "chars_in": steps[0].chars_in if steps else 0,
        "chars_kept": steps[-1].chars_out if steps else 0,
        "tokens_in": steps[0].tokens_in if steps else 0,
        "tokens_kept": steps[-1].tokens_out if steps else 0,
        # an annotated run removes nothing: these are the documents it says steps would remove
        "documents_flagged": sum(sum(s.flagged.values()) for s in steps),
        "seconds_per_step": {s.name: round(s.seconds, 3) for s in steps},
    }
    if extra:
        report.update(extra)
    check_accounting(report)
    return report


def check_accounting(report: dict[str, Any]) -> None:
    """The invariant every run must satisfy; a violation is a bug in MDFS, never in the data."""
    previous = report["documents_in"]
    total_removed = 0
    for step in report["steps"]:
        removed = sum(step["removed"].values())
        if step["in"] != previous:
            raise AccountingError(
                f"step {step['name']}: in={step['in']} but previous kept {previous}"
            )
        if step["in"] != step["kept"] + removed:
            raise AccountingError(
                f"step {step['name']}: in={step['in']} != kept={step['kept']} + removed={removed}"
            )
        previous = step["kept"]
        total_removed += removed
    if report["documents_in"] != report["documents_kept"] + total_removed:
        raise AccountingError("documents_in != documents_kept + all removed")
    flagged = sum(sum(step.get("flagged", {}).values()) for step in report["steps"])
    if flagged and (total_removed or flagged > report["documents_kept"]):
        # each document is flagged once, by the first step that would remove it
        raise AccountingError(f"{flagged} documents flagged in a run that removed some")
    if sum(s["kept"] for s in report["sources"].values()) != report["documents_kept"]:
        raise AccountingError("per-source kept counts do not add up to documents_kept")
