"""One training process. `mdfs train` starts tp x pp x dp of them with torchrun:

    torchrun --standalone --nproc-per-node 8 -m mdfs.train.worker RUN_DIR/train_config.json

Every process builds the whole model from the same seed (so any layout starts from the same
weights as one process), keeps its pipeline stage, applies TP and FSDP2, and reads its
data-parallel slice of the same global batch. Rank 0 writes metrics.jsonl, summary.json and
the checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from mdfs.train import checkpoint, flops, parallel
from mdfs.train.config import TrainConfig
from mdfs.train.heldout import bits_per_char
from mdfs.train.heldout import windows as heldout_windows
from mdfs.train.model import GPT, GPTConfig, count_parameters, cross_entropy
from mdfs.train.packing import PackedDataset


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio x lr (nanoGPT's schedule)."""
    warmup = config.warmup_steps if config.warmup_steps >= 0 else config.steps // 10
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, config.steps - warmup)
    floor = config.lr * config.min_lr_ratio
    return floor + 0.5 * (config.lr - floor) * (1 + math.cos(math.pi * min(1.0, progress)))


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices only (not biases and LayerNorm gains), as nanoGPT.

    With TP alone, TP's DTensors and the replicated plain tensors (LayerNorms, embeddings)
    coexist, and the foreach kernels refuse to mix them in one group, so they get their own.
    """
    from torch.distributed.tensor import DTensor

    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for param in model.parameters():
        if param.requires_grad:
            key = (param.dim() >= 2, isinstance(param, DTensor))
            groups.setdefault(key, []).append(param)
    param_groups = [
        {"params": params, "weight_decay": config.weight_decay if decay else 0.0}
        for (decay, _), params in groups.items()
    ]
    return torch.optim.AdamW(param_groups, lr=config.lr, betas=config.betas, foreach=True)


def heldout_losses(
    model: torch.nn.Module, schedule, config: TrainConfig, device: torch.device, mesh, autocast
) -> dict[str, dict[str, float]]:
    """Mean loss per token and bits per character on each held-out set (same on every rank)."""
    pp_rank, dp_rank = mesh["pp"].get_local_rank(), mesh["dp"].get_local_rank()
    is_last_stage = pp_rank == config.pp - 1
    local = config.batch_size // config.dp
    results = {}
    for heldout in config.heldout:
        rows = heldout_windows(heldout["path"], config.model["seq_len"])
        total = 0.0
        batches = len(rows) // config.batch_size
        for start in range(0, batches * config.batch_size, config.batch_size):
            mine = rows[start + dp_rank * local : start + (dp_rank + 1) * local]
            batch = torch.from_numpy(mine).to(device)
            inputs, targets = batch[:, :-1], batch[:, 1:]
            with torch.no_grad(), autocast:
                if schedule is None:
                    loss = cross_entropy(model(inputs), targets)
                else:
                    losses: list[torch.Tensor] = []
                    if pp_rank == 0:
                        schedule.eval(inputs)
                    elif is_last_stage:
                        schedule.eval(target=targets, losses=losses)
                    else:
                        schedule.eval()
                    loss = (
                        torch.stack(losses).mean()
                        if is_last_stage
                        else torch.zeros((), device=device)
                    )
            loss_sum = loss.detach().float().reshape(1).clone()
            dist.all_reduce(loss_sum)
            total += float(loss_sum) / (config.dp * config.tp)
        loss_value = total / batches
        results[heldout["name"]] = {
            "loss": loss_value,
            "bits_per_char": bits_per_char(loss_value, heldout["tokens"], heldout["chars"]),
        }
    return results


def eval_steps(config: TrainConfig) -> set[int]:
    """The steps after which the held-out sets are scored: every interval, and the last."""
    if not config.heldout:
        return set()
    interval = config.eval_interval or max(1, config.steps // 10)
    return {*range(interval, config.steps + 1, interval), config.steps}


def checkpoint_steps(config: TrainConfig) -> set[int]:
    """Steps after which the run is checkpointed: every interval (0: a tenth of the run)."""
    interval = config.checkpoint_interval or config.steps // 10
    return set(range(interval, config.steps, interval)) if interval else set()


def open_log(path: Path, first_step: int, rank: int):
    """Rank 0's JSON-lines log, keeping the records of the steps before `first_step`
    (a killed run may have logged steps past its last checkpoint)."""
    if rank != 0:
        return None
    kept = []
    if first_step and path.is_file():
        for line in path.read_text().splitlines():
            try:
                if json.loads(line)["step"] < first_step:
                    kept.append(line + "\n")
            except json.JSONDecodeError:
                break  # the line the kill tore
    log = open(path, "w")  # noqa: SIM115
    log.writelines(kept)
    return log


def train(config: TrainConfig) -> dict | None:
    use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    device_type = "cuda" if use_cuda else "cpu"
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    device = (
        torch.device(device_type, torch.cuda.current_device()) if use_cuda else torch.device("cpu")
    )
    dist.init_process_group("nccl" if use_cuda else "gloo")
    if dist.get_world_size() != config.world_size:
        raise SystemExit(f"world size {dist.get_world_size()} != tp x pp x dp {config.world_size}")
    rank = dist.get_rank()
    bf16 = config.dtype == "bf16" or (config.dtype == "auto" and use_cuda)

    mesh = parallel.build_mesh(device_type, config.pp, config.dp, config.tp)
    pp_mesh, dp_mesh, tp_mesh = mesh["pp"], mesh["dp"], mesh["tp"]
    pp_rank, dp_rank = pp_mesh.get_local_rank(), dp_mesh.get_local_rank()
    is_last_stage = pp_rank == config.pp - 1

    model_config = GPTConfig(**config.model)
    torch.manual_seed(config.seed)
    model = GPT(model_config)  # whole model on CPU first: identical weights in every layout
    if config.pp > 1:
        parallel.split_for_stage(model, config.pp, pp_rank)
    model.to(device)
    if config.tp > 1:
        parallel.apply_tensor_parallel(model, tp_mesh)
    if config.dp > 1:
        param_dtype = torch.bfloat16 if bf16 else None
        parallel.apply_fsdp(model, dp_mesh, pipelined=config.pp > 1, param_dtype=param_dtype)
    model.train()
    optimizer = build_optimizer(model, config)
    schedule = None
    if config.pp > 1:
        schedule = parallel.build_pipeline(
            model, pp_mesh, device, config.n_micro_batches, config.schedule, cross_entropy
        )
    # bf16 autocast for compute (fp32 master weights); FSDP's policy already casts its params.
    autocast = (
        torch.autocast(device_type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    )

    dataset = PackedDataset(config.data_dir, model_config.seq_len, seed=config.seed)
    local_batch = config.batch_size // config.dp
    tokens_per_step = config.batch_size * model_config.seq_len
    flops_per_token = flops.flops_per_token(model_config, recompute=model_config.recompute)
    model_flops_per_token = flops.flops_per_token(model_config, recompute=False)
    peak, peak_source = flops.peak_flops(device_type, config.world_size)
    if config.peak_tflops > 0:
        peak, peak_source = config.peak_tflops * 1e12, f"stated {config.peak_tflops} TFLOP/s"

    run_dir = Path(config.run_dir)
    first_step = checkpoint.load(run_dir, model, optimizer)
    if rank == 0 and first_step:
        print(f"resuming after step {first_step - 1} from {checkpoint.resume_dir(run_dir)}")
    metrics = open_log(run_dir / "metrics.jsonl", first_step, rank)
    heldout_log = open_log(run_dir / "heldout.jsonl", first_step, rank)
    save_after = checkpoint_steps(config)
    evaluate_after = eval_steps(config)
    heldout: dict[str, dict[str, float]] = {}
    step_times: list[float] = []
    loss_value = float("nan")
    started = time.perf_counter()
    for step in range(first_step, config.steps):
        _sync(device)
        t0 = time.perf_counter()
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        rows = dataset.batch(step, config.batch_size)[
            dp_rank * local_batch : (dp_rank + 1) * local_batch
        ]
        batch = torch.from_numpy(rows).to(device)
        inputs, targets = batch[:, :-1], batch[:, 1:]
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            if schedule is None:
                loss = cross_entropy(model(inputs), targets)
                loss.backward()
            else:
                losses: list[torch.Tensor] = []
                if pp_rank == 0:
                    schedule.step(inputs)
                elif is_last_stage:
                    schedule.step(target=targets, losses=losses)
                else:
                    schedule.step()
                loss = (
                    torch.stack(losses).mean() if is_last_stage else torch.zeros((), device=device)
                )
        grad_norm = parallel.clip_grad_norm(model, config.grad_clip, pp_mesh)
        optimizer.step()
        # The batch mean: only the last stage holds a loss, identical on its TP ranks.
        loss_sum = loss.detach().float().reshape(1).clone()
        dist.all_reduce(loss_sum)
        loss_value = float(loss_sum) / (config.dp * config.tp)
        _sync(device)
        elapsed = time.perf_counter() - t0
        step_times.append(elapsed)
        tokens = (step + 1) * tokens_per_step
        if metrics is not None:
            record = {
                "step": step,
                "loss": loss_value,
                "tokens": tokens,
                "tokens_per_s": tokens_per_step / elapsed,
                "step_time_s": elapsed,
                "lr": lr,
                "grad_norm": grad_norm,
                "mfu": model_flops_per_token * tokens_per_step / elapsed / peak,
                "pf_days": flops.pf_days(flops_per_token * tokens),
            }
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
            spent = time.perf_counter() - started
            eta = spent / (step + 1 - first_step) * (config.steps - step - 1)
            print(
                f"step {step} loss {loss_value:.4f} lr {lr:.2e} tok/s"
                f" {record['tokens_per_s']:.0f} mfu {record['mfu']:.2%}"
                f" elapsed {spent:.0f}s eta {eta:.0f}s",
                flush=True,
            )
        if step + 1 in evaluate_after:
            heldout = heldout_losses(model, schedule, config, device, mesh, autocast)
            if heldout_log is not None:
                heldout_log.write(json.dumps({"step": step, "tokens": tokens, **heldout}))
                heldout_log.write("\n")
                heldout_log.flush()
                scores = " ".join(
                    f"{name} {h['loss']:.4f} ({h['bits_per_char']:.3f} bpc)"
                    for name, h in heldout.items()
                )
                print(f"held-out after step {step}: {scores}", flush=True)
        if step + 1 in save_after:
            checkpoint.save(run_dir, step + 1, model, optimizer)
    wall = time.perf_counter() - started
    if metrics is not None and heldout_log is not None:
        metrics.close()
        heldout_log.close()

    _save_checkpoint(model, config, model_config, pp_rank, rank, mesh)

    summary = None
    if rank == 0:
        # Throughput without the first step, which pays for warm-up (allocations, shape
        # inference of the pipeline, first collectives).
        timed = step_times[1:] or step_times
        tokens_per_s = tokens_per_step * len(timed) / sum(timed)
        total_tokens = config.steps * tokens_per_step
        counts = count_parameters(model_config)
        summary = {
            "steps": config.steps,
            "tokens": total_tokens,
            "final_loss": loss_value,
            "heldout": {
                h["name"]: {
                    **heldout[h["name"]],
                    **{k: h[k] for k in ("tokens", "chars", "corpus")},
                }
                for h in config.heldout
            },
            "flops_per_token": flops_per_token,
            "flops_formula": "8N + 16LdT (recompute)" if model_config.recompute else "6N + 12LdT",
            "flops": flops_per_token * total_tokens,
            "pf_days": flops.pf_days(flops_per_token * total_tokens),
            "model_flops_per_token": model_flops_per_token,
            "n_params": counts["total"],
            "n_matmul_params": flops.matmul_parameters(model_config),
            "tokens_per_s": tokens_per_s,
            "mfu": model_flops_per_token * tokens_per_s / peak,
            "hfu": flops_per_token * tokens_per_s / peak,
            "peak_flops": peak,
            "peak_source": peak_source,
            "wall_time_s": wall,
            "device": device_type,
            "dtype": "bf16" if bf16 else "fp32",
            "layout": {
                "tp": config.tp,
                "pp": config.pp,
                "dp": config.dp,
                "world_size": config.world_size,
                "mesh": list(parallel.MESH_DIMS),
                "schedule": config.schedule if config.pp > 1 else None,
                "micro_batches": config.n_micro_batches,
                "data_parallel": "fsdp2" if config.dp > 1 else None,
            },
            "model": model_config.to_dict(),
        }
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    dist.barrier()
    dist.destroy_process_group()
    return summary


def _save_checkpoint(model, config, model_config, pp_rank, rank, mesh) -> None:
    """Gather each stage's weights, merge them on rank 0, write native and HF checkpoints."""
    from mdfs.train.export import export_hf

    stage_dir = Path(config.run_dir) / "stages"
    stage_dir.mkdir(exist_ok=True)
    state = parallel.full_state_dict(model)  # collective within the stage
    if mesh["dp"].get_local_rank() == 0 and mesh["tp"].get_local_rank() == 0:
        torch.save(state, stage_dir / f"stage-{pp_rank}.pt")
    dist.barrier()
    if rank == 0:
        merged: dict[str, torch.Tensor] = {}
        for stage in range(config.pp):
            merged.update(torch.load(stage_dir / f"stage-{stage}.pt", weights_only=True))
        full = GPT(model_config)
        full.load_state_dict(merged)
        checkpoint = Path(config.run_dir) / "checkpoint"
        checkpoint.mkdir(exist_ok=True)
        torch.save(
            {"config": model_config.to_dict(), "model": full.state_dict()},
            Path(config.run_dir) / "model.pt",
        )
        export_hf(full, config.tokenizer_dir, checkpoint)
        for stage in range(config.pp):
            (stage_dir / f"stage-{stage}.pt").unlink()
        stage_dir.rmdir()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: torchrun ... -m mdfs.train.worker RUN_DIR/train_config.json", file=sys.stderr)
        return 2
    train(TrainConfig.load(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
