"""3-D parallelism over one DeviceMesh, applied as separate composable steps (as torchtitan).

The mesh has dimensions ("pp", "dp", "tp"); a rank's coordinates say which pipeline stage it
runs, which slice of the batch it sees and which shard of each matmul it holds. Order of
application: split into a pipeline stage, then tensor parallel inside the stage, then FSDP2
over the data-parallel sub-mesh (it shards the DTensors TP made on their remaining dimension).

Why these pieces and not others (measured on torch 2.13, CPU/gloo, against a single process):
- DDP does not compose with DTensor parameters nor with more than one pipeline micro-batch,
  and the old composable `replicate` runs with TP/PP but gives wrong losses; FSDP2 is exact.
- Sequence parallelism is left out: it needs explicit Replicate<->Shard conversions at each
  stage's boundary blocks or the numbers are silently wrong, and a proxy model does not need it.
- Embeddings and the output head stay replicated across TP ranks: the vocabulary then need
  not divide by tp, and the issue asks for TP on attention and MLP.
"""

from __future__ import annotations

import logging

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh
from torch.distributed.tensor import DTensor

from mdfs.errors import UserError
from mdfs.train.model import GPT, GPTConfig

MESH_DIMS = ("pp", "dp", "tp")
SCHEDULES = ("1f1b", "gpipe")


def check_layout(config: GPTConfig, tp: int, pp: int, dp: int, batch: int, micro: int) -> None:
    """Raise UserError for a layout that cannot run this model (before any process starts)."""
    for name, value in (("tp", tp), ("pp", pp), ("dp", dp), ("micro-batches", micro)):
        if value < 1:
            raise UserError(f"--{name} must be at least 1, got {value}")
    if config.n_head % tp:
        raise UserError(f"--tp {tp} must divide the number of heads ({config.n_head})")
    if config.n_layer % pp:
        raise UserError(f"--pp {pp} must divide the number of layers ({config.n_layer})")
    if batch % (dp * micro):
        raise UserError(
            f"--batch-size {batch} must be divisible by dp x micro-batches ({dp} x {micro})"
        )
    if pp > 1 and micro < pp:
        raise UserError(f"--micro-batches {micro} must be at least --pp {pp} to fill the pipeline")


def build_mesh(device_type: str, pp: int, dp: int, tp: int) -> DeviceMesh:
    # tp innermost: its collectives run every layer, so its ranks should be nearest (one node).
    return init_device_mesh(device_type, (pp, dp, tp), mesh_dim_names=MESH_DIMS)


def stage_layers(n_layer: int, pp: int, stage: int) -> range:
    per_stage = n_layer // pp
    return range(stage * per_stage, (stage + 1) * per_stage)


def split_for_stage(model: GPT, pp: int, stage: int) -> GPT:
    """Keep only what pipeline stage `stage` of `pp` runs (in place; returns the model)."""
    keep = {str(i) for i in stage_layers(model.config.n_layer, pp, stage)}
    for name in list(model.blocks.keys()):
        if name not in keep:
            del model.blocks[name]
    if stage > 0:
        model.wte = model.wpe = None
    if stage < pp - 1:
        model.ln_f = model.lm_head = None
    return model


def apply_tensor_parallel(model: GPT, tp_mesh: DeviceMesh) -> None:
    """Megatron's split: column-wise into each sub-layer, row-wise out of it.

    q/k/v and the MLP's first linear are split by output features (each rank holds whole
    heads); the two output projections by input features, ending in one all-reduce per
    sub-layer. Their outputs come back as plain replicated tensors, so LayerNorm and the
    residual stream run unchanged and identically on every TP rank.
    """
    from torch.distributed.tensor.parallel import (
        ColwiseParallel,
        RowwiseParallel,
        parallelize_module,
    )

    plan = {
        "attn.q_proj": ColwiseParallel(),
        "attn.k_proj": ColwiseParallel(),
        "attn.v_proj": ColwiseParallel(),
        "attn.c_proj": RowwiseParallel(),
        "mlp.c_fc": ColwiseParallel(),
        "mlp.c_proj": RowwiseParallel(),
    }
    for block in model.blocks.values():
        parallelize_module(block, tp_mesh, plan)


