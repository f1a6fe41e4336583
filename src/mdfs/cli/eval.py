"""`mdfs eval`: zero- and few-shot ZeroCLUE/FewCLUE accuracy of a causal language model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mdfs.errors import UserError
from mdfs.shared import FEWCLUE_ENV, fewclue_folder, shared_folder


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="zero/few-shot ZeroCLUE/FewCLUE accuracy of a causal LM",
        description=__doc__,
    )
    parser.add_argument("--model", required=True, help="Hugging Face causal LM directory")
    parser.add_argument("--tasks", default="all", help="'all' or a comma list, e.g. tnews,chid")
    parser.add_argument("--shots", type=int, default=0, help="demonstrations per prompt (k)")
    parser.add_argument("--split", default="dev", choices=["dev", "test_public"])
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"FewCLUE folder (default: ${FEWCLUE_ENV}, else {shared_folder()}/data/clue/fewclue)",
    )
    parser.add_argument("--output", type=Path, help="write the report as JSON here")
    parser.add_argument(
        "--log-samples", type=Path, metavar="FILE", help="write every example's predictions (JSONL)"
    )
    parser.add_argument("--limit", type=int, help="score a seeded sample of N examples per task")
    parser.add_argument("--seed", type=int, default=1234, help="seeds demonstrations and --limit")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument(
        "--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"]
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="prompts, and candidate continuations, per forward pass (default 64)",
    )
    parser.add_argument("--threads", type=int, help="CPU threads (default: one per core)")
    parser.add_argument("--max-length", type=int, help="tokens per sequence (default: the model's)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mdfs.evaluate.harness import evaluate, format_table
    from mdfs.evaluate.lm import CausalLM
    from mdfs.evaluate.task import parse_task_names, split_path

    if args.shots < 0 or (args.limit is not None and args.limit < 1) or args.batch_size < 1:
        raise UserError("--shots must be >= 0, and --limit and --batch-size >= 1")
    if args.threads is not None and args.threads < 1:
        raise UserError("--threads must be >= 1")
    task_names = parse_task_names(args.tasks)
    data_dir = fewclue_folder(args.data_dir)
    for name in task_names:
        split_path(data_dir, name, args.split)  # a missing file fails before the model loads
    if not Path(args.model).is_dir():
        raise UserError(f"--model {args.model}: no such model directory")
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    lm = CausalLM.load(args.model, args.device, args.batch_size, args.dtype, args.max_length)
    report = evaluate(
        lm,
        task_names,
        data_dir,
        split=args.split,
        shots=args.shots,
        seed=args.seed,
        limit=args.limit,
        progress=True,
        log_samples=args.log_samples,
    )
    report = {"model": str(args.model), "device": lm.device, **report}
    print(format_table(report))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return 0
