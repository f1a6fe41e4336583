"""A user's mistake is a one-line message before anything is written, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdfs.cli import main

PAGE = "tests/fixtures/pages/people_health.html"


def run_with_recipe(tmp_path: Path, recipe: str, capsys: pytest.CaptureFixture) -> str:
    (tmp_path / "recipe.yaml").write_text(recipe)
    output = tmp_path / "out"
    code = main(["run", PAGE, "-o", str(output), "--recipe", str(tmp_path / "recipe.yaml")])
    assert code == 2
    assert not output.exists()  # checked before any output is created
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1, message
    return message


def test_files_named_in_a_recipe_are_checked_when_it_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "folder").mkdir()
    cases = {
        "keywords: {ad_files: [%s/nope.txt]}": "nope.txt does not exist",
        "keywords: {sensitive_files: [%s/binary.txt]}": "not a UTF-8 text file",
        "keywords: {domain_files: [%s/folder]}": "is not a file",
        "language: {model_path: %s/lid.bin}": "lid.bin does not exist",
        "quality_classifier: {model: %s/model}": "model does not exist",
    }
    for step, expected in cases.items():
        message = run_with_recipe(tmp_path, f"steps:\n  - {step % tmp_path}\n", capsys)
        assert expected in message, message
        assert "Value error" not in message


def test_misleading_messages(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", PAGE, "-o", str(tmp_path / "o"), "--recipe", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["run", PAGE, "-o", ""]) == 2
    assert "--output is empty" in capsys.readouterr().err
    assert main(["steps"]) == 0
    listing = capsys.readouterr().out
    assert "PydanticUndefined" not in listing and "languages = ['zh']" in listing
