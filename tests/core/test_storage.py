"""The commit protocol and the run folder's guards (`mdfs.storage`), on the local filesystem
and fsspec's in-memory one (which moves like an object store)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from mdfs import storage
from mdfs.errors import UserError


def test_paths_and_attempt_names() -> None:
    assert storage.join("s3://b/run/", "corpus", "a.gz") == "s3://b/run/corpus/a.gz"
    assert storage.parent("/x/y/z.json") == "/x/y"
    assert storage.basename("/x/y/folder/") == "folder"
    attempt = storage.attempt_name("/x/y/z.json")
    assert attempt.startswith("/x/y/.z.json.tmp-") and storage.is_attempt(storage.basename(attempt))
    assert not storage.is_attempt("z.json") and not storage.is_attempt(".z.json.tmp-xyz")
    assert storage.is_url("memory://run") and not storage.is_url("out/run")
    with pytest.raises(UserError, match=r"^nosuchscheme://x: "):
        storage.filesystem("nosuchscheme://x")


def test_committed_file_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    fs, root = storage.filesystem(tmp_path)
    path = storage.join(root, "deep", "part.txt")
    with storage.committed(fs, path) as handle:
        handle.write(b"first")
        assert not fs.exists(path)  # nothing under the final name while it is written
    assert Path(path).read_bytes() == b"first"
    with pytest.raises(RuntimeError), storage.committed(fs, path) as handle:
        handle.write(b"half")
        raise RuntimeError("writer died")
    assert Path(path).read_bytes() == b"first"
    assert os.listdir(tmp_path / "deep") == ["part.txt"]  # the failed attempt is gone
    storage.write_atomic_bytes(tmp_path / "deep" / "part.txt", b"second")
    assert Path(path).read_bytes() == b"second"


class RenameRefusingFileSystem(MemoryFileSystem):
    """Moves like HDFS: never onto an existing file."""

    protocol = "refusing"

    def mv(self, path1: str, path2: str, **kwargs) -> None:
        if self.exists(path2):
            raise OSError(f"{path2} exists")
        super().mv(path1, path2, **kwargs)


def test_a_second_attempt_of_a_shard_is_dropped_where_moves_refuse() -> None:
    fs = RenameRefusingFileSystem()
    root = f"/run-{uuid.uuid4().hex}"
    storage.write_atomic_bytes(f"{root}/stats.json", b"first attempt", fs=fs)
    storage.write_atomic_bytes(f"{root}/stats.json", b"second attempt", fs=fs)
    assert fs.cat(f"{root}/stats.json") == b"first attempt"
    assert fs.ls(root, detail=False) == [f"{root}/stats.json"]
    with pytest.raises(FileNotFoundError):  # a real failure is not swallowed
        storage.publish(fs, f"{root}/.lost.tmp-00", f"{root}/other.json")


def test_memory_filesystem_replaces_on_commit() -> None:
    fs, root = storage.filesystem(f"memory://run-{uuid.uuid4().hex}")
    storage.write_atomic_bytes(storage.join(root, "a"), b"1", fs=fs)
    storage.write_atomic_bytes(storage.join(root, "a"), b"2", fs=fs)
    assert fs.cat(storage.join(root, "a")) == b"2"
    storage.remove(fs, storage.join(root, "a"))
    storage.remove(fs, storage.join(root, "a"))  # already gone: nothing to do
    assert not fs.exists(storage.join(root, "a"))


def test_stale_attempts_removed_and_finished_files_kept(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "part-0.jsonl.gz").write_bytes(b"done")
    (tmp_path / "corpus" / ".part-1.jsonl.gz.tmp-0a1b").write_bytes(b"half")
    fs, root = storage.filesystem(tmp_path)
    storage.remove_stale_attempts(fs, [storage.join(root, "corpus"), storage.join(root, "none")])
    assert os.listdir(tmp_path / "corpus") == ["part-0.jsonl.gz"]


def test_overwrite_only_empties_a_run_that_holds_no_input(tmp_path: Path) -> None:
    fs, root = storage.filesystem(tmp_path / "out")
    storage.discard_previous_run(fs, root, [])  # not there yet: nothing to do
    (tmp_path / "out").mkdir()
    storage.discard_previous_run(fs, root, [])  # empty: nothing to do
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"is not one \(no .mdfs/run.json\)"):
        storage.discard_previous_run(fs, root, [])
    (tmp_path / "out" / ".mdfs").mkdir()
    (tmp_path / "out" / ".mdfs" / "run.json").write_text("{}")
    assert storage.holds_run(fs, root)
    (tmp_path / "out" / "inputs").mkdir()
    with pytest.raises(UserError, match=r"holds the input .*inputs/\*.jsonl"):
        storage.discard_previous_run(fs, root, [f"{tmp_path}/out/inputs/*.jsonl"])
    storage.discard_previous_run(fs, root, [str(tmp_path / "elsewhere.jsonl"), "s3://b/x"])
    assert os.listdir(tmp_path / "out") == []


def test_input_locations_and_within() -> None:
    here = os.path.realpath(".")
    assert storage.input_locations(["s3://b/x", "data/*.gz", "*.gz", "a[0-9]"]) == [
        "s3://b/x", os.path.join(here, "data"), here, os.path.join(here, "a"),
    ]  # fmt: skip
    assert storage.is_within("/a/b", "/a/b") and storage.is_within("/a/b/c", "/a/b/")
    assert not storage.is_within("/a/bc", "/a/b")
    assert storage.is_within("/data/runX/corpus", "/data/runX")  # only slashes are trimmed


def test_a_second_run_into_the_same_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "LOCK_GRACE_SECONDS", 0.3)
    fs, root = storage.filesystem(tmp_path)
    with (
        storage.exclusive_output(fs, root),
        pytest.raises(UserError, match="being written by another mdfs run"),
        storage.exclusive_output(fs, root),
    ):
        pass
    with storage.exclusive_output(fs, root):  # released when the first run ended
        pass
    with storage.exclusive_output(MemoryFileSystem(), "/anywhere"):  # no locks there
        pass


def test_scratch_is_per_output_and_replaced_by_the_next_run(tmp_path: Path) -> None:
    first = Path(storage.scratch_for(tmp_path / "out"))
    (first / "left.bin").write_bytes(b"x")
    second = Path(storage.scratch_for(tmp_path / "out"))
    assert second.parent == first.parent and not first.exists() and second.is_dir()
    other = Path(storage.scratch_for(tmp_path / "other"))
    assert other.parent != second.parent
    assert first.parent.name.startswith("mdfs-scratch-") and len(first.parent.name) == 13 + 16
    storage.remove_scratch(str(second))
    storage.remove_scratch(str(other))
    assert not second.parent.exists() and not other.parent.exists()


def _run_and_clean_up(url: str) -> None:
    """What a whole run does with its scratch: made when it starts, removed when it ends."""
    storage.remove_scratch(storage.scratch_for(url))


def test_memory_outputs_of_two_processes_have_their_own_scratch() -> None:
    """Each process has its own memory filesystem: another process's run into the same
    memory:// path (the same test in another session) must not empty this run's scratch."""
    import multiprocessing

    url = f"memory://scratch-{uuid.uuid4().hex}/out"
    mine = Path(storage.scratch_for(url))
    child = multiprocessing.get_context("fork").Process(target=_run_and_clean_up, args=(url,))
    child.start()
    child.join()
    assert child.exitcode == 0
    assert mine.is_dir()
    storage.remove_scratch(str(mine))
    assert Path(storage.scratch_for(url)).parent == mine.parent  # the same in one process
    storage.remove_scratch(str(mine))
