"""`--help` shows defaults; `mdfs steps` shows each step's stage and whether the default uses it."""

from __future__ import annotations

import pytest

from mdfs.cli import main


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--seed SEED (default: 0)" in out
    assert "(default: both)" in out


def test_steps_show_stage_and_default_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steps"]) == 0
    heads = [line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    assert heads[0].startswith("extract") and "[collect; default recipe]" in heads[0]
    decontaminate = next(line for line in heads if line.startswith("decontaminate"))
    assert "[coarse; not in the default recipe]" in decontaminate
