import pytest

from mdfs.train import flops
from mdfs.train.model import GPT, GPTConfig, count_parameters


def test_parameter_count_matches_the_model():
    config = GPTConfig(vocab_size=1000, seq_len=32, n_layer=3, n_head=4, d_model=48)
    counts = count_parameters(config)
    assert counts["total"] == sum(p.numel() for p in GPT(config).parameters())


def test_flops_per_token_by_hand():
    config = GPTConfig(vocab_size=1000, seq_len=32, n_layer=4, n_head=4, d_model=32)
    d, v, layers, t = 32, 1000, 4, 32
    # Per block: q,k,v,proj (4 d^2 + 4 d), fc (4 d^2 + 4 d), proj (4 d^2 + d), two LayerNorms.
    block = 4 * d * d + 4 * d + 4 * d * d + 4 * d + 4 * d * d + d + 4 * d
    n = layers * block + d * v + 2 * d  # blocks + untied head + final LayerNorm
    assert flops.matmul_parameters(config) == n == 82_880
    assert flops.flops_per_token(config) == 6 * n + 12 * layers * d * t == 546_432
    assert flops.flops_per_token(config, recompute=True) == 8 * n + 16 * layers * d * t


def test_yuan_pf_days_through_the_code():
    # Yuan 1.0 245B: 76 layers, d = 16384, T = 2048, 53,005-token vocabulary, 180B tokens.
    yuan = GPTConfig(vocab_size=53005, seq_len=2048, n_layer=76, n_head=128, d_model=16384)
    n = flops.matmul_parameters(yuan)
    assert n == pytest.approx(245.73e9, rel=1e-3)  # the paper's parameter count
    tokens = 180e9
    # The paper's 4,095 PF-days is 8N per token: recomputation, without attention's matmuls.
    assert flops.pf_days(8 * n * tokens) == pytest.approx(4095, abs=1)
    # The code's full count adds attention (16·L·d·T per token): 4,180 PF-days.
    full = flops.pf_days(flops.flops_per_token(yuan, recompute=True) * tokens)
    assert full == pytest.approx(4180, abs=1)
    assert flops.PF_DAY == 8.64e19
