"""Profile MDFS's coarse stage in one process: where does the time go?

    python benchmarks/profile_coarse.py [--copies 4] [--files 2] [--top 35] [--sort tottime]

Builds the same input as ``coarse_vs_datatrove.py`` (real pages wrapped into .warc.gz, in a
temporary directory), runs ``mdfs run`` with the coarse recipe and ``--workers 1`` under
cProfile, and prints the functions with the most time. For a sampling profile of a real run
with workers (native frames included), py-spy works on the same command:

    py-spy record --subprocesses --native -o profile.svg -- \\
        .venv/bin/mdfs run INPUT --output OUT --recipe coarse.yaml --workers 2
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from coarse_vs_datatrove import build_input, write_recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    args = parser.parse_args()

    from mdfs.engines.local import LocalEngine
    from mdfs.recipe import load_recipe
    from mdfs.run import run_pipeline

    work = Path(tempfile.mkdtemp(prefix="mdfs-profile-"))
    try:
        data = build_input(work / "input", args.copies, args.files)
        recipe_path = work / "coarse.yaml"
        write_recipe(recipe_path)
        recipe = load_recipe(recipe_path)
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        report = run_pipeline([str(data.directory)], work / "out", recipe, LocalEngine(1))
        profiler.disable()
        seconds = time.perf_counter() - start
        print(
            f"{data.documents} pages, {data.html_bytes / 1e6:.0f} MB of HTML: {seconds:.1f} s "
            f"under cProfile ({data.documents / seconds:.1f} docs/s)"
        )
        for step in report["steps"]:
            print(f"  {step['name']:<14} {step['seconds']:7.2f} s")
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
