"""Main-text extraction as a user meets it: the gold pages wrapped in WARC, through `mdfs run`.

    python benchmarks/extraction_run.py [--sets article forum zh_forum zh_thread zh_article zh_web]
        [--pages]

``extraction_f1.py`` calls ``extract_main_text`` on each page's stored text. Here each set's
pages become one gzipped WARC of HTTP responses, as a crawler writes them (the stored bytes as
the payload, ``Content-Type: text/html`` without a charset, so MDFS detects the encoding
itself), and ``mdfs run --recipe recipes/extract-only.yaml`` reads them with its WARC reader.
The kept documents are scored against the gold text by char-F1, per set and split; a page MDFS
removed scores 0 (its reason is printed), and the text of every page is compared with
``extract_main_text``'s on the same page, so a difference between the two paths shows.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))

from extraction_f1 import Page, char_f1, gold_set_arguments, load_sets, mean

from mdfs.collect.extract import extract_main_text

REPO = Path(__file__).resolve().parent.parent
RECIPE = REPO / "recipes" / "extract-only.yaml"
MDFS = Path(sys.executable).parent / "mdfs"


def write_warc(path: Path, pages: list[Page]) -> None:
    with open(path, "wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for page in pages:
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
            )
            payload = BytesIO(page.html.encode("utf-8"))
            writer.write_record(
                writer.create_warc_record(
                    page.url, "response", payload=payload, http_headers=headers
                )
            )


def read_parts(folder: Path) -> dict[str, dict]:
    """url -> record of every ``part-*.jsonl.gz`` under ``folder``."""
    records = {}
    for part in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(part, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                records[record.get("url") or record["meta"].get("url")] = record
    return records


def main() -> None:
    args = gold_set_arguments(__doc__).parse_args()
    pages = load_sets(args.data, args.sets)
    with tempfile.TemporaryDirectory(prefix="mdfs-extraction-run-") as work:
        warcs = Path(work) / "warc"
        warcs.mkdir()
        by_set: dict[str, list[Page]] = defaultdict(list)
        for page in pages:
            by_set[page.kind].append(page)
        for kind, members in by_set.items():
            write_warc(warcs / f"{kind}.warc.gz", members)
        output = Path(work) / "out"
        command = [str(MDFS), "run", str(warcs), "--output", str(output), "--recipe", str(RECIPE)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        kept = read_parts(output / "corpus")
        removed = read_parts(output / "removed")
        report = json.loads((output / "report.json").read_text(encoding="utf-8"))
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    differ = missing = 0
    for page in pages:
        text = kept[page.url]["text"] if page.url in kept else ""
        score = char_f1(text, page.gold)
        scores[page.kind, page.split].append(score)
        direct = extract_main_text(page.html, page.url)
        differ += text != direct
        if page.url not in kept:
            reason = removed.get(page.url, {}).get("reason", "not in the output")
            missing += bool(page.gold.strip())
            print(f"removed: {page.kind} {page.url[:60]} ({reason})")
        if args.pages:
            same = "same" if text == direct else "DIFFERS"
            print(f"{page.kind:10} {page.split:5} {page.url[:50]:50} {score:6.3f} {same}")
    print(
        f"documents in {report['documents_in']}, kept {report['documents_kept']}; "
        f"pages with gold text but no output: {missing}; text unlike extract_main_text's: {differ}"
    )
    for kind in by_set:
        tune, held = scores[kind, "tune"], scores[kind, "held"]
        print(
            f"{kind:10} tune {mean(tune):.3f} ({len(tune)})  held {mean(held):.3f} ({len(held)})"
            f"  all {mean(tune + held):.3f}"
        )


if __name__ == "__main__":
    main()