def apply_fsdp(
    model: GPT, dp_mesh: DeviceMesh, pipelined: bool, param_dtype: torch.dtype | None
) -> None:
    """FSDP2: shard each block, then the rest (embeddings, head) as the root group."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    mp_policy = MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=torch.float32)
    # With a pipeline each block runs once per micro-batch; re-gathering it every time would
    # multiply the all-gathers, so keep blocks unsharded between forward and backward there.
    reshard = not pipelined
    for block in model.blocks.values():
        fully_shard(block, mesh=dp_mesh, reshard_after_forward=reshard, mp_policy=mp_policy)
    fully_shard(model, mesh=dp_mesh, reshard_after_forward=reshard, mp_policy=mp_policy)


def build_pipeline(
    model: GPT,
    pp_mesh: DeviceMesh,
    device: torch.device,
    micro_batches: int,
    schedule: str,
    loss_fn,
):
    from torch.distributed.pipelining import PipelineStage, Schedule1F1B, ScheduleGPipe

    stage = PipelineStage(
        model,
        stage_index=pp_mesh.get_local_rank(),
        num_stages=pp_mesh.size(),
        device=device,
        group=pp_mesh.get_group(),
    )
    # scale_grads: the schedule sums micro-batch gradients and divides by their number, so
    # the step sees the gradient of the mean loss, as a single process does.
    kind = {"1f1b": Schedule1F1B, "gpipe": ScheduleGPipe}[schedule]
    return kind(stage, n_microbatches=micro_batches, loss_fn=loss_fn, scale_grads=True)


def clip_grad_norm(model: nn.Module, max_norm: float, pp_mesh: DeviceMesh | None) -> float:
    """Global gradient 2-norm over all ranks, clipped to `max_norm` (0 = only measure).

    `torch.nn.utils.clip_grad_norm_` sees only this rank's stage and cannot mix DTensors on
    different meshes (FSDP's dp mesh, TP's (dp, tp) mesh), so the sum of squares is built by
    hand: a DTensor's local sum of squares is summed over the mesh dimensions it is sharded
    on (not over those where it is replicated), plain tensors are whole; then stages summed.
    """
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    total = torch.zeros((), dtype=torch.float32, device=_device_of(grads))
    by_layout: dict[tuple, list[torch.Tensor]] = {}
    for grad in grads:
        if isinstance(grad, DTensor):
            by_layout.setdefault((grad.device_mesh, grad.placements), []).append(grad)
        else:
            total += grad.detach().float().pow(2).sum()
    for (mesh, placements), group in by_layout.items():
        squares = sum(g.to_local().detach().float().pow(2).sum() for g in group)
        squares = torch.as_tensor(squares, dtype=torch.float32, device=total.device)
        for dim, placement in enumerate(placements):
            if placement.is_partial():
                raise RuntimeError(f"unreduced gradient ({placements}) at clipping")
            # Not `isinstance(placement, Shard)`: FSDP shards a TP-sharded dim 0 as
            # _StridedShard, which is no Shard subclass, and missing it undercounts the norm.
            if not placement.is_replicate():
                dist.all_reduce(squares, group=mesh.get_group(dim))
        total += squares
    if pp_mesh is not None and pp_mesh.size() > 1:
        dist.all_reduce(total, group=pp_mesh.get_group())
    norm = float(total.sqrt())
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for grad in grads:
            grad.mul_(scale)
    return norm


def full_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """This stage's parameters as whole CPU tensors (collective over the stage's dp x tp ranks)."""
    # Gathering an FSDP x TP parameter takes two all-gathers; torch warns about it once per
    # parameter. Once, at the end of a run, it costs nothing worth the noise.
    logging.getLogger("torch.distributed.tensor._redistribute").setLevel(logging.ERROR)
    state = {}
    for name, value in model.state_dict().items():
        if isinstance(value, DTensor):
            value = value.full_tensor()
        state[name] = value.detach().to("cpu", torch.float32).clone()
    return state


def _device_of(tensors: list[torch.Tensor]) -> torch.device:
    if not tensors:
        return torch.device("cpu")
    first = tensors[0]
    return first.to_local().device if isinstance(first, DTensor) else first.device
