"""report.json → a self-contained report.html. Crawled text is hostile: everything is escaped.

No JavaScript: histograms are small inline SVG drawn here, so the page opens anywhere, offline.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

from mdfs.histogram import Histogram
from mdfs.report.inspect import KEPT, NO_URL, funnel_rows

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}
.bar{background:#4a7bd0;height:12px;display:inline-block}
pre{white-space:pre-wrap;background:#f7f7f7;padding:6px;max-height:12em;overflow:auto}
.figs{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figcaption{font-size:90%}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}.pair h4{margin:.3em 0}
.cut{background:#f8d7d3;text-decoration:line-through}.muted{color:#777}.pair pre{max-height:24em}
"""

KEPT_COLOUR, REMOVED_COLOUR, THRESHOLD_COLOUR = "#4a7bd0", "#d0574a", "#222"


def _bar(fraction: float) -> str:
    return f'<span class="bar" style="width:{max(0.0, min(1.0, fraction)) * 160:.0f}px"></span>'


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


def histogram_svg(title: str, data: dict[str, Any]) -> str:
    """Kept (blue) and removed (red) documents per bin, stacked, and the threshold as a line."""
    spec = Histogram(low=data["low"], high=data["high"], bins=len(data["kept"]), log=data["log"])
    width, height, left, bottom, top = 440, 150, 40, 22, 16
    plot_w, plot_h = width - left - 30, height - bottom - top
    totals = [k + r for k, r in zip(data["kept"], data["removed"], strict=True)]
    peak = max(totals) or 1
    bar_w = plot_w / spec.bins
    shapes = []
    for index, (kept, removed) in enumerate(zip(data["kept"], data["removed"], strict=True)):
        x = left + index * bar_w
        kept_h, removed_h = kept / peak * plot_h, removed / peak * plot_h
        base = top + plot_h
        shapes.append(
            f'<rect x="{x:.1f}" y="{base - kept_h:.1f}" width="{bar_w - 1:.1f}" '
            f'height="{kept_h:.1f}" fill="{KEPT_COLOUR}"/>'
            f'<rect x="{x:.1f}" y="{base - kept_h - removed_h:.1f}" width="{bar_w - 1:.1f}" '
            f'height="{removed_h:.1f}" fill="{REMOVED_COLOUR}"/>'
        )
    axis_y = top + plot_h
    ticks = [spec.low, spec.high]
    if spec.log:
        ticks = [10.0**e for e in range(len(str(int(spec.low))) - 1, len(str(int(spec.high))))]
    else:
        ticks = [spec.low + (spec.high - spec.low) * f for f in (0, 0.25, 0.5, 0.75, 1)]
    for tick in ticks:
        x = left + min(1.0, max(0.0, spec.position(tick))) * plot_w
        shapes.append(
            f'<text x="{x:.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">'
            f"{_number(tick)}</text>"
        )
    shapes.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#888"/>'
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak:,}</text>'
    )
    caption = escape(title)
    threshold = data.get("threshold")
    if threshold is not None:
        x = left + min(1.0, max(0.0, spec.position(threshold))) * plot_w
        label = escape(f"{data.get('threshold_field')} = {_number(threshold)}")
        shapes.append(
            f'<line class="threshold" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" '
            f'stroke="{THRESHOLD_COLOUR}" stroke-width="2" stroke-dasharray="4 2"/>'
            f'<text x="{min(x + 3, width - 100):.1f}" y="{top - 6}" font-size="10">{label}</text>'
        )
        caption += f" — threshold {label}"
    kept, removed = sum(data["kept"]), sum(data["removed"])
    return (
        f'<figure class="histogram"><svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" role="img" aria-label="{caption}"><title>{caption}</title>'
        + "".join(shapes)
        + f"</svg><figcaption><b>{caption}</b><br>{kept:,} kept (blue), {removed:,} removed "
        "(red)</figcaption></figure>"
    )


def _run_section(run: dict[str, Any]) -> list[str]:
    return [
        "<h2>This run</h2><table>",
        f"<tr><th class=l>MDFS version</th><td class=l>{escape(run['mdfs_version'])}</td></tr>",
        f"<tr><th class=l>command</th><td class=l><code>{escape(run['command'])}</code></td></tr>",
        f"<tr><th class=l>started (UTC)</th><td class=l>{escape(run['started'])}</td></tr>",
        f"<tr><th class=l>duration</th><td class=l>{run['seconds']:,.1f} s "
        "(this invocation; a resumed run counts from its restart)</td></tr></table>",
    ]


