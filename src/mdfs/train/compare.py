"""`mdfs compare CORPUS_A CORPUS_B`: does a corpus make a better model, at equal compute?

Both proxies share everything but the corpus: one tokenizer (trained on an even mix of the
two, so neither is favoured, unless --tokenizer is given), seed, model, layout, steps and
batch, hence the same number of training tokens and FLOPs. Each checkpoint is scored by the
evaluation harness through its command line (`mdfs eval`), so this module depends only on
that command and the JSON report it writes ({"tasks": {name: {"accuracy", ...}}, "average"}).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import subprocess
import sys
from pathlib import Path

from mdfs.errors import UserError
from mdfs.train.corpus import corpus_files
from mdfs.train.launch import check_request, launch, prepare_run, prepare_tokenizer


def compare(args: argparse.Namespace) -> int:
    check_request(
        tp=args.tp, pp=args.pp, dp=args.dp, steps=args.steps, seq_len=args.seq_len,
        batch_size=args.batch_size, micro_batches=args.micro_batches,
        model_size=args.model_size, schedule=args.schedule,
    )  # fmt: skip
    corpora = {"A": args.corpus_a, "B": args.corpus_b}
    for corpus in corpora.values():
        corpus_files(corpus)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    tokenizer = Path(args.tokenizer) if args.tokenizer else None
    if tokenizer is None:
        tokenizer = prepare_tokenizer(
            list(corpora.values()), output / "tokenizer", args.vocab_size, args.tokenizer_docs
        )

    runs: dict[str, dict] = {}
    for label, corpus in corpora.items():
        run_args = copy.copy(args)
        run_args.corpus, run_args.output = corpus, str(output / f"run_{label}")
        run_args.tokenizer, run_args.data = str(tokenizer), None
        config = prepare_run(run_args)
        if launch(config) != 0:
            raise UserError(f"training on {corpus} failed; see the output above")
        run_dir = Path(config.run_dir)
        report = run_dir / "eval.json"
        command = [
            sys.executable, "-m", "mdfs.cli", "eval", "--model", str(run_dir / "checkpoint"),
            "--tasks", args.tasks, "--shots", str(args.shots), "--split", args.split,
            "--output", str(report), "--seed", str(args.seed),
        ]  # fmt: skip
        if args.limit:
            command += ["--limit", str(args.limit)]
        if subprocess.run(command, check=False).returncode != 0:
            raise UserError(f"`mdfs eval` failed on {run_dir / 'checkpoint'}")
        runs[label] = {
            "corpus": str(corpus),
            "summary": json.loads((run_dir / "summary.json").read_text()),
            "eval": json.loads(report.read_text()),
        }
    (output / "compare.json").write_text(json.dumps(runs, ensure_ascii=False, indent=1))
    print(format_comparison(runs))
    return 0


def format_comparison(runs: dict[str, dict]) -> str:
    a, b = runs["A"], runs["B"]
    lines = [
        f"A: {a['corpus']}",
        f"B: {b['corpus']}",
        f"tokens trained: {a['summary']['tokens']} each; final loss"
        f" A {a['summary']['final_loss']:.4f} B {b['summary']['final_loss']:.4f}",
        "",
        f"{'task':<10} {'acc A':>8} {'acc B':>8} {'B - A':>8}   {'score A':>8} {'score B':>8}",
    ]
    tasks = sorted(set(a["eval"]["tasks"]) | set(b["eval"]["tasks"]))
    rows = [(t, _result(a, t), _result(b, t)) for t in tasks]
    rows.append(("average", a["eval"]["average"], b["eval"]["average"]))
    for name, ra, rb in rows:
        acc_a, acc_b = _number(ra, "accuracy"), _number(rb, "accuracy")
        lines.append(
            f"{name:<10} {acc_a:>8.4f} {acc_b:>8.4f} {acc_b - acc_a:>+8.4f}"
            f"   {_number(ra, 'score'):>8.4f} {_number(rb, 'score'):>8.4f}"
        )
    return "\n".join(lines)


def _result(run: dict, task: str) -> dict:
    return run["eval"]["tasks"].get(task) or {}


def _number(result: dict, key: str) -> float:
    # "score" (calibrated where the harness calibrates) may be absent from older reports.
    value = result.get(key)
    return float(value) if value is not None else math.nan
