"""Fault injection beside the resume tests: --overwrite on the wrong folder, outputs the file
system refuses, a full disk in each phase, a second run into the same output, and the
parent process killed alone."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem

from mdfs import storage
from mdfs.cli import main
from mdfs.storage import exclusive_output
from tests.conftest import COARSE_SMALL_SHARDS, read_parts


@pytest.fixture(scope="module")
def pages(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six real article pages, one shard each (with the recipe below)."""
    folder = tmp_path_factory.mktemp("pages")
    found = sorted((shared / "data/web/news_pages/article_pages").glob("*/*.html"))[:6]
    for page in found:
        (folder / f"{page.parent.name}_{page.name}").write_bytes(page.read_bytes())
    return folder


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "coarse.yaml"
    path.write_text(COARSE_SMALL_SHARDS)  # two phases: exact_dedup is a global step
    return path


def mdfs_run(*args: str) -> int:
    return main(["run", *args])


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("mdfs run: error:")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err), err
    return errors[0]


def corpus(output: str | Path) -> list[tuple[str, str]]:
    return sorted((r["id"], r["text"]) for r in read_parts(Path(output) / "corpus"))


def counts(report: dict) -> list[dict]:
    return [{k: v for k, v in step.items() if k != "seconds"} for step in report["steps"]]


# -- D1: --overwrite ---------------------------------------------------------------------


