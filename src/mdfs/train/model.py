"""A GPT decoder in the manner of nanoGPT: pre-LN blocks, causal self-attention, GPT-2 shapes.

Two departures from nanoGPT, both for parallelism:
- query, key and value are separate linears (not one fused c_attn), so that column-wise tensor
  parallelism gives each rank whole heads of each; `export.py` fuses them for GPT-2;
- the output head is not tied to the token embedding, because with pipeline parallelism the
  two live on different stages. Blocks sit in a ModuleDict keyed by layer number, so a
  pipeline stage can delete the blocks it does not own and keep parameter names stable.
A stage of a split model has `wte` (first stage) or `ln_f`/`lm_head` (last stage) set to None;
`forward` then takes or returns hidden states instead of token ids or logits.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from mdfs.errors import UserError


@dataclass
class GPTConfig:
    vocab_size: int
    seq_len: int = 256
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    layer_norm_eps: float = 1e-5
    recompute: bool = False  # activation recomputation: re-run each block's forward in backward

    def to_dict(self) -> dict:
        return asdict(self)


# Named sizes (layers, heads, width). "gpt2" is GPT-2 small's shape, ~100M parameters with a
# 32k vocabulary; the others are for tests and quick CPU proxies.
MODEL_SIZES: dict[str, tuple[int, int, int]] = {
    "tiny": (4, 4, 32),
    "mini": (4, 4, 128),
    "small": (6, 6, 384),
    "medium": (8, 8, 512),
    "gpt2": (12, 12, 768),
}


def config_for(size: str, vocab_size: int, seq_len: int, recompute: bool = False) -> GPTConfig:
    if size not in MODEL_SIZES:
        raise UserError(f"unknown model size {size!r}; choose one of {', '.join(MODEL_SIZES)}")
    n_layer, n_head, d_model = MODEL_SIZES[size]
    return GPTConfig(vocab_size, seq_len, n_layer, n_head, d_model, recompute=recompute)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        d = config.d_model
        self.head_dim = d // config.n_head
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.c_proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        # -1 heads: under tensor parallelism this rank holds only n_head / tp of them.
        q, k, v = (
            proj(x).view(batch, seq, -1, self.head_dim).transpose(1, 2)
            for proj in (self.q_proj, self.k_proj, self.v_proj)
        )
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(batch, seq, -1))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.c_proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The tanh approximation is GPT-2's activation ("gelu_pytorch_tanh" in transformers).
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte: nn.Embedding | None = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe: nn.Embedding | None = nn.Embedding(config.seq_len, config.d_model)
        self.blocks = nn.ModuleDict({str(i): Block(config) for i in range(config.n_layer)})
        self.ln_f: nn.LayerNorm | None = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.lm_head: nn.Linear | None = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self._init_weights()

    def _init_weights(self) -> None:
        # GPT-2's initialisation; residual projections scaled by 1/sqrt(2 * n_layer).
        for name, param in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(param)
            elif ".ln_" in name or name.startswith("ln_f"):
                nn.init.ones_(param)
            elif name.endswith("c_proj.weight"):
                nn.init.normal_(param, std=0.02 / math.sqrt(2 * self.config.n_layer))
            else:
                nn.init.normal_(param, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids (batch, seq) -> logits (batch, seq, vocab), or hidden states for a stage."""
        if self.wte is not None:
            positions = torch.arange(x.shape[1], device=x.device)
            x = self.wte(x) + self.wpe(positions)
        for block in self.blocks.values():
            if self.config.recompute and self.training:
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        if self.lm_head is not None:
            x = self.lm_head(self.ln_f(x))
        return x


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss over all positions (float32 even when logits are bf16)."""
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(0, 1))


def count_parameters(config: GPTConfig) -> dict[str, int]:
    """Parameter counts by kind, from the shapes alone (no model is built)."""
    d, v, n_layer = config.d_model, config.vocab_size, config.n_layer
    per_block = (4 * (d * d + d)) + (d * 4 * d + 4 * d) + (4 * d * d + d) + 2 * (2 * d)
    return {
        "embedding": v * d + config.seq_len * d,  # lookups, not matmuls
        "blocks": n_layer * per_block,
        "head": 2 * d + d * v,  # ln_f and the untied lm_head
        "total": v * d + config.seq_len * d + n_layer * per_block + 2 * d + d * v,
    }
