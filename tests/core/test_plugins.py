"""A user's own step, in a module outside MDFS, named by a recipe's `modules:` list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdfs.cli import main
from tests.conftest import read_parts

PLUGIN = """
from mdfs.pipeline import Filter, register


@register
class MaxUrlLength(Filter):
    name = "max_url_length_test"
    max_chars: int = 200

    def keep(self, document):
        return len(document.url or "") <= self.max_chars or "long_url"
"""


def test_a_user_step_from_outside_the_package_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "user_steps_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    rows = [
        {"id": "short", "text": "国务院新闻办公室今天举行发布会。", "url": "http://a.cn/1"},
        {
            "id": "long",
            "text": "国务院新闻办公室今天举行发布会。",
            "url": "http://a.cn/" + "x" * 80,
        },
    ]
    (tmp_path / "in.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    )
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "modules: [user_steps_plugin]\nsteps:\n  - max_url_length_test: {max_chars: 40}\n"
    )
    output = tmp_path / "out"
    for workers in ("1", "2"):  # worker processes find the user's module too
        args = ["run", str(tmp_path / "in.jsonl"), "-o", str(output), "--recipe", str(recipe)]
        assert main([*args, "--workers", workers, "--overwrite"]) == 0
        assert [d["id"] for d in read_parts(output / "corpus")] == ["short"]
        assert [(d["id"], d["reason"]) for d in read_parts(output / "removed")] == [
            ("long", "long_url")
        ]
    assert main(["steps"]) == 0  # listed among MDFS's own steps, as a plugin
    assert "max_url_length_test  [plugin; not in the default recipe]" in capsys.readouterr().out


def test_a_module_that_does_not_import_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("modules: [no_such_module_here]\nsteps: []\n")
    (tmp_path / "in.txt").write_text("国务院新闻办公室今天举行发布会。")
    args = ["run", str(tmp_path / "in.txt"), "-o", str(tmp_path / "out"), "--recipe", str(recipe)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "cannot import module 'no_such_module_here'" in err


def test_plugins_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mdfs run --plugins MODULE` imports a user's step module for a recipe that does not
    name it, and the resolved recipe records it, so a resumed run or `mdfs filter` finds it."""
    (tmp_path / "cli_steps_plugin.py").write_text(PLUGIN.replace("_test", "_cli"))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "in.jsonl").write_text(
        json.dumps(
            {
                "id": "a",
                "text": "国务院新闻办公室今天举行发布会。",
                "url": "http://a.cn/" + "x" * 80,
            }
        )
        + "\n"
    )
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("steps:\n  - max_url_length_cli: {max_chars: 40}\n")
    output = tmp_path / "out"
    args = ["run", str(tmp_path / "in.jsonl"), "-o", str(output), "--recipe", str(recipe)]
    assert main([*args, "--plugins", "cli_steps_plugin", "--workers", "1"]) == 0
    assert [d["reason"] for d in read_parts(output / "removed")] == ["long_url"]
    assert "- cli_steps_plugin" in (output / "recipe.yaml").read_text()
