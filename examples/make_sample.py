"""Rebuild the bundled sample in examples/data from the real pages in ../shared/data.

    python examples/make_sample.py [SHARED_DIR]

The sample is small on purpose (a few hundred KB): real Chinese news pages wrapped into a
WARC file as a crawler writes them, the content-farm seed page as plain text, and a JSONL
dump mixing clean Wikipedia paragraphs with dirty Common Crawl documents.
"""

from __future__ import annotations

import gzip
import json
import sys
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from mdfs.shared import shared_folder

HERE = Path(__file__).parent / "data"
PAGES = ["people/1.html", "sina/1.html", "thepaper/1.html", "xinhuanet/1.html", "ifeng/1.html",
         "163/1.html", "toutiao/1.html", "wechat/1.html"]  # fmt: skip


def main(shared: Path) -> None:
    data = shared / "data"
    HERE.mkdir(parents=True, exist_ok=True)
    with open(HERE / "news.warc.gz", "wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for name in PAGES:
            page = data / "web" / "news_pages" / "article_pages" / name
            if not page.exists():
                continue
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            url = f"http://sample.mdfs/{name}"
            record = writer.create_warc_record(
                url, "response", payload=BytesIO(page.read_bytes()), http_headers=headers
            )
            writer.write_record(record)
    (HERE / "seed_page.txt").write_text((shared / "samples" / "seed_page.txt").read_text())
    lines = []
    wiki = sorted((data / "text" / "cmrc2018_wikipedia").glob("*.json"))[0]
    for article in json.loads(wiki.read_text())["data"][:15]:
        context = article["paragraphs"][0]["context"]
        lines.append({"id": f"wiki-{len(lines)}", "text": context, "url": None})
    for kind in ("clean", "dirty"):
        for number, line in enumerate((data / "web" / "ccnet_labelled" / f"{kind}.jsonl").open()):
            record = json.loads(line)
            lines.append(
                {
                    "id": f"ccnet-{kind}-{number}",
                    "text": record.get("text") or record.get("content", ""),
                    "url": record.get("url"),
                }
            )
    with gzip.open(HERE / "dump.jsonl.gz", "wt", encoding="utf-8") as out:
        for record in lines:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else shared_folder())
