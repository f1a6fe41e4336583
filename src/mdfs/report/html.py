"""report.json → a self-contained report.html. Crawled text is hostile: everything is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}
.bar{background:#4a7bd0;height:12px;display:inline-block}
pre{white-space:pre-wrap;background:#f7f7f7;padding:6px;max-height:12em;overflow:auto}
"""


def _bar(fraction: float) -> str:
    return f'<span class="bar" style="width:{max(0.0, min(1.0, fraction)) * 300:.0f}px"></span>'


def render_html(report: dict[str, Any]) -> str:
    n_in = report["documents_in"] or 1
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>MDFS report</title>",
        f"<style>{STYLE}</style></head><body><h1>MDFS run report</h1>",
        f"<p>{report['documents_in']:,} documents in, <b>{report['documents_kept']:,} kept</b> "
        f"({report['documents_kept'] / n_in:.1%}); {report.get('chars_in', 0):,} characters "
        f"read (markup included), {report.get('chars_kept', 0):,} kept.</p>",
        "<h2>Funnel by step</h2><table><tr><th class=l>step</th><th>in</th><th>kept</th>"
        "<th>removed</th><th>seconds</th><th class=l>kept of all input</th>"
        "<th class=l>removed because</th></tr>",
    ]
    for step in report["steps"]:
        removed = sum(step["removed"].values())
        reasons = ", ".join(f"{escape(r)}: {c:,}" for r, c in step["removed"].items())
        parts.append(
            f"<tr><td class=l>{escape(step['name'])}</td><td>{step['in']:,}</td>"
            f"<td>{step['kept']:,}</td><td>{removed:,}</td><td>{step.get('seconds', 0):.2f}</td>"
            f"<td class=l>{_bar(step['kept'] / n_in)}</td><td class=l>{reasons}</td></tr>"
        )
    parts.append("</table><h2>Top removal reasons</h2><table>")
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
    if report.get("errors"):
        parts.append("<h2>Unreadable input</h2><table><tr><th class=l>kind</th><th>count</th></tr>")
        for kind, count in report["errors"].items():
            parts.append(f"<tr><td class=l>{escape(kind)}</td><td>{count:,}</td></tr>")
        parts.append("</table><pre>")
        parts.append(escape("\n".join(report.get("error_examples", []))))
        parts.append("</pre>")
    parts.append("<h2>Removed examples</h2>")
    for key, items in sorted(report.get("removed_examples", {}).items()):
        parts.append(f"<h3>{escape(key)}</h3>")
        for item in items:
            where = escape(str(item.get("url") or item.get("source") or ""))
            parts.append(
                f"<p>{escape(str(item['id']))} — {where}</p><pre>{escape(item['text'])}</pre>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)
