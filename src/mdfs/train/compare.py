"""`mdfs compare CORPUS_A CORPUS_B`: does a corpus make a better model, at equal compute?

Both proxies share everything but the corpus: one tokenizer (trained on an even mix of the
two, so neither is favoured, unless --tokenizer is given), seed, model, layout, steps and
batch, hence the same number of training tokens and FLOPs. Both are measured on the same
texts, none of which either trained on:
- held-out loss on a clean `--reference` set (text in neither corpus: with --decontaminate
  it is removed from both), and on a held-out slice of each corpus. A document is held out
  when a hash of its text says so, the same rule in both corpora, so a document the two
  share is held out of both or of neither;
- ZeroCLUE/FewCLUE accuracy with standard errors, scored by the evaluation harness through
  its command line (`mdfs eval`); a difference within two standard errors is marked noise.
`--decontaminate` first runs the `decontaminate` step over each corpus through `mdfs run`,
so neither model has seen the evaluation sets. Like the evaluation, it is reached through
the command line only: this module depends on those commands and the JSON they write.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import math
import subprocess
import sys
import zlib
from pathlib import Path

import orjson

from mdfs.errors import UserError
from mdfs.train.corpus import corpus_files, iter_texts
from mdfs.train.launch import check_request, launch, prepare_run, prepare_tokenizer

# Held-out documents: those whose text's CRC-32 falls below fraction x 2^32.
_HASH_RANGE = 1 << 32


def compare(args: argparse.Namespace) -> int:
    check_request(
        tp=args.tp, pp=args.pp, dp=args.dp, steps=args.steps, seq_len=args.seq_len,
        batch_size=args.batch_size, micro_batches=args.micro_batches,
        model_size=args.model_size, schedule=args.schedule,
    )  # fmt: skip
    if not 0 < args.heldout_fraction < 1:
        raise UserError("--heldout-fraction must be between 0 and 1")
    corpora = {"A": args.corpus_a, "B": args.corpus_b}
    for corpus in corpora.values():
        corpus_files(corpus)
    if args.reference:
        corpus_files(args.reference)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)

    runs: dict[str, dict] = {label: {"corpus": str(c)} for label, c in corpora.items()}
    if args.decontaminate:
        for label, corpus in corpora.items():
            corpora[label], runs[label]["decontamination"] = decontaminate(
                corpus, output / f"clean_{label}", args.reference
            )
    heldout = {"reference": args.reference} if args.reference else {}
    training = {}
    for label, corpus in corpora.items():
        training[label], heldout[label], runs[label]["split"] = split_corpus(
            corpus, output / f"split_{label}", args.heldout_fraction
        )
    tokenizer = Path(args.tokenizer) if args.tokenizer else None
    if tokenizer is None:
        tokenizer = prepare_tokenizer(
            list(training.values()), output / "tokenizer", args.vocab_size, args.tokenizer_docs
        )

    for label, corpus in training.items():
        run_args = copy.copy(args)
        run_args.corpus, run_args.output = str(corpus), str(output / f"run_{label}")
        run_args.tokenizer, run_args.data = str(tokenizer), None
        run_args.heldout = [*(args.heldout or []), *(f"{n}={p}" for n, p in heldout.items())]
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
        runs[label]["summary"] = json.loads((run_dir / "summary.json").read_text())
        runs[label]["eval"] = json.loads(report.read_text())
    (output / "compare.json").write_text(json.dumps(runs, ensure_ascii=False, indent=1))
    print(format_comparison(runs))
    return 0


def decontaminate(corpus: str, folder: Path, reference: str | None) -> tuple[Path, dict]:
    """Run the `decontaminate` step (FewCLUE as `mdfs eval` reads it, and the reference set)
    over a corpus with `mdfs run`; return the decontaminated corpus and what it removed."""
    folder.mkdir(parents=True, exist_ok=True)
    step = {
        "fewclue": "auto",
        "files": [str(f) for f in corpus_files(reference)] if reference else [],
    }
    recipe = folder.with_suffix(".recipe.json")  # JSON is YAML
    recipe.write_text(json.dumps({"steps": [{"decontaminate": step}]}))
    command = [
        sys.executable, "-m", "mdfs.cli", "run", *map(str, corpus_files(corpus)),
        "--recipe", str(recipe), "--output", str(folder), "--workers", "1",
    ]  # fmt: skip
    if subprocess.run(command, check=False).returncode != 0:
        raise UserError(f"decontaminating {corpus} failed; see the output above")
    report = json.loads((folder / "report.json").read_text())
    return folder, {
        "documents_in": report["documents_in"],
        "documents_kept": report["documents_kept"],
        "removed": {k: v for step in report["steps"] for k, v in step["removed"].items()},
    }


def split_corpus(corpus: str | Path, folder: Path, fraction: float) -> tuple[Path, Path, dict]:
    """Write the training and held-out parts of a corpus; a document is held out when the
    CRC-32 of its text is below fraction x 2^32 (the same rule for every corpus)."""
    folder.mkdir(parents=True, exist_ok=True)
    train, held = folder / "train.jsonl.gz", folder / "heldout.jsonl.gz"
    counts = {"train": 0, "heldout": 0}
    limit = int(fraction * _HASH_RANGE)
    with gzip.open(train, "wb") as train_out, gzip.open(held, "wb") as held_out:
        for text in iter_texts(corpus_files(corpus)):
            side = "heldout" if zlib.crc32(text.encode("utf-8")) < limit else "train"
            (held_out if side == "heldout" else train_out).write(
                orjson.dumps({"text": text}) + b"\n"
            )
            counts[side] += 1
    if not counts["heldout"] or not counts["train"]:
        raise UserError(
            f"{corpus}: --heldout-fraction {fraction} leaves {counts['train']} documents to "
            f"train on and {counts['heldout']} held out; choose another fraction"
        )
    return train, held, counts


def format_comparison(runs: dict[str, dict]) -> str:
    a, b = runs["A"], runs["B"]
    lines = [f"A: {a['corpus']}", f"B: {b['corpus']}"]
    for label, run in runs.items():
        if "decontamination" in run:
            d = run["decontamination"]
            removed = ", ".join(f"{reason} {n}" for reason, n in d["removed"].items())
            lines.append(
                f"{label} decontaminated: {d['documents_in']} documents in, "
                f"{d['documents_kept']} kept" + (f" ({removed})" if removed else "")
            )
        if "split" in run:
            split = run["split"]
            lines.append(f"{label} split: {split['train']} trained on, {split['heldout']} held out")
    lines += [
        f"tokens trained: {a['summary']['tokens']} each",
        "",
        "held-out loss per token (bits per character), the same texts for both:",
        f"{'set':<12} {'tokens':>8} {'loss A':>8} {'loss B':>8} {'B - A':>8}"
        f"   {'bpc A':>7} {'bpc B':>7}",
    ]
    heldout_a, heldout_b = a["summary"].get("heldout", {}), b["summary"].get("heldout", {})
    for name in heldout_a:
        ha, hb = heldout_a[name], heldout_b.get(name, {})
        loss_a, loss_b = _number(ha, "loss"), _number(hb, "loss")
        # "A" and "B" are the held-out slices of the two corpora.
        label = f"{name} held out" if name in runs else name
        lines.append(
            f"{label:<12} {ha['tokens']:>8} {loss_a:>8.4f} {loss_b:>8.4f} {loss_b - loss_a:>+8.4f}"
            f"   {_number(ha, 'bits_per_char'):>7.3f} {_number(hb, 'bits_per_char'):>7.3f}"
        )
    lines += [
        "",
        "CLUE score ± standard error (calibrated accuracy where calibrated); z: how many",
        "standard errors the score is above chance (answers in the model's own label shares",
        "that ignore the input), within ±2 is noise; '~': B - A is within two standard errors",
        "of the difference (noise)",
        f"{'task':<10} {'score A':>15} {'z A':>5} {'score B':>15} {'z B':>5} {'B - A':>8}",
    ]
    tasks = sorted(set(a["eval"]["tasks"]) | set(b["eval"]["tasks"]))
    rows = [(t, _result(a, t), _result(b, t)) for t in tasks]
    rows.append(("average", a["eval"]["average"], b["eval"]["average"]))
    for name, ra, rb in rows:
        score_a, score_b = _number(ra, "score"), _number(rb, "score")
        se_a, se_b = _number(ra, "stderr"), _number(rb, "stderr")
        # `<=`: equal scores with no spread (every example wrong in both) are noise too.
        noise = abs(score_b - score_a) <= 2 * math.hypot(se_a, se_b)
        lines.append(
            f"{name:<10} {score_a:>7.4f} ± {se_a:.3f} {_number(ra, 'above_chance'):>+5.1f}"
            f" {score_b:>7.4f} ± {se_b:.3f} {_number(rb, 'above_chance'):>+5.1f}"
            f" {score_b - score_a:>+8.4f}{' ~' if noise else ''}"
        )
    return "\n".join(lines)


def _result(run: dict, task: str) -> dict:
    return run["eval"]["tasks"].get(task) or {}


def _number(result: dict, key: str) -> float:
    # "score", "stderr" and "above_chance" may be absent from older reports.
    value = result.get(key)
    return float(value) if value is not None else math.nan
