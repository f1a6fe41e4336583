"""Snapshot ``extract_main_text`` on every real page at hand, to prove a change leaves it alone.

A speed change must not change what is extracted. Run this before the change with ``--write``
and after it with ``--check``: every page of the shared web data (gold sets, news and list
pages), the repository's gold sets and test fixtures, and the WARC records of
``examples/data`` is extracted, and pages whose text differs are listed with their lengths.

    python benchmarks/extraction_snapshot.py --write /tmp/before.json
    python benchmarks/extraction_snapshot.py --check /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType

from mdfs.collect.encoding import decode_html
from mdfs.collect.extract import extract_main_text

SHARED = Path("/work/shared/data/web")
REPO = Path(__file__).resolve().parent.parent


def pages() -> Iterator[tuple[str, str]]:
    """(name, HTML) of every page: files decoded as the pipeline decodes them."""
    folders = [SHARED, REPO / "benchmarks" / "data", REPO / "tests" / "fixtures"]
    for folder in folders:
        for path in sorted(folder.rglob("*.htm*")):
            yield str(path), decode_html(path.read_bytes())
    for path in sorted((REPO / "examples" / "data").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, record_types=WarcRecordType.response):
                yield f"{path}#{record.record_id}", decode_html(record.reader.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, help="save the texts here")
    action.add_argument("--check", type=Path, help="compare with the texts saved here")
    args = parser.parse_args()
    texts = {name: extract_main_text(html) for name, html in pages()}
    if args.write:
        args.write.write_text(json.dumps(texts, ensure_ascii=False, indent=0), encoding="utf-8")
        print(f"{len(texts)} pages written to {args.write}")
        return
    saved = json.loads(args.check.read_text(encoding="utf-8"))
    changed = [name for name in saved.keys() | texts.keys() if saved.get(name) != texts.get(name)]
    for name in sorted(changed):
        old, new = saved.get(name), texts.get(name)
        print(f"changed: {name}: {len(old or '')} -> {len(new or '')} characters")
    print(f"{len(texts)} pages, {len(changed)} changed")
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
