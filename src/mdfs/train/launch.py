"""`mdfs train`: check the request, prepare tokenizer and packed data, then start torchrun.

Preparation runs once, in this process, before any worker starts, so a user mistake is a
one-line error and not eight tracebacks. The workers read RUN_DIR/train_config.json.
"""

from __future__ import annotations

import itertools
import logging
import shlex
import subprocess
import sys
from pathlib import Path

from mdfs.errors import UserError
from mdfs.train.config import TrainConfig
from mdfs.train.corpus import corpus_files, iter_texts
from mdfs.train.heldout import parse_heldout, prepare_heldout

log = logging.getLogger(__name__)


def check_request(
    *, tp: int, pp: int, dp: int, steps: int, seq_len: int, batch_size: int, micro_batches: int,
    model_size: str, schedule: str,
) -> None:  # fmt: skip
    from mdfs.train.model import MODEL_SIZES

    if model_size not in MODEL_SIZES:
        raise UserError(
            f"unknown --model-size {model_size!r}; choose from {', '.join(MODEL_SIZES)}"
        )
    for name, value in (("steps", steps), ("seq-len", seq_len), ("batch-size", batch_size)):
        if value < 1:
            raise UserError(f"--{name} must be at least 1, got {value}")
    if schedule not in ("1f1b", "gpipe"):
        raise UserError(f"--schedule must be 1f1b or gpipe, got {schedule!r}")
    n_layer, n_head, _ = MODEL_SIZES[model_size]
    # The same rules parallel.check_layout applies, without importing torch here.
    for name, value in (("tp", tp), ("pp", pp), ("dp", dp)):
        if value < 1:
            raise UserError(f"--{name} must be at least 1, got {value}")
    micro = 1 if pp == 1 else (micro_batches or 2 * pp)
    if n_head % tp:
        raise UserError(f"--tp {tp} does not divide the {n_head} heads of model {model_size!r}")
    if n_layer % pp:
        raise UserError(f"--pp {pp} does not divide the {n_layer} layers of model {model_size!r}")
    if pp > 1 and micro < pp:
        raise UserError(f"--micro-batches {micro} must be at least --pp {pp}")
    if batch_size % (dp * micro):
        raise UserError(
            f"--batch-size {batch_size} is not divisible by dp x micro-batches ({dp} x {micro})"
        )


def prepare_tokenizer(
    corpora: list[str | Path], output_dir: Path, vocab_size: int, max_docs: int
) -> Path:
    """Train a tokenizer on up to `max_docs` documents, taken in turn from each corpus."""
    from mdfs.train.tokenizer import train_tokenizer

    if (output_dir / "tokenizer.json").exists():
        log.info("reusing tokenizer in %s", output_dir)
        return output_dir
    streams = [iter_texts(corpus_files(c)) for c in corpora]
    mixed = (t for group in itertools.zip_longest(*streams) for t in group if t is not None)
    log.info("training a %d-token tokenizer on up to %d documents", vocab_size, max_docs)
    return train_tokenizer(itertools.islice(mixed, max_docs), output_dir, vocab_size=vocab_size)


def prepare_run(args) -> TrainConfig:
    """Validate, then build tokenizer, packed data and the run's config file."""
    from mdfs.train.model import config_for
    from mdfs.train.packing import pack_corpus

    check_request(
        tp=args.tp, pp=args.pp, dp=args.dp, steps=args.steps, seq_len=args.seq_len,
        batch_size=args.batch_size, micro_batches=args.micro_batches,
        model_size=args.model_size, schedule=args.schedule,
    )  # fmt: skip
    corpus_files(args.corpus)  # raises UserError if there is nothing to read
    parse_heldout(args.heldout)
    if args.eval_interval < 0 or args.checkpoint_interval < 0 or args.heldout_tokens < 1:
        raise UserError(
            "--eval-interval and --checkpoint-interval must be >= 0, --heldout-tokens >= 1"
        )
    run_dir = Path(args.output)
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.tokenizer:
        tokenizer_dir = Path(args.tokenizer)
        if not (tokenizer_dir / "tokenizer.json").exists():
            raise UserError(f"--tokenizer {tokenizer_dir}: no tokenizer.json there")
    else:
        tokenizer_dir = prepare_tokenizer(
            [args.corpus], run_dir / "tokenizer", args.vocab_size, args.tokenizer_docs
        )
    data_dir = Path(args.data) if args.data else run_dir / "data"
    manifest = pack_corpus(args.corpus, tokenizer_dir, data_dir, shard_tokens=args.shard_tokens)
    total = sum(s["tokens"] for s in manifest["shards"])
    if total <= args.seq_len:
        raise UserError(f"{args.corpus}: {total} tokens, fewer than one --seq-len {args.seq_len}")
    wanted = args.steps * args.batch_size * args.seq_len
    if wanted > total:
        log.warning("the run reads %d tokens of a %d-token corpus: %.1f epochs", wanted, total,
                    wanted / total)  # fmt: skip
    model = config_for(args.model_size, manifest["vocab_size"], args.seq_len, args.recompute)
    sets = parse_heldout(args.heldout).items()
    shape = {"seq_len": args.seq_len, "batch_size": args.batch_size}
    heldout = [
        prepare_heldout(
            name, path, tokenizer_dir, run_dir / "heldout", **shape, max_tokens=args.heldout_tokens
        )
        for name, path in sets
    ]
    config = TrainConfig(
        run_dir=str(run_dir.resolve()),
        data_dir=str(data_dir.resolve()),
        tokenizer_dir=str(tokenizer_dir.resolve()),
        model=model.to_dict(),
        tp=args.tp,
        pp=args.pp,
        dp=args.dp,
        steps=args.steps,
        batch_size=args.batch_size,
        micro_batches=args.micro_batches,
        schedule=args.schedule,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        peak_tflops=args.peak_tflops,
        heldout=heldout,
        eval_interval=args.eval_interval,
        checkpoint_interval=args.checkpoint_interval,
    )
    saved = run_dir / "train_config.json"
    # The workers resume from RUN_DIR/resume (see checkpoint.py): only the same run may.
    resumable = (run_dir / "resume" / "latest").is_file() and saved.is_file()
    if resumable and TrainConfig.load(saved) != config:
        raise UserError(
            f"{run_dir} holds a checkpoint of a run with other settings; give another "
            f"--output, or delete {run_dir / 'resume'} to start afresh"
        )
    config.save(saved)
    return config


def torchrun_command(config: TrainConfig) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
        "--nproc-per-node", str(config.world_size),
        "-m", "mdfs.train.worker", str(Path(config.run_dir) / "train_config.json"),
    ]  # fmt: skip


def launch(config: TrainConfig) -> int:
    command = torchrun_command(config)
    log.info("starting %d processes: %s", config.world_size, shlex.join(command))
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        log.error("training failed (exit %d); see the output above", result.returncode)
    return result.returncode
