"""Compute accounting: FLOPs per token, MFU and PF-days.

Per token trained, a decoder with N matmul parameters spends 2N FLOPs in the forward pass and
4N in the backward (Kaplan et al. 2020), plus attention's own matmuls (QK^T and AV, each
2·T·d per token and layer forward; PaLM appendix B, nanoGPT's estimate_mfu):

    training FLOPs/token = 6N + 12·L·d·T
    with full activation recomputation (every block's forward runs again in backward):
                           8N + 16·L·d·T

N counts the parameters that enter matmuls: the blocks and the output head, not the token and
position embedding tables (lookups). Yuan 1.0 reports 4,095 PF-days for 245.73B parameters
and 180B tokens: 8·N·tokens / (1e15·86400) = 4,095, the recomputation variant without the
attention term. Yuan's shape (76 layers, d = 16384, T = 2048, 53,005 tokens) has N = 245.70B
here; with the attention term, 8N + 16·L·d·T gives 4,180 PF-days (tests/train/test_flops.py).

MFU (model FLOPs utilisation) uses the 6N variant whatever the run does, since recomputed work
is not useful work (PaLM's definition); HFU counts what the hardware executed.
PF-days in the summary count the executed FLOPs: 8N when recomputing, else 6N.
"""

from __future__ import annotations

from mdfs.train.model import GPTConfig, count_parameters

PF_DAY = 1e15 * 86400  # FLOPs in one petaFLOP/s-day

# Dense bf16 tensor-core peaks from the vendors' data sheets (FLOP/s, without sparsity).
GPU_PEAK_BF16 = {
    "H200": 989.5e12,
    "H100": 989.5e12,
    "A100": 312e12,
    "A800": 312e12,
    "L40S": 362e12,
    "A10": 125e12,
    "4090": 165e12,
}
# A stated nominal peak for one CPU core: 2 FMA units x 8 fp32 lanes (AVX2) x 2 FLOPs x 3 GHz.
CPU_CORE_PEAK_FP32 = 96e9


def matmul_parameters(config: GPTConfig) -> int:
    counts = count_parameters(config)
    return counts["blocks"] + counts["head"]


def attention_flops_per_token(config: GPTConfig) -> int:
    """Training FLOPs of QK^T and AV per token (forward 4·L·d·T, times 3 with backward)."""
    return 12 * config.n_layer * config.d_model * config.seq_len


def flops_per_token(config: GPTConfig, recompute: bool = False) -> int:
    """Training FLOPs per token: 6N + 12LdT, or 8N + 16LdT with activation recomputation."""
    base = 6 * matmul_parameters(config) + attention_flops_per_token(config)
    return base * 4 // 3 if recompute else base


def pf_days(flops: float) -> float:
    return flops / PF_DAY


def peak_flops(device_type: str, world_size: int) -> tuple[float, str]:
    """The peak the run is measured against (FLOP/s for all its devices) and where it comes from.

    On GPUs: the data-sheet bf16 peak of the device times the number of processes. On CPU all
    processes share the machine's cores, so the peak is the cores', whatever the process count.
    """
    if device_type == "cuda":
        import torch

        name = torch.cuda.get_device_name()
        for key, value in GPU_PEAK_BF16.items():
            if key in name:
                return (
                    value * world_size,
                    f"{name} bf16 dense {value / 1e12:.1f} TFLOP/s x {world_size}",
                )
        return (
            312e12 * world_size,
            f"{name} (unknown; assumed A100 bf16 312 TFLOP/s) x {world_size}",
        )
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return (
        CPU_CORE_PEAK_FP32 * cores,
        f"CPU nominal fp32 {CPU_CORE_PEAK_FP32 / 1e9:.0f} GFLOP/s/core x {cores} cores",
    )
