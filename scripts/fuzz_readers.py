"""Run the reader fuzz properties of tests/fuzz at length, one after the other, and print how
many examples each passed: `python scripts/fuzz_readers.py [EXAMPLES] [PROPERTY ...]`
(default 10,000 examples of every property). Run from the repository root."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.test_fuzz_readers import PROPERTIES, fuzz


def main() -> None:
    args = sys.argv[1:]
    examples = int(args.pop(0)) if args and args[0].isdigit() else 10_000
    names = args or list(PROPERTIES)
    for name in names:
        strategy, check = PROPERTIES[name]
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            fuzz(strategy, examples)(check)(workdir=Path(folder))
        seconds = time.perf_counter() - started
        print(f"{name:<32} {examples:>7,} examples passed in {seconds:7.1f} s", flush=True)


if __name__ == "__main__":
    main()
