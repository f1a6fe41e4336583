"""User mistakes end as one-line errors (exit 2) before any process starts."""

import pytest

from mdfs.cli import main


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--corpus", "{missing}"], "no such corpus"),
        (["--tp", "3"], "does not divide the 4 heads"),
        (["--pp", "3"], "does not divide the 4 layers"),
        (["--dp", "3"], "not divisible by dp"),
        (["--model-size", "huge"], "unknown --model-size"),
        (["--steps", "0"], "--steps must be at least 1"),
    ],
)
def test_mistakes_are_user_errors(arguments, message, corpus_dir, tmp_path, capsys):
    arguments = [a.replace("{missing}", str(tmp_path / "nowhere")) for a in arguments]
    base = ["train", "--corpus", str(corpus_dir), "--output", str(tmp_path / "run")]
    base += ["--model-size", "tiny", "--batch-size", "8"]
    assert main([*base, *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "train_config.json").exists()


def test_prepare_only_prints_the_torchrun_line(corpus_dir, tokenizer_dir, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(
        ["train", "--corpus", str(corpus_dir), "--output", str(run), "--tokenizer",
         str(tokenizer_dir), "--model-size", "tiny", "--tp", "2", "--pp", "2", "--dp", "2",
         "--batch-size", "8", "--prepare-only"]
    )  # fmt: skip
    assert code == 0
    line = capsys.readouterr().out
    assert "torch.distributed.run" in line and "--nproc-per-node 8" in line
    assert (run / "train_config.json").exists() and (run / "data/index.json").exists()
