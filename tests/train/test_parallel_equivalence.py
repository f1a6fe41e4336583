"""A parallel layout must not change the mathematics.

The same seed, data and tiny model trained by one process and by 2 x 2 x 2 = 8 processes
(tensor x pipeline x data parallel, gloo on CPU) must log the same losses and end with the
same weights. Only this comparison catches the silent errors a wrong composition makes
(e.g. DDP's replicate with TP/PP runs but computes different losses).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from mdfs.cli import main
from mdfs.train import flops
from mdfs.train.model import GPT, GPTConfig

STEPS = 6


def _train(corpus: Path, tokenizer: Path, run_dir: Path, tp: int, pp: int, dp: int, *extra: str):
    code = main(
        [
            "train", "--corpus", str(corpus), "--output", str(run_dir),
            "--tokenizer", str(tokenizer), "--model-size", "tiny", "--seq-len", "32",
            "--steps", str(STEPS), "--batch-size", "8", "--lr", "1e-2", "--device", "cpu",
            "--tp", str(tp), "--pp", str(pp), "--dp", str(dp), *extra,
        ]
    )  # fmt: skip
    assert code == 0
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(corpus_dir, tokenizer_dir, paragraphs, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    # Paragraphs the corpus (the first 150) does not hold, scored after steps 3 and 6.
    heldout = root / "heldout.jsonl"
    heldout.write_text("".join(json.dumps({"text": p}) + "\n" for p in paragraphs[300:340]))
    scored = ("--heldout", f"wiki={heldout}", "--eval-interval", "3", "--heldout-tokens", "512")
    single = _train(corpus_dir, tokenizer_dir, root / "1x1x1", 1, 1, 1, *scored)
    parallel = _train(corpus_dir, tokenizer_dir, root / "2x2x2", 2, 2, 2, *scored)
    return root, single, parallel


def _heldout(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "heldout.jsonl").read_text().splitlines()]


def test_same_losses_in_one_and_eight_processes(runs):
    _, single, parallel = runs
    assert [m["step"] for m in parallel] == list(range(STEPS))
    single_losses = [m["loss"] for m in single]
    parallel_losses = [m["loss"] for m in parallel]
    assert single_losses[-1] < single_losses[0] - 0.1  # the weights moved: a real comparison
    diff = max(abs(a - b) for a, b in zip(single_losses, parallel_losses, strict=True))
    # Measured: 9.5e-7 (float32 sums in another order); the README claims ~1e-6.
    assert diff < 1e-5, (single_losses, parallel_losses)
    # The gradient norm sums over TP shards, FSDP shards and pipeline stages.
    for a, b in zip(single, parallel, strict=True):
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-5)


def test_same_heldout_losses_in_one_and_eight_processes(runs):
    root, _, _ = runs
    single, parallel = _heldout(root / "1x1x1"), _heldout(root / "2x2x2")
    assert [h["step"] for h in single] == [h["step"] for h in parallel] == [2, 5]
    assert single[1]["wiki"]["loss"] < single[0]["wiki"]["loss"]  # it learnt something general
    for a, b in zip(single, parallel, strict=True):
        assert a["wiki"]["loss"] == pytest.approx(b["wiki"]["loss"], abs=1e-5)


def test_heldout_loss_is_the_final_models_loss_on_the_heldout_tokens(runs):
    from mdfs.train.heldout import windows
    from mdfs.train.model import cross_entropy

    root, _, _ = runs
    summary = json.loads((root / "2x2x2/summary.json").read_text())["heldout"]["wiki"]
    native = torch.load(root / "1x1x1/model.pt", weights_only=True)
    model = GPT(GPTConfig(**native["config"]))
    model.load_state_dict(native["model"])
    rows = torch.from_numpy(windows(root / "1x1x1/heldout/wiki.npy", 32))
    assert rows.shape == (512 // 32, 33) and summary["tokens"] == 512
    with torch.no_grad():
        loss = float(cross_entropy(model(rows[:, :-1]), rows[:, 1:]))
    assert summary["loss"] == pytest.approx(loss, abs=1e-5)
    # Bits per character: the same loss over the characters the 512 tokens spell.
    assert 512 / 4 < summary["chars"] < 512
    assert summary["bits_per_char"] == pytest.approx(loss * 512 / summary["chars"] / math.log(2))


def test_same_final_weights(runs):
    root, _, _ = runs
    single = torch.load(root / "1x1x1/model.pt", weights_only=True)["model"]
    parallel = torch.load(root / "2x2x2/model.pt", weights_only=True)["model"]
    assert single.keys() == parallel.keys()
    run_config = json.loads((root / "1x1x1/train_config.json").read_text())
    torch.manual_seed(run_config["seed"])  # the workers' initial weights
    initial = GPT(GPTConfig(**run_config["model"]))
    # Adam divides each gradient by its own running magnitude, so where a gradient is nearly
    # zero (embedding rows of rare tokens) float-order noise becomes a visible update: the
    # bound is loose against that, yet far below how far training moved the weights.
    moved = max((w - single[n]).abs().max().item() for n, w in initial.state_dict().items())
    assert moved > 0.02
    for name, weight in single.items():
        assert torch.allclose(weight, parallel[name], atol=1e-4), name


def test_summary_accounts_the_logged_tokens(runs):
    root, _, parallel = runs
    summary = json.loads((root / "2x2x2/summary.json").read_text())
    config = GPTConfig(**summary["model"])
    tokens = parallel[-1]["tokens"]
    assert tokens == summary["tokens"] == STEPS * 8 * 32
    expected = flops.flops_per_token(config) * tokens / (1e15 * 86400)
    assert summary["pf_days"] == pytest.approx(expected, rel=1e-12)
    assert parallel[-1]["pf_days"] == pytest.approx(expected, rel=1e-12)
    assert summary["layout"] | {"mesh": None} == {
        "tp": 2, "pp": 2, "dp": 2, "world_size": 8, "mesh": None, "schedule": "1f1b",
        "micro_batches": 4, "data_parallel": "fsdp2",
    }  # fmt: skip
    assert 0 < summary["mfu"] < 1 and summary["tokens_per_s"] > 0


def test_checkpoint_loads_in_transformers(runs, paragraphs):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, _, _ = runs
    checkpoint = root / "2x2x2/checkpoint"
    hf_model = AutoModelForCausalLM.from_pretrained(str(checkpoint)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    native = torch.load(root / "2x2x2/model.pt", weights_only=True)
    model = GPT(GPTConfig(**native["config"]))
    model.load_state_dict(native["model"])
    ids = tokenizer(paragraphs[2], return_tensors="pt")["input_ids"][:, :32]
    with torch.no_grad():
        assert torch.allclose(model.eval()(ids), hf_model(ids).logits, atol=1e-5)


@pytest.mark.slow
def test_gpipe_with_recomputation_matches_too(corpus_dir, tokenizer_dir, runs, tmp_path):
    _, single, _ = runs
    parallel = _train(
        corpus_dir, tokenizer_dir, tmp_path, 2, 2, 2, "--schedule", "gpipe", "--recompute"
    )
    diff = max(abs(a["loss"] - b["loss"]) for a, b in zip(single, parallel, strict=True))
    assert diff < 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("layout", [(2, 1, 1), (1, 2, 1), (1, 1, 2)])
def test_each_axis_alone_matches(corpus_dir, tokenizer_dir, runs, tmp_path, layout):
    # TP alone mixes DTensor and plain parameters in one optimizer, a case 2x2x2 never has.
    _, single, _ = runs
    parallel = _train(corpus_dir, tokenizer_dir, tmp_path, *layout)
    diff = max(abs(a["loss"] - b["loss"]) for a, b in zip(single, parallel, strict=True))
    assert diff < 1e-5
