"""CLI: `mdfs train`, `mdfs train-tokenizer`, `mdfs pack`, `mdfs compare`.

torch is imported inside the command functions only, so `mdfs --help` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

TRAIN_EPILOG = """\
Runs tp x pp x dp processes on this machine through torchrun. The same run by hand, e.g. on
several nodes: prepare with --prepare-only, then on every node

  torchrun --nnodes NODES --nproc-per-node GPUS --rdzv-backend c10d \\
      --rdzv-endpoint HOST:29500 -m mdfs.train.worker RUN_DIR/train_config.json

(single node: torchrun --standalone --nproc-per-node TP*PP*DP -m mdfs.train.worker ...).
Across nodes RUN_DIR must be on a shared filesystem (data, and the checkpoint's stage files).
CPU runs use the gloo backend in fp32; GPU runs NCCL and bf16.
Writes RUN_DIR/metrics.jsonl, RUN_DIR/heldout.jsonl (with --heldout), RUN_DIR/summary.json,
RUN_DIR/model.pt and RUN_DIR/checkpoint/ (a Hugging Face GPT-2 model with its tokenizer).
Checkpoints go to RUN_DIR/resume/; the same command run again resumes from the last one.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help="train a proxy GPT on a corpus with tensor x pipeline x data parallelism",
        description="Train a proxy GPT on a corpus (3-D parallel, torch.distributed).",
        epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--corpus", required=True, help="MDFS output DIR or .jsonl(.gz) file")
    train.add_argument("--output", required=True, metavar="RUN_DIR")
    add_training_arguments(train)
    train.add_argument("--data", help="packed data directory (default RUN_DIR/data)")
    train.add_argument(
        "--prepare-only", action="store_true", help="write RUN_DIR/train_config.json and stop"
    )
    train.set_defaults(func=run_train)

    tok = subparsers.add_parser("train-tokenizer", help="train a byte-level BPE tokenizer")
    tok.add_argument("--corpus", required=True, action="append", help="repeat to mix corpora")
    tok.add_argument("--output", required=True, metavar="DIR")
    tok.add_argument("--vocab-size", type=int, default=16000)
    tok.add_argument("--max-docs", type=int, default=200_000)
    tok.set_defaults(func=run_train_tokenizer)

    pack = subparsers.add_parser(
        "pack", help="tokenize a corpus into memory-mapped .bin/.idx shards (resumable)"
    )
    pack.add_argument("--corpus", required=True)
    pack.add_argument("--tokenizer", required=True, metavar="DIR")
    pack.add_argument("--output", required=True, metavar="DIR")
    pack.add_argument("--shard-tokens", type=int, default=1 << 26)
    pack.set_defaults(func=run_pack)

    compare = subparsers.add_parser(
        "compare",
        help="train equal-token proxies on two corpora; held-out loss and CLUE scores",
        description="Train equal-token proxy models on CORPUS_A and CORPUS_B (same tokenizer, "
        "seed and settings); print both models' loss on the same held-out texts (--reference "
        "and a slice of each corpus) and their CLUE scores with standard errors.",
    )
    compare.add_argument("corpus_a")
    compare.add_argument("corpus_b")
    compare.add_argument("--output", default="compare_runs", metavar="DIR")
    add_training_arguments(compare)
    compare.add_argument("--tasks", default="all")
    compare.add_argument("--shots", type=int, default=0)
    compare.add_argument("--split", default="dev")
    compare.add_argument("--limit", type=int, help="score N examples per task (quick look)")
    compare.add_argument(
        "--reference",
        metavar="PATH",
        help="clean held-out text in neither corpus (.jsonl(.gz) or MDFS DIR), scored by both",
    )
    compare.add_argument(
        "--heldout-fraction",
        type=float,
        default=0.01,
        help="share of each corpus held out (by a hash of the text) and scored by both",
    )
    compare.add_argument(
        "--decontaminate",
        action="store_true",
        help="first remove from both corpora what overlaps FewCLUE and --reference",
    )
    compare.set_defaults(func=run_compare)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("model and parallel layout")
    g.add_argument("--tp", type=int, default=1, help="tensor-parallel degree (divides heads)")
    g.add_argument("--pp", type=int, default=1, help="pipeline stages (divides layers)")
    g.add_argument("--dp", type=int, default=1, help="data-parallel (FSDP2) degree")
    g.add_argument("--model-size", default="mini", help="tiny, mini, small, medium, gpt2")
    g.add_argument("--seq-len", type=int, default=256)
    g.add_argument("--recompute", action="store_true", help="activation recomputation (8N)")
    g = parser.add_argument_group("optimisation")
    g.add_argument("--steps", type=int, default=100)
    g.add_argument("--batch-size", type=int, default=16, help="sequences per step, all ranks")
    g.add_argument("--micro-batches", type=int, default=0, help="pipeline micro-batches (2*pp)")
    g.add_argument("--schedule", default="1f1b", help="pipeline schedule: 1f1b or gpipe")
    g.add_argument("--lr", type=float, default=1e-3)
    g.add_argument("--seed", type=int, default=1234)
    g.add_argument(
        "--checkpoint-interval",
        type=int,
        default=0,
        help="steps between resumable checkpoints (default: a tenth of the run); rerunning the "
        "same command resumes from the last one",
    )
    g = parser.add_argument_group("tokenizer, data and device")
    g.add_argument("--tokenizer", help="an existing tokenizer DIR (default: train one)")
    g.add_argument("--vocab-size", type=int, default=16000)
    g.add_argument("--tokenizer-docs", type=int, default=200_000, help="documents to train on")
    g.add_argument("--shard-tokens", type=int, default=1 << 26)
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    g.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16"])
    g.add_argument("--peak-tflops", type=float, default=0.0, help="peak for MFU (default: table)")
    g = parser.add_argument_group("held-out loss")
    g.add_argument(
        "--heldout",
        action="append",
        metavar="NAME=PATH",
        help="a held-out text set (.jsonl(.gz) or MDFS DIR) scored during training; repeat",
    )
    g.add_argument(
        "--eval-interval", type=int, default=0, help="steps between scorings (default: a tenth)"
    )
    g.add_argument(
        "--heldout-tokens", type=int, default=65536, help="tokens scored per set (default 65536)"
    )


def run_train(args: argparse.Namespace) -> int:
    import shlex

    from mdfs.train.launch import launch, prepare_run, torchrun_command

    config = prepare_run(args)
    if args.prepare_only:
        print(shlex.join(torchrun_command(config)))
        return 0
    code = launch(config)
    if code == 0:
        print(f"wrote {Path(config.run_dir) / 'summary.json'}")
    return code


def run_train_tokenizer(args: argparse.Namespace) -> int:
    from mdfs.train.launch import prepare_tokenizer

    out = prepare_tokenizer(args.corpus, Path(args.output), args.vocab_size, args.max_docs)
    print(f"wrote {out}")
    return 0


def run_pack(args: argparse.Namespace) -> int:
    from mdfs.train.packing import pack_corpus

    manifest = pack_corpus(args.corpus, args.tokenizer, args.output, args.shard_tokens)
    tokens = sum(s["tokens"] for s in manifest["shards"])
    docs = sum(s["documents"] for s in manifest["shards"])
    print(f"{len(manifest['shards'])} shards, {docs} documents, {tokens} tokens in {args.output}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from mdfs.train.compare import compare

    return compare(args)