def _funnel(report: dict[str, Any]) -> list[str]:
    n_in = report["documents_in"] or 1
    parts = [
        "<h2>Funnel by step</h2><p class=muted>Characters removed with the documents a step "
        "removed, and characters a step cut from the documents it kept (lines, segments, "
        "paragraphs), as shares of the characters that reached it.</p>",
        "<table id=funnel><tr><th class=l>step</th><th>in</th><th>kept</th><th>removed</th>"
        "<th>would remove</th><th>chars in</th><th>chars out</th><th>chars in removed docs</th>"
        "<th>chars cut from kept docs</th><th>tokens in</th><th>tokens out</th>"
        "<th>seconds</th><th class=l>kept of all input</th>"
        "<th class=l>removed (or would be) because</th></tr>",
    ]
    for step in report["steps"]:
        removed = sum(step["removed"].values())
        flagged = step.get("flagged", {})
        reasons = ", ".join(
            f"{escape(r)}: {c:,}" for r, c in {**step["removed"], **flagged}.items()
        )
        chars_in, chars_out = step.get("chars_in", 0), step.get("chars_out", 0)
        in_removed = step.get("chars_removed", 0)
        cut = max(0, chars_in - chars_out - in_removed)
        parts.append(
            f"<tr><td class=l>{escape(step['name'])}</td><td>{step['in']:,}</td>"
            f"<td>{step['kept']:,}</td><td>{removed:,}</td><td>{sum(flagged.values()):,}</td>"
            f"<td>{chars_in:,}</td><td>{chars_out:,}</td>"
            f"<td>{in_removed:,} ({_share(in_removed, chars_in)})</td>"
            f"<td>{cut:,} ({_share(cut, chars_in)})</td><td>{step.get('tokens_in', 0):,}</td>"
            f"<td>{step.get('tokens_out', 0):,}</td><td>{step.get('seconds', 0):.2f}</td>"
            f"<td class=l>{_bar(step['kept'] / n_in)}</td><td class=l>{reasons}</td></tr>"
        )
    parts.append("</table>")
    return parts


def _histograms(report: dict[str, Any]) -> list[str]:
    figures = [
        histogram_svg(f"{step['name']}: {where}", data)
        for step in report["steps"]
        for where, data in step.get("histograms", {}).items()
    ]
    if not figures:
        return []
    return [
        "<h2>Score distributions</h2><p class=muted>Documents that reached the step, by the "
        "score it declares; the dashed line is the threshold the recipe set.</p>",
        "<div class=figs>",
        *figures,
        "</div>",
    ]


def _source_by_step(report: dict[str, Any]) -> list[str]:
    by_source = report.get("removed_by_source", {})
    if not by_source:
        return []
    names = [step["name"] for step in report["steps"]]
    parts = [
        f"<h2>{_removed(report).capitalize()} per source and step</h2>"
        "<table id=source-step><tr><th class=l>source</th>"
        + "".join(f"<th>{escape(n)}</th>" for n in names)
        + "</tr>"
    ]
    rows = sorted(by_source.items(), key=lambda item: -sum(item[1].values()))
    for source, counts in rows[:100]:
        cells = "".join(f"<td>{counts.get(n, 0):,}</td>" for n in names)
        parts.append(f"<tr><td class=l>{escape(source)}</td>{cells}</tr>")
    parts.append("</table>")
    return parts


def _domains(report: dict[str, Any], top: int = 30) -> list[str]:
    """The funnel of the largest domains (by documents in), as `mdfs stats --by domain`."""
    domains = {name: Counter(counts) for name, counts in report.get("domains", {}).items()}
    if not set(domains) - {NO_URL}:
        return []  # no document had a URL
    total = report.get("domains_count", len(domains))
    parts = [
        f"<h2>By domain</h2><p class=muted>The {min(top, len(domains))} largest of {total:,} "
        "domains by documents in; <code>mdfs stats RUN_DIR --by domain</code> lists them all.</p>",
        "<table id=domains><tr><th class=l>domain</th><th>in</th><th>kept</th><th class=l></th>"
        "<th class=l>top removals</th></tr>",
    ]
    for name, counts, removals in funnel_rows(domains, top):
        share = counts[KEPT] / counts["in"] if counts["in"] else 0.0
        common = ", ".join(f"{escape(k)} {v:,}" for k, v in removals)
        parts.append(
            f"<tr><td class=l>{escape(name)}</td><td>{counts['in']:,}</td><td>{counts[KEPT]:,}"
            f"</td><td class=l>{_bar(share)} {share:.0%}</td><td class=l>{common}</td></tr>"
        )
    parts.append("</table>")
    return parts


def _before_after(report: dict[str, Any]) -> list[str]:
    cut_examples = report.get("cut_examples", {})
    if not cut_examples:
        return []
    parts = ["<h2 id=before-after>What steps cut from kept documents</h2>"]
    for step, items in cut_examples.items():
        parts.append(f"<h3>{escape(step)}</h3>")
        for item in items:
            after_lines = set(item["after"].splitlines())
            before = "\n".join(
                escape(line) if line in after_lines else f"<span class=cut>{escape(line)}</span>"
                for line in item["before"].splitlines()
            )
            parts.append(
                f"<p>{escape(str(item['id']))} — {item['chars_before']:,} → "
                f"{item['chars_after']:,} characters</p><div class=pair><div><h4>as it entered"
                f"</h4><pre class=before>{before}</pre></div><div><h4>as it left</h4>"
                f"<pre class=after>{escape(item['after'])}</pre></div></div>"
            )
    return parts


