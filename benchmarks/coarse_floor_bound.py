"""How close to the extraction floor can the coarse stage get, whatever the extractor?

    python benchmarks/coarse_floor_bound.py [--copies 3] [--files 4] [--rounds 3]

Issue #13 asks the coarse stage to run within 2x the "extraction floor" (FastWARC read +
resiliparse's ``extract_plain_text(main_content=True)``, ``coarse_vs_datatrove.py``). This runs
the coarse recipe of ``coarse_vs_datatrove.py`` in one process, alternating two extractors on
the same WARC input, each round beside a fresh floor measurement:

- ``mdfs``: MDFS's own ``extract_main_text``;
- ``floor's``: resiliparse's main-content extraction itself put in its place. No extractor
  that separates main text from boilerplate can cost less than that, so its ratio is a lower
  bound of the stage's: what the other steps (normalisation, language ID, rules, keywords,
  PII, dedup) and the run's reading and writing add to the floor.

CPU seconds of the process and its workers (``--workers 1``: one worker process).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from coarse_vs_datatrove import build_input, floor, write_recipe
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

import mdfs.collect.steps as collect_steps
from mdfs.engines.local import LocalEngine
from mdfs.recipe import load_recipe
from mdfs.run import run_pipeline


def floors_extractor(html: str, url: str | None = None) -> str:
    return extract_plain_text(HTMLTree.parse(html), main_content=True)


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    extractors = {"mdfs": collect_steps.extract_main_text, "floor's": floors_extractor}
    work = Path(tempfile.mkdtemp(prefix="mdfs-floor-bound-"))
    try:
        data = build_input(work / "input", args.copies, args.files)
        recipe_path = work / "coarse.yaml"
        write_recipe(recipe_path)
        recipe = load_recipe(recipe_path)
        print(f"{data.documents} pages, {data.html_bytes / 1e6:.0f} MB of HTML")
        print(
            "| round | floor CPU s | extractor | coarse CPU s | / floor | kept | extract step s |"
        )
        print("|---|---|---|---|---|---|---|")
        for number in range(1, args.rounds + 1):
            floor_cpu = floor(data, "extraction").usage.cpu
            for name, extract in extractors.items():
                collect_steps.extract_main_text = extract  # the step looks it up at each call
                before = cpu_seconds()
                report = run_pipeline(
                    [str(data.directory)], work / f"out-{number}-{name}", recipe, LocalEngine(1)
                )
                spent = cpu_seconds() - before
                extract_seconds = next(
                    s["seconds"] for s in report["steps"] if s["name"] == "extract"
                )
                print(
                    f"| {number} | {floor_cpu:.2f} | {name} | {spent:.2f} | "
                    f"{spent / floor_cpu:.2f}x | {report['documents_kept']} | {extract_seconds:.2f} |"
                )
    finally:
        collect_steps.extract_main_text = extractors["mdfs"]
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
