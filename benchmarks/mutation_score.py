"""Mutation score of the core modules: how many small bugs put into each one its tests catch.

    python benchmarks/mutation_score.py [--module NAME ...] [--sample N] [--seed S] [--show]
                                        [--survivors]

mutmut (3.x, the `dev` extra) writes every mutant of a module (an operator flipped, a constant
changed, a call's argument dropped, ...) and runs, for each one, only the tests that reach the
mutated function. Each module runs in its own copy of the repository with only its own tests
selected (`MODULES`), so a mutant never waits for the whole suite; modules with many mutants are
cut to a seeded sample so that each stays within about ten minutes on 2 cores. A mutant is
killed when a test fails (a timeout counts as killed: the bug made the tests hang); it survives
when they all pass. Mutants listed in `mutation_equivalent.txt` change no behaviour (each with
its argument); they are left out of the score and counted apart.

Prints one line per module: mutants tried, killed, survived, equivalent, not covered and the
score = killed / (tried - equivalent); `--show` adds the diff of every survivor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EQUIVALENT_FILE = Path(__file__).with_name("mutation_equivalent.txt")


@dataclass(frozen=True)
class Module:
    source: str  # the file mutated, relative to the repository
    tests: tuple[str, ...]  # the tests run against its mutants
    sample: int | None = None  # a seeded sample of this many mutants when it has more


MODULES: dict[str, Module] = {
    "pipeline": Module(
        "src/mdfs/pipeline.py",
        (
            "tests/core/test_pipeline.py",
            "tests/core/test_pipeline_stats.py",
            "tests/core/test_accounting.py",
        ),
        sample=120,
    ),
    "tasks": Module(
        "src/mdfs/tasks.py",
        # runs in this process (an in-order engine) whose every count is worked by hand; the
        # end-to-end runs through worker processes (test_run, test_faults) take minutes a mutant
        ("tests/core/test_tasks.py", "tests/core/test_engines.py"),
        sample=80,
    ),
    "storage": Module(
        "src/mdfs/storage.py",
        # test_faults and test_output_urls kill real runs and wait on them: slow, and their
        # clean run failed under mutmut's forked workers; storage's own tests reach every function
        ("tests/core/test_storage.py",),
        sample=120,
    ),
    "report_build": Module(
        "src/mdfs/report/build.py", ("tests/core/test_accounting.py", "tests/core/test_report.py")
    ),
    "exact_dedup": Module(
        "src/mdfs/coarse/exact_dedup.py",
        ("tests/dedup/test_exact_dedup.py", "tests/core/test_keys.py", "tests/dedup/test_dedup.py"),
    ),
    "near_dedup": Module(
        "src/mdfs/coarse/near_dedup.py", ("tests/dedup/test_dedup.py",), sample=150
    ),
    "near_dedup_index": Module(
        "src/mdfs/coarse/near_dedup_index.py", ("tests/dedup/test_dedup.py",), sample=150
    ),
    "pii": Module(
        "src/mdfs/coarse/pii.py",
        ("tests/core/test_pii.py", "tests/core/test_coarse.py", "tests/core/test_keys.py"),
    ),
    "readers": Module(
        "src/mdfs/collect/readers.py",
        # the formats and sources (test_sources) and the pieces of big files (test_split);
        # test_reader_formats reads each format in the test process, where mutmut sees it
        (
            "tests/collect/test_reader_formats.py",
            "tests/core/test_readers.py",
            "tests/core/test_user_errors.py",
            "tests/core/test_sources.py",
            "tests/core/test_split.py",
        ),
        sample=150,
    ),
    "calibration": Module(
        "src/mdfs/evaluate/calibration.py", ("tests/evaluate/test_calibration.py",)
    ),
    "harness": Module(
        "src/mdfs/evaluate/harness.py",
        # the scoring rules on a scripted model; `mdfs eval` on a random GPT-2 and FewCLUE
        # (test_harness's command tests) takes minutes a mutant
        (
            "tests/evaluate/test_harness_report.py",
            "tests/evaluate/test_score.py",
            "tests/evaluate/test_harness.py::test_calibration_removes_a_label_bias",
            "tests/evaluate/test_harness.py::test_multiple_choice_lowest_mean_loss_wins",
        ),
        sample=120,
    ),
    "training": Module("src/mdfs/fine/training.py", ("tests/fine/test_training.py",)),
}

# What the copy of the repository needs to run the tests (never .git, caches or earlier runs)
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "mutants", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info"
)


def mutmut_config(module: Module, root: Path) -> str:
    """The [tool.mutmut] table that mutates one file and selects its tests."""
    tests = ", ".join(json.dumps(test) for test in module.tests)
    # The tests read examples, recipes and benchmark data beside src/ and tests/.
    rest = sorted(
        p.name for p in root.iterdir() if p.name not in {"src", "tests", "pyproject.toml"}
    )
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"also_copy = {json.dumps(rest)}\n"
        f"only_mutate = [{json.dumps(module.source)}]\n"
        f"pytest_add_cli_args_test_selection = [{tests}]\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:randomly"]\n'
        # torch and multiprocessing in the tests are not fork-safe from pytest's own process
        'process_isolation = "forkserver"\n'
        "use_git_change_detection = false\n"
    )


def prepare(name: str, module: Module, workdir: Path) -> Path:
    """A fresh copy of the repository whose pyproject configures mutmut for this module."""
    root = workdir / name
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(REPO, root, ignore=COPY_IGNORE)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + mutmut_config(module, root))
    return root


def environment(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Subprocesses the tests start (the `mdfs` command) import the mutated copy too.
    env["PYTHONPATH"] = str(root / "mutants" / "src")
    env.setdefault("MDFS_SHARED", str(REPO.parent / "shared"))
    for threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[threads] = "1"
    return env


GENERATE = """
from mutmut.__main__ import create_mutants, set_mutant_under_test
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir
set_mutant_under_test("mutant_generation")
copy_src_dir(); copy_also_copy_files(); create_mutants(1)
"""


def mutant_names(root: Path, module: Module) -> list[str]:
    """Every mutant of the module (mutmut writes them all before running any)."""
    subprocess.run(
        [sys.executable, "-c", GENERATE],
        cwd=root,
        env=environment(root),
        check=True,
        capture_output=True,
    )
    return sorted(read_meta(root, module))


def read_meta(root: Path, module: Module) -> dict[str, int | None]:
    meta = json.loads((root / "mutants" / (module.source + ".meta")).read_text())
    return meta["exit_code_by_key"]


def equivalent_mutants() -> set[str]:
    """Mutant names argued equivalent, one a line before its '#' argument."""
    if not EQUIVALENT_FILE.exists():
        return set()
    lines = EQUIVALENT_FILE.read_text(encoding="utf-8").splitlines()
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


KILLED = {1, 3, 36, 24, -24, 152, 255, -9, -11}  # test failures, timeouts, crashes
SURVIVED = {0}
NOT_COVERED = {5, 33}


@dataclass
class Score:
    tried: int
    killed: int
    survived: list[str]
    equivalent: int
    not_covered: list[str]
    minutes: float

    @property
    def score(self) -> float:
        scored = self.tried - self.equivalent
        return self.killed / scored if scored else 1.0


def run_module(
    name: str, module: Module, workdir: Path, sample: int | None, seed: int,
    survivors_only: bool = False,
) -> Score | None:  # fmt: skip
    """Run one module's mutants; None when mutmut gave no verdict (its log says why).

    `survivors_only`: of the same sample, run again only what the last run left alive (its
    `.survivors` file) and the equivalent mutants; the rest were killed then."""
    start = time.monotonic()
    root = prepare(name, module, workdir)
    names = mutant_names(root, module)
    limit = sample if sample is not None else module.sample
    chosen = (
        names if limit is None or len(names) <= limit else random.Random(seed).sample(names, limit)
    )
    equivalent = equivalent_mutants()
    to_run, killed_before = chosen, []
    if survivors_only:
        listed = workdir / f"{name}.survivors"
        if not listed.is_file():
            sys.exit(f"{listed} does not exist: run {name} once without --survivors first")
        alive = set(listed.read_text().split()) | equivalent
        to_run = [m for m in chosen if m in alive]
        killed_before = [m for m in chosen if m not in alive]
    log = workdir / f"{name}.log"
    with log.open("w") as out:
        subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", "2", *sorted(to_run)],
            cwd=root,
            env=environment(root),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    codes = {**read_meta(root, module), **dict.fromkeys(killed_before, 1)}
    survived, not_covered, killed, unknown = [], [], 0, []
    for mutant in chosen:
        code = codes.get(mutant)
        if code in KILLED:
            killed += 1
        elif code in SURVIVED:
            survived.append(mutant)
        elif code in NOT_COVERED:
            not_covered.append(mutant)
        else:
            unknown.append(mutant)
    if unknown:
        print(f"{name}: {len(unknown)} mutants have no result (e.g. {unknown[0]}); see {log}")
        return None
    return Score(
        tried=len(chosen),
        killed=killed,
        survived=[m for m in survived + not_covered if m not in equivalent],
        equivalent=sum(m in equivalent for m in survived + not_covered),
        not_covered=not_covered,
        minutes=(time.monotonic() - start) / 60,
    )


def show(root: Path, mutant: str) -> str:
    shown = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", mutant],
        cwd=root,
        env=environment(root),
        capture_output=True,
        text=True,
        check=False,
    )
    return re.sub(r"^(---|\+\+\+) .*\n", "", shown.stdout, flags=re.M)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), help="(repeatable)")
    parser.add_argument("--sample", type=int, help="mutants per module (default: per module)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    parser.add_argument(
        "--survivors", action="store_true", help="run again only the last run's survivors"
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mdfs-mutation"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print("| module | mutants | killed | survived | equivalent | not covered | score | min |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.module or list(MODULES):
        module = MODULES[name]
        result = run_module(name, module, args.workdir, args.sample, args.seed, args.survivors)
        if result is None:
            continue
        print(
            f"| {name} | {result.tried} | {result.killed} | {len(result.survived)} "
            f"| {result.equivalent} | {len(result.not_covered)} | {result.score:.0%} "
            f"| {result.minutes:.1f} |",
            flush=True,
        )
        (args.workdir / f"{name}.survivors").write_text("\n".join(result.survived) + "\n")
        if args.show:
            for mutant in result.survived:
                print(show(args.workdir / name, mutant), flush=True)


if __name__ == "__main__":
    main()
