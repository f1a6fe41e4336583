"""Speed of `mdfs eval` on sets of FewCLUE's test_public sizes: batched scoring against the
previous path, side by side in one run, with a random-weights GPT-2.

FewCLUE's test_public files judge the work and are not read here. Their sizes are published
(FewCLUE README, "Task Descriptions and Statistics"); each task's set is drawn with replacement
(seeded) from its public `dev_few_all`, written as `<task>/test_public.json` in a temporary
folder, and scored as `mdfs eval --split test_public` scores (zero-shot, all examples).

The previous path (`_eval_previous.py`: one prompt at a time for classification, independent
pairs for multiple choice) takes over an hour for all nine, so it runs on the first
`--previous-limit` examples of each set, as does the batched path once more for a like-for-like
rate and a check that both give the same log-probabilities; its total is projected from its rate.

With `--limit N` only the first N examples of each set are scored (on a busy machine), and
the nine tasks' totals are projected from each task's rate: "projected" says so.

Each task's score is set against chance (see `mdfs.evaluate.harness.chance_accuracy`) over
its distinct examples, as the drawn sets repeat some.

    python benchmarks/eval_speed.py [--threads 2] [--batch-size 64] [--previous-limit 40]
                                    [--limit N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import time
from pathlib import Path

from eval_random_model import DATA_DIR, make_random_model

# Examples in FewCLUE's test_public.json per task (FewCLUE README; the files are not read).
TEST_PUBLIC_SIZES = {
    "eprstmt": 610,
    "csldcp": 1784,
    "tnews": 2010,
    "iflytek": 1749,
    "ocnli": 2520,
    "bustm": 1772,
    "chid": 2002,
    "csl": 2828,
    "cluewsc": 976,
}


def test_sized_sets(dev_dir: Path, out_dir: Path, seed: int = 0) -> Path:
    """Each task's dev_few_all drawn with replacement to its test_public size."""
    from mdfs.evaluate.task import load_examples

    for name, size in TEST_PUBLIC_SIZES.items():
        dev = load_examples(dev_dir, name, "dev")
        drawn = random.Random(f"{seed}:{name}").choices(dev, k=size)
        (out_dir / name).mkdir(parents=True, exist_ok=True)
        with (out_dir / name / "test_public.json").open("w", encoding="utf-8") as out:
            for example in drawn:
                out.write(json.dumps(example, ensure_ascii=False) + "\n")
    return out_dir


def scoring_items(task, examples: list[dict]) -> list[tuple[str, list[str]]]:
    """What the harness asks the model for: every label word, or every candidate."""
    if task.kind == "classification":
        words = [word for c in task.classes for word in c.words]
        return [(task.render_context(e), words) for e in examples]
    return [(task.render_context(e), task.candidates(e)) for e in examples]


def distinct_z(result) -> tuple[int, float]:
    """The score's distance from chance in standard errors, over the distinct examples only.

    A set drawn with replacement repeats examples, and repeats are not independent: over all
    its rows, the standard error is too small and |z| too large (EPRSTMT's 150 rows hold
    about 100 of its 160 dev examples).
    """
    import numpy as np

    from mdfs.evaluate.harness import chance_accuracy, z_score

    first = {sample["id"]: sample for sample in reversed(result.samples)}
    gold = np.array([s["gold"] for s in first.values()])
    answers = np.array([s["scored_prediction"] for s in first.values()])
    chance, stderr = chance_accuracy(gold, answers)
    return len(first), z_score(float(np.mean(gold == answers)), chance, stderr)


def timed(fn, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    import torch
    from _eval_previous import PreviousLM

    from mdfs.evaluate.harness import evaluate_task
    from mdfs.evaluate.lm import CausalLM
    from mdfs.evaluate.task import load_examples, load_task

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR / "clue" / "fewclue")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--previous-limit", type=int, default=40)
    parser.add_argument("--limit", type=int, help="score only the first N examples of each set")
    parser.add_argument("--tasks", default=",".join(TEST_PUBLIC_SIZES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory() as tmp:
        lm = CausalLM.load(make_random_model(Path(tmp) / "model", 0), "cpu", args.batch_size)
        previous = PreviousLM(lm.model, lm.tokenizer, "cpu", args.batch_size)
        data = test_sized_sets(args.data_dir, Path(tmp) / "fewclue")
        rows = []
        for name in args.tasks.split(","):
            task = load_task(name)
            examples = load_examples(data, name, "test_public")[: args.limit]
            result, wall, cpu = timed(evaluate_task, lm, task, examples, [], 0, 1234, False)
            sample = scoring_items(task, examples[: args.previous_limit])
            previous.shared_context = task.kind == "classification"
            old, old_wall, _ = timed(previous.score, sample)
            new, new_wall, _ = timed(lm.score, sample)
            per_token = max(
                abs(a.logprob - b.logprob) / a.tokens
                for row_a, row_b in zip(old, new, strict=True)
                for a, b in zip(row_a, row_b, strict=True)
            )
            size = TEST_PUBLIC_SIZES[name]
            rows.append((name, size, result, wall, cpu, len(sample), old_wall, new_wall, per_token))
            print(f"{name}: {len(examples)} examples in {wall:.0f} s", flush=True)

    n_params = sum(p.numel() for p in lm.model.parameters())
    config = lm.model.config
    print(
        f"\nrandom GPT-2: {config.n_layer} layers, d={config.n_embd}, vocabulary "
        f"{config.vocab_size}, {config.n_positions} positions, {n_params / 1e6:.2f}M parameters; "
        f"{args.threads} thread(s), batch size {args.batch_size}; zero-shot; "
        f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    projected = " (projected)" if args.limit else ""
    print(
        f"| task | examples | scored | batched s | CPU s | ex/s | all{projected} s "
        "| previous ex/s | batched ex/s | same-sample speed-up | max Δ log-prob/token "
        "| score ± se | chance | distinct | z on distinct |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    total = total_cpu = previous = 0.0
    for name, size, result, wall, cpu, k, old_wall, new_wall, per_token in rows:
        n = result.examples
        total, total_cpu = total + size * wall / n, total_cpu + size * cpu / n
        previous += size * old_wall / k
        distinct, z = distinct_z(result)
        print(
            f"| {name} | {size} | {n} | {wall:.0f} | {cpu:.0f} | {n / wall:.1f} "
            f"| {size * wall / n:.0f} | {k / old_wall:.1f} | {k / new_wall:.1f} "
            f"| {old_wall / new_wall:.1f}x | {per_token:.1e} "
            f"| {result.score:.3f} ± {result.stderr:.3f} | {result.chance:.3f} "
            f"| {distinct} | {z:+.1f} |"
        )
    examples = sum(r[1] for r in rows)
    print(
        f"all {len(rows)} tasks{projected}: {examples} examples in {total:.0f} s "
        f"({total / 60:.1f} min, {examples / total:.1f} ex/s, {total_cpu:.0f} s CPU); "
        f"previous path at its rate: {previous:.0f} s ({previous / total:.1f}x)"
    )


if __name__ == "__main__":
    main()