def _scores(item: dict[str, Any]) -> str:
    scores = item.get("scores") or {}
    return "; ".join(f"{escape(k)} = {v:g}" for k, v in scores.items())


def _removed(report: dict[str, Any]) -> str:
    return "would be removed" if report.get("annotated") else "removed"


def _example(item: dict[str, Any]) -> str:
    where = escape(str(item.get("url") or item.get("source") or ""))
    scores = _scores(item)
    return (
        f"<p>{escape(str(item['id']))} — {where}"
        + (f"<br><span class=muted>{scores}</span>" if scores else "")
        + f"</p><pre>{escape(item['text'])}</pre>"
    )


def _examples(report: dict[str, Any]) -> list[str]:
    """Per step, what it kept beside what it removed."""
    removed_by_step: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key, items in sorted(report.get("removed_examples", {}).items()):
        step, _, reason = key.partition("/")
        removed_by_step.setdefault(step, []).extend((reason, item) for item in items)
    kept = report.get("kept_examples", {})
    parts = [f"<h2>Examples: kept and {_removed(report)}</h2>"]
    for step in [s["name"] for s in report["steps"]]:
        if step not in removed_by_step and not kept.get(step):
            continue
        parts.append(f"<h3>{escape(step)}</h3><div class=pair><div><h4>kept</h4>")
        parts.extend(_example(item) for item in kept.get(step, []))
        parts.append(f"</div><div><h4>{_removed(report)}</h4>")
        for reason, item in removed_by_step.get(step, []):
            parts.append(f"<p><b>{escape(reason)}</b></p>{_example(item)}")
        parts.append("</div></div>")
    return parts


def render_html(report: dict[str, Any]) -> str:
    chars_kept = report.get("chars_kept", 0)
    n_in = report["documents_in"] or 1
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>MDFS report</title>",
        f"<style>{STYLE}</style></head><body><h1>MDFS run report</h1>",
        f"<p>{report['documents_in']:,} documents in, <b>{report['documents_kept']:,} kept</b> "
        f"({report['documents_kept'] / n_in:.1%}); {report.get('chars_in', 0):,} characters "
        f"read (markup included), {chars_kept:,} kept; "
        f"{report.get('tokens_kept', 0):,} tokens kept (counted with "
        f"{escape(report.get('tokens_counted_with', '?'))}).</p>",
    ]
    if report.get("annotated"):
        flagged = report.get("documents_flagged", 0)
        parts.append(
            f"<p><b>Annotated run: nothing was removed.</b> {flagged:,} documents "
            f"({flagged / n_in:.1%}) carry the step that would remove them in "
            "<code>meta.removed_by</code> and <code>meta.reason</code>; the column "
            "<i>would remove</i> counts them at the first such step. <code>mdfs filter</code> "
            "writes the filtered run from these verdicts and scores.</p>"
        )
    if "run" in report:
        parts += _run_section(report["run"])
    parts += _funnel(report)
    parts += _histograms(report)
    parts.append("<h2>Top removal reasons</h2><table>")
    parts.append("<tr><th class=l>step / reason</th><th>documents</th></tr>")
    reasons = sorted(
        ((f"{s['name']} / {r}", c) for s in report["steps"] for r, c in s["removed"].items()),
        key=lambda item: -item[1],
    )
    for key, count in reasons[:15]:
        parts.append(f"<tr><td class=l>{escape(key)}</td><td>{count:,}</td></tr>")
    parts.append("</table><h2>By source</h2><table>")
    parts.append("<tr><th class=l>source</th><th>in</th><th>kept</th><th class=l></th></tr>")
    sources = sorted(report["sources"].items(), key=lambda item: -item[1]["in"])
    for source, counts in sources[:200]:
        share = counts["kept"] / counts["in"] if counts["in"] else 0.0
        parts.append(
            f"<tr><td class=l>{escape(source)}</td><td>{counts['in']:,}</td>"
            f"<td>{counts['kept']:,}</td><td class=l>{_bar(share)} {share:.0%}</td></tr>"
        )
    if len(sources) > 200:
        parts.append(f"<tr><td class=l colspan=4>… and {len(sources) - 200:,} more</td></tr>")
    parts.append("</table>")
    parts += _source_by_step(report)
    parts += _domains(report)
    if report.get("errors"):
        parts.append("<h2>Unreadable input</h2><table><tr><th class=l>kind</th><th>count</th></tr>")
        for kind, count in report["errors"].items():
            parts.append(f"<tr><td class=l>{escape(kind)}</td><td>{count:,}</td></tr>")
        parts.append("</table><pre>")
        parts.append(escape("\n".join(report.get("error_examples", []))))
        parts.append("</pre>")
    parts += _before_after(report)
    parts += _examples(report)
    if "run" in report:
        parts.append("<h2>Recipe (resolved, every default filled in)</h2>")
        parts.append(f"<pre id=recipe>{escape(report['run']['recipe'])}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)
