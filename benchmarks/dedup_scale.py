"""Near-duplicate removal at scale: docs/s and peak memory against the configured budget.

N documents are made from real text: each is 3-6 random People's Daily paragraphs (so any
two share little), and a share of them (`--duplicates`) are near-copies of an earlier
document (a few characters edited, sometimes truncated or with an advert). They are
written as JSONL files of `--docs-per-file` documents (one shard each) and deduplicated by
`run_pipeline` with a recipe of near_dedup alone, on the local engine.

Memory is sampled every 0.1 s over the whole process tree (the driver, which runs `decide`,
and the worker processes, which compute signatures), from /proc; the peak of the sum and of
the driver alone are printed beside the budget.

    python benchmarks/dedup_scale.py [--docs 1000000] [--workers 2] [--memory-budget-mb 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dedup_data as data

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_tree(root: int) -> tuple[int, int]:
    """(RSS of `root`, RSS of `root` and all its descendants), in bytes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as handle:
                rss[int(entry)] = int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return rss.get(root, 0), total


class PeakMemory(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.driver = self.tree = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            driver, tree = rss_tree(os.getpid())
            self.driver, self.tree = max(self.driver, driver), max(self.tree, tree)
            self.stop.wait(0.1)


def make_inputs(folder: Path, docs: int, per_file: int, duplicates: float, seed: int) -> int:
    rng = random.Random(seed)
    lines = data.peoples_daily_lines()
    ads = data.sms("1")
    recent: list[str] = []  # near-copies come from a window of recent documents
    copies = 0
    handle = None
    for index in range(docs):
        if index % per_file == 0:
            if handle:
                handle.close()
            handle = open(folder / f"part-{index // per_file:05d}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        if recent and rng.random() < duplicates:
            text = data.small_edits(rng.choice(recent), rng, 0.01)
            if rng.random() < 0.3:
                text = data.insert_ads(text, rng, ads, 1)
            copies += 1
        else:
            text = "\n".join(rng.choice(lines) for _ in range(rng.randint(3, 6)))
            recent.append(text)
            if len(recent) > 10_000:
                recent.pop(rng.randrange(len(recent)))
        handle.write(json.dumps({"id": f"d{index}", "text": text}, ensure_ascii=False))
        handle.write("\n")
    if handle:
        handle.close()
    return copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--docs-per-file", type=int, default=50_000)
    parser.add_argument("--duplicates", type=float, default=0.15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-budget-mb", type=int, default=1024)
    parser.add_argument("--workdir", default=None, help="where inputs and output go (a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from mdfs.engines.local import LocalEngine
    from mdfs.recipe import parse_recipe
    from mdfs.run import run_pipeline

    root = Path(args.workdir or tempfile.mkdtemp(prefix="dedup-scale-"))
    inputs = root / "inputs"
    shutil.rmtree(root / "out", ignore_errors=True)
    shutil.rmtree(inputs, ignore_errors=True)
    inputs.mkdir(parents=True)
    started = time.perf_counter()
    copies = make_inputs(inputs, args.docs, args.docs_per_file, args.duplicates, args.seed)
    size = sum(p.stat().st_size for p in inputs.iterdir())
    print(
        f"made {args.docs:,} documents ({copies:,} near-copies), {size / 1e6:,.0f} MB, "
        f"in {time.perf_counter() - started:.0f} s"
    )
    recipe = parse_recipe(
        {
            "collect": {"shard_max_files": 1},
            "steps": [{"near_dedup": {"memory_budget_mb": args.memory_budget_mb}}],
        }
    )
    monitor = PeakMemory()
    monitor.start()
    started = time.perf_counter()
    report = run_pipeline(
        [str(inputs)], root / "out", recipe, LocalEngine(workers=args.workers), overwrite=True
    )
    seconds = time.perf_counter() - started
    monitor.stop.set()
    monitor.join()
    figures = report["global_steps"]["near_dedup"]
    print(
        f"N={args.docs:,} workers={args.workers}: {seconds:.0f} s, "
        f"{args.docs / seconds:,.0f} docs/s end to end; decide {figures['seconds']:.0f} s "
        f"({figures['key_ranges']} key ranges)"
    )
    print(
        f"removed {figures['near_duplicates']:,} near-duplicates in {figures['clusters']:,} "
        f"clusters (largest {figures['largest_cluster']}); {figures['candidate_pairs']:,} "
        f"candidate pairs, {figures['verified_pairs']:,} verified"
    )
    print(
        f"peak RSS: driver (decide) {monitor.driver / 2**20:,.0f} MiB, whole process tree "
        f"{monitor.tree / 2**20:,.0f} MiB; configured budget {args.memory_budget_mb} MiB"
    )
    index = root / "out" / ".mdfs" / "global" / "near_dedup"
    on_disk = sum(p.stat().st_size for p in index.iterdir() if p.is_file())
    print(f"index on disk: {on_disk / 1e6:,.0f} MB ({on_disk / args.docs:,.0f} B/doc)")
    if not args.workdir:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
