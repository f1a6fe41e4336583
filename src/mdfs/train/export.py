"""Save a trained GPT as a Hugging Face GPT2LMHeadModel, with its tokenizer alongside.

The evaluation harness then needs nothing of MDFS: `AutoModelForCausalLM.from_pretrained(p)`
and `AutoTokenizer.from_pretrained(p)`. GPT-2 stores its linears as Conv1D, whose weight is
(in, out), the transpose of nn.Linear's; and it fuses q, k, v into one c_attn.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from mdfs.train.model import GPT

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def to_gpt2_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    src = {k: v.detach().cpu().float() for k, v in model.state_dict().items()}
    out = {
        "transformer.wte.weight": src["wte.weight"],
        "transformer.wpe.weight": src["wpe.weight"],
        "transformer.ln_f.weight": src["ln_f.weight"],
        "transformer.ln_f.bias": src["ln_f.bias"],
        "lm_head.weight": src["lm_head.weight"],
    }
    for i in range(model.config.n_layer):
        a, h = f"blocks.{i}.", f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            out[f"{h}{ln}.weight"] = src[f"{a}{ln}.weight"]
            out[f"{h}{ln}.bias"] = src[f"{a}{ln}.bias"]
        qkv = [f"{a}attn.{p}_proj" for p in "qkv"]
        out[f"{h}attn.c_attn.weight"] = torch.cat([src[f"{p}.weight"] for p in qkv]).T
        out[f"{h}attn.c_attn.bias"] = torch.cat([src[f"{p}.bias"] for p in qkv])
        for hf_name, name in (
            ("attn.c_proj", "attn.c_proj"),
            ("mlp.c_fc", "mlp.c_fc"),
            ("mlp.c_proj", "mlp.c_proj"),
        ):
            out[f"{h}{hf_name}.weight"] = src[f"{a}{name}.weight"].T
            out[f"{h}{hf_name}.bias"] = src[f"{a}{name}.bias"]
    return {k: v.contiguous() for k, v in out.items()}


def export_hf(model: GPT, tokenizer_dir: str | Path, output_dir: str | Path) -> Path:
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    c = model.config
    hf_config = GPT2Config(
        vocab_size=c.vocab_size,
        n_positions=c.seq_len,
        n_embd=c.d_model,
        n_layer=c.n_layer,
        n_head=c.n_head,
        n_inner=4 * c.d_model,
        activation_function="gelu_pytorch_tanh",
        layer_norm_epsilon=c.layer_norm_eps,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        tie_word_embeddings=False,  # the head is trained separately (see model.py)
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    hf_model = GPT2LMHeadModel(hf_config)
    missing, unexpected = hf_model.load_state_dict(to_gpt2_state_dict(model), strict=False)
    # Only GPT-2's non-persistent attention buffers may be absent from our weights.
    if [k for k in missing if not k.endswith((".attn.bias", ".attn.masked_bias"))] or unexpected:
        raise RuntimeError(f"GPT-2 export mismatch: missing {missing}, unexpected {unexpected}")
    output_dir = Path(output_dir)
    hf_model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    for name in _TOKENIZER_FILES:  # keep the exact files trained, byte for byte
        if (Path(tokenizer_dir) / name).exists():
            shutil.copyfile(Path(tokenizer_dir) / name, output_dir / name)
    return output_dir
