"""Proxy-training throughput: tokens/s and MFU of `mdfs train`, on GPU or CPU.

    python benchmarks/train_throughput.py                      # picks the device
    python benchmarks/train_throughput.py --layouts 1x1x1,2x2x2 --device cpu
    python benchmarks/train_throughput.py --device cuda --model-size gpt2 --seq-len 1024

It runs the real command (tokenizer, packing, torchrun, the parallel worker) on a corpus built
from the shared real text (CMRC 2018 Wikipedia paragraphs and People's Daily), then reads
RUN_DIR/summary.json. Defaults: on a GPU, the GPT-2-small shape (~100M parameters with a
16k vocabulary), bf16, seq 1024; on CPU a tiny model in fp32. Throughput excludes the first
step (warm-up). MFU is against the peak printed with it (data-sheet bf16 on GPUs, a nominal
fp32 figure per core on CPU; see mdfs/train/flops.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
from pathlib import Path

from mdfs.shared import shared_folder

SHARED = shared_folder()


def build_corpus(root: Path, people_daily_lines: int) -> Path:
    texts = []
    for file in sorted((SHARED / "data/text/cmrc2018_wikipedia").glob("*.json")):
        for article in json.loads(file.read_text("utf-8"))["data"]:
            texts += [p["context"] for p in article["paragraphs"]]
    daily = SHARED / "data/text/peoples_daily_199801_pos_tagged.txt"
    with open(daily, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle):
            if line_no >= people_daily_lines:
                break
            words = line.split()[1:]  # the first token is the sentence id
            if words:
                texts.append("".join(w.rsplit("/", 1)[0] for w in words))
    (root / "corpus").mkdir(parents=True, exist_ok=True)
    with gzip.open(root / "corpus/part-00000.jsonl.gz", "wt", encoding="utf-8") as out:
        for i, text in enumerate(texts):
            out.write(json.dumps({"id": str(i), "text": text}, ensure_ascii=False) + "\n")
    return root


def main() -> None:
    import torch

    from mdfs.cli import main as mdfs

    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if cuda else "cpu", choices=["cpu", "cuda"])
    parser.add_argument("--layouts", default="1x1x1", help="comma list of TPxPPxDP")
    parser.add_argument("--model-size", default=None)
    parser.add_argument("--seq-len", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--vocab-size", type=int, default=16000)
    parser.add_argument("--recompute", action="store_true")
    parser.add_argument("--work", default=None, help="keep runs here (default: a temp dir)")
    args = parser.parse_args()
    gpu = args.device == "cuda"
    size = args.model_size or ("gpt2" if gpu else "tiny")
    seq_len = args.seq_len or (1024 if gpu else 64)
    batch = args.batch_size or (16 if gpu else 8)
    steps = args.steps or (30 if gpu else 10)

    work = Path(args.work or tempfile.mkdtemp(prefix="mdfs-bench-"))
    corpus = build_corpus(work / "corpus", people_daily_lines=40_000 if gpu else 5_000)
    tokenizer = work / "tokenizer"
    mdfs(["train-tokenizer", "--corpus", str(corpus), "--output", str(tokenizer),
          "--vocab-size", str(args.vocab_size)])  # fmt: skip
    rows = []
    for layout in args.layouts.split(","):
        tp, pp, dp = (int(x) for x in layout.split("x"))
        run = work / f"run-{layout}"
        command = [
            "train", "--corpus", str(corpus), "--output", str(run), "--tokenizer", str(tokenizer),
            "--data", str(work / "data"), "--model-size", size, "--seq-len", str(seq_len),
            "--batch-size", str(batch), "--steps", str(steps), "--device", args.device,
            "--tp", str(tp), "--pp", str(pp), "--dp", str(dp),
        ]  # fmt: skip
        if args.recompute:
            command.append("--recompute")
        if mdfs(command) != 0:
            raise SystemExit(f"training failed for layout {layout}")
        rows.append((layout, json.loads((run / "summary.json").read_text())))

    print(f"\nmodel {size}, seq {seq_len}, batch {batch} sequences, {steps} steps, {args.device}")
    print(f"{'layout':<8} {'params':>8} {'dtype':>5} {'tokens/s':>10} {'MFU':>8} {'HFU':>8}  peak")
    for layout, s in rows:
        print(
            f"{layout:<8} {s['n_params'] / 1e6:>7.2f}M {s['dtype']:>5} {s['tokens_per_s']:>10.0f}"
            f" {s['mfu']:>8.2%} {s['hfu']:>8.2%}  {s['peak_source']}"
        )


if __name__ == "__main__":
    main()
