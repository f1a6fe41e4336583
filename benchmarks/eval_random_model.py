"""Accuracy of a random-weights tiny GPT-2 on the full FewCLUE dev sets, against chance.

A model that knows nothing must score near chance on every task; a harness bug (a label
leaking into the prompt, scores read at the wrong positions) shows as a task far from it.
`chance` is what answers in the model's own label shares would score if they ignored the
input, and `z` the score's distance from it in standard errors (`chance_accuracy` in
`mdfs.evaluate.harness`); `uniform` is 1/K, and `majority` the share of the commonest label,
what always answering it scores.

    python benchmarks/eval_random_model.py [--data-dir DIR] [--seeds 0 1 ...] [--shots K]
                                           [--tasks eprstmt,csl,...]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from mdfs.shared import shared_folder

DATA_DIR = shared_folder() / "data"


def make_random_model(path: Path, seed: int) -> Path:
    import torch
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    vocab = DATA_DIR / "vocab" / "bert_base_chinese_vocab.txt"
    backend = Tokenizer(WordPiece.from_file(str(vocab), unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", eos_token="[SEP]"
    )
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=512,
        n_embd=64,
        n_layer=2,
        n_head=4,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def main() -> None:
    import torch

    from mdfs.evaluate.harness import evaluate
    from mdfs.evaluate.lm import CausalLM
    from mdfs.evaluate.task import parse_task_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR / "clue" / "fewclue")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--shots", type=int, default=0)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--tasks", default="all", help="comma-separated, or all")
    # One thread by default: on a shared machine, more threads than idle cores only spin.
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)

    tasks = parse_task_names(args.tasks)
    reports = []
    started = time.perf_counter()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            lm = CausalLM.load(make_random_model(Path(tmp), seed), device="cpu", batch_size=64)
            reports.append(evaluate(lm, tasks, args.data_dir, "dev", args.shots, limit=args.limit))
    elapsed = time.perf_counter() - started

    print(
        f"random GPT-2 (2 layers, d=64), FewCLUE dev_few_all, {args.shots}-shot, "
        f"model seeds {args.seeds}; accuracy, score and chance as mean ± std over seeds, "
        "z for each seed"
    )
    print("| task | examples | uniform | majority | accuracy | score | chance | z |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    rows = {name: [r["tasks"][name] for r in reports] for name in tasks}  # type: ignore[index]
    rows["average"] = [{**r["average"], "examples": ""} for r in reports]  # type: ignore[dict-item]
    for name, results in rows.items():
        first = results[0]
        z = " ".join(f"{r['above_chance']:+.1f}" for r in results)
        uniform = "" if name == "average" else f"{first['uniform']:.3f}"
        print(
            f"| {name} | {first['examples']} | {uniform} | {first['majority']:.3f} "
            f"| {_spread(results, 'accuracy')} | {_spread(results, 'score')} "
            f"| {_spread(results, 'chance')} | {z} |"
        )
    print(
        f"{len(args.seeds)} model(s) x {len(tasks)} tasks in {elapsed:.0f} s, {args.threads} CPU thread(s)"
    )


def _spread(results: list[dict], key: str) -> str:
    values = np.array([r[key] for r in results], dtype=float)
    return (
        f"{values.mean():.3f}" if len(values) == 1 else f"{values.mean():.3f} ± {values.std():.3f}"
    )


if __name__ == "__main__":
    main()
