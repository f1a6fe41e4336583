import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from mdfs.train.export import export_hf
from mdfs.train.model import GPT, GPTConfig, cross_entropy


def _perturbed_model(vocab_size: int) -> GPT:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=vocab_size, seq_len=48, n_layer=2, n_head=4, d_model=32))
    with torch.no_grad():  # non-trivial biases and LayerNorm gains, so a wrong transpose shows
        for param in model.parameters():
            param.add_(0.05 * torch.randn_like(param))
    return model.eval()


def test_exported_gpt2_gives_the_same_logits(tokenizer_dir, paragraphs, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    model = _perturbed_model(len(tokenizer))
    export_hf(model, tokenizer_dir, tmp_path)

    hf_model = AutoModelForCausalLM.from_pretrained(str(tmp_path)).eval()
    hf_tokenizer = AutoTokenizer.from_pretrained(str(tmp_path))
    assert type(hf_model).__name__ == "GPT2LMHeadModel"
    ids = hf_tokenizer(paragraphs[1], add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = ids[:, :48]
    with torch.no_grad():
        ours, theirs = model(ids), hf_model(ids).logits
    assert torch.allclose(ours, theirs, atol=1e-5), (ours - theirs).abs().max()


def test_recomputation_changes_no_gradient():
    model = _perturbed_model(300).train()
    ids = torch.randint(0, 300, (2, 33), generator=torch.Generator().manual_seed(1))
    grads = []
    for recompute in (False, True):
        model.config.recompute = recompute
        model.zero_grad()
        cross_entropy(model(ids[:, :-1]), ids[:, 1:]).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for plain, recomputed in zip(*grads, strict=True):
        assert torch.allclose(plain, recomputed, atol=1e-6)