def test_overwrite_deletes_only_a_run_and_never_an_input(
    pages: Path, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for page in pages.iterdir():
        (inputs / page.name).write_bytes(page.read_bytes())
    before = sorted(p.name for p in inputs.iterdir())
    for output in (inputs, tmp_path):  # the input folder itself, and a folder holding it
        assert mdfs_run(str(inputs), "-o", str(output), "--overwrite", "--recipe", str(recipe)) == 2
        assert "holds the input" in one_line_error(capsys)
        assert sorted(p.name for p in inputs.iterdir()) == before
    mine = tmp_path / "mydata"
    mine.mkdir()
    (mine / "notes.txt").write_text("not a run")
    assert mdfs_run(str(inputs), "-o", str(mine), "--overwrite", "--recipe", str(recipe)) == 2
    assert "not one (no .mdfs/run.json)" in one_line_error(capsys)
    assert (mine / "notes.txt").read_text() == "not a run"
    # a run is overwritten
    out = tmp_path / "out"
    assert mdfs_run(str(inputs), "-o", str(out), "--recipe", str(recipe)) == 0
    (out / "corpus" / "stray.jsonl.gz").write_bytes(b"")
    assert mdfs_run(str(inputs), "-o", str(out), "--overwrite", "--recipe", str(recipe)) == 0
    assert not (out / "corpus" / "stray.jsonl.gz").exists()


def test_an_output_inside_an_input_folder_is_not_read_as_input(
    pages: Path, recipe: Path, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for page in pages.iterdir():
        (inputs / page.name).write_bytes(page.read_bytes())
    output = inputs / "out"
    for _ in range(2):  # the second run resumes (was: refused, its corpus had become input)
        assert mdfs_run(str(inputs), "-o", str(output), "--recipe", str(recipe)) == 0
        report = json.loads((output / "report.json").read_text())
        assert report["inputs"]["files"] == len(list(pages.iterdir()))
    assert mdfs_run(str(inputs), "-o", str(output), "--overwrite", "--recipe", str(recipe)) == 0


# -- D5: outputs the file system refuses, a full disk -------------------------------------


def test_output_locations_the_system_refuses_are_one_line(
    pages: Path, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "afile").write_text("x")
    for output in (tmp_path / "afile", tmp_path / "afile" / "sub", Path("/proc/mdfs-out")):
        assert mdfs_run(str(pages), "-o", str(output), "--recipe", str(recipe)) == 2
        one_line_error(capsys)
    assert (tmp_path / "afile").read_text() == "x"


class FullDisk(LocalFileSystem):
    """A local folder whose disk fills up after `writes_left` files opened for writing."""

    protocol = ("fulldisk",)
    writes_left: ClassVar[int | None] = None  # None: room for everything
    writes: ClassVar[int] = 0

    @classmethod
    def _strip_protocol(cls, path):
        path = fsspec.utils.stringify_path(path)
        return super()._strip_protocol(path.removeprefix("fulldisk://"))

    def _open(self, path, mode="rb", **kwargs):
        if "w" in mode or "a" in mode:
            FullDisk.writes += 1
            if FullDisk.writes_left is not None:
                if FullDisk.writes_left <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device", path)
                FullDisk.writes_left -= 1
        return super()._open(path, mode, **kwargs)


def test_a_full_disk_in_every_phase_is_one_line_and_resumes_identically(
    pages: Path, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    fsspec.register_implementation("fulldisk", FullDisk, clobber=True)
    reference = tmp_path / "reference"
    assert (
        mdfs_run(str(pages), "-o", str(reference), "--recipe", str(recipe), "--workers", "1") == 0
    )
    # how many files a whole run writes, to fail at each of them in turn
    FullDisk.writes, FullDisk.writes_left = 0, None
    counted = f"fulldisk://{tmp_path / 'counted'}"
    assert mdfs_run(str(pages), "-o", counted, "--recipe", str(recipe), "--workers", "1") == 0
    total = FullDisk.writes
    assert total > 20  # run.json, 3 files per shard and phase, the global step, the reports
    output = f"fulldisk://{tmp_path / 'full'}"
    try:
        failed = 0
        for room in range(0, total, 3):  # each time the disk is full a little later
            FullDisk.writes_left = room
            code = mdfs_run(str(pages), "-o", output, "--recipe", str(recipe), "--workers", "1")
            if code == 0:
                break
            assert code == 2
            assert "No space left on device" in one_line_error(capsys)
            failed += 1
        assert failed >= 5
        FullDisk.writes_left = None
        assert mdfs_run(str(pages), "-o", output, "--recipe", str(recipe), "--workers", "1") == 0
    finally:
        FullDisk.writes_left = None
    assert corpus(tmp_path / "full") == corpus(reference)
    expected = json.loads((reference / "report.json").read_text())
    resumed = json.loads((tmp_path / "full" / "report.json").read_text())
    assert counts(resumed) == counts(expected) and resumed["errors"] == expected["errors"]


# -- D6: a second run into the same output -------------------------------------------------


def test_a_second_run_into_the_same_output_is_refused(
    pages: Path, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(storage, "LOCK_GRACE_SECONDS", 0.5)  # how long it waits, then refuses
    output = tmp_path / "out"
    output.mkdir()
    with exclusive_output(LocalFileSystem(), str(output)):  # as a running `mdfs run` holds it
        for extra in ([], ["--overwrite"]):
            assert mdfs_run(str(pages), "-o", str(output), "--recipe", str(recipe), *extra) == 2
            assert "being written by another mdfs run" in one_line_error(capsys)
        assert list(output.iterdir()) == []
    assert mdfs_run(str(pages), "-o", str(output), "--recipe", str(recipe)) == 0


def test_two_runs_at_once(pages: Path, recipe: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    command = [sys.executable, "-m", "mdfs.cli", "run", str(pages), "-o", str(output),
               "--recipe", str(recipe), "--workers", "2"]  # fmt: skip
    runs = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = sorted((run.wait(), run.stderr.read()) for run in runs)  # type: ignore[union-attr]
    codes = [code for code, _ in outcomes]
    # either one was refused cleanly while the other ran, or they ran one after the other
    assert codes in ([0, 0], [0, 2]), outcomes
    if codes == [0, 2]:
        assert "being written by another mdfs run" in outcomes[1][1]
        assert "Traceback" not in outcomes[1][1]
    reference = tmp_path / "reference"
    assert mdfs_run(str(pages), "-o", str(reference), "--recipe", str(recipe)) == 0
    assert corpus(output) == corpus(reference)


# -- D7: the parent killed alone -----------------------------------------------------------


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with_children = task / "children"
        if with_children.exists():
            found.update(int(p) for p in with_children.read_text().split())
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="workers follow their parent on Linux")
def test_workers_die_with_their_parent(shared: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(COARSE_SMALL_SHARDS)
    pages = shared / "data/web/news_pages/article_pages"
    output = tmp_path / "out"
    command = [sys.executable, "-m", "mdfs.cli", "run", str(pages), "-o", str(output),
               "--recipe", str(recipe), "--workers", "2"]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.time() + 60
    while time.time() < deadline and len(workers) < 2:
        workers = children(process.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the pool did not start"
    os.kill(process.pid, signal.SIGKILL)  # the parent alone, as the OOM killer does
    process.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.05)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "pool workers outlived their parent"
    assert main(["run", str(pages), "-o", str(output), "--recipe", str(recipe)]) == 0
