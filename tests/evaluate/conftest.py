"""A tiny random-weights GPT-2 with a Chinese WordPiece tokenizer, saved as a model directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED, missing

CLUE_DIR = SHARED / "data" / "clue" / "fewclue"
VOCAB = SHARED / "data" / "vocab" / "bert_base_chinese_vocab.txt"


def make_tokenizer():  # -> PreTrainedTokenizerFast
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
    from transformers import PreTrainedTokenizerFast

    # bert-base-chinese's vocabulary: one token per Chinese character, WordPiece elsewhere.
    backend = Tokenizer(WordPiece.from_file(str(VOCAB), unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", eos_token="[SEP]"
    )


def make_model_dir(
    path: Path, seed: int = 0, n_positions: int = 512, initializer_range: float = 0.02
) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = make_tokenizer()
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=initializer_range,
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    # The machine is shared: threads beyond the idle cores spin and slow every test down.
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return make_model_dir(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory):  # -> CausalLM
    """Random weights drawn wide, so next-token distributions are far from uniform and a
    position or padding mistake moves scores by much more than the tests' tolerance."""
    pytest.importorskip("transformers")
    from mdfs.evaluate.lm import CausalLM

    path = make_model_dir(tmp_path_factory.mktemp("sharp-gpt2"), initializer_range=0.5)
    return CausalLM.load(path, device="cpu", batch_size=4)


@pytest.fixture(scope="session")
def clue_dir() -> Path:
    if not CLUE_DIR.is_dir():
        missing(f"FewCLUE data at {CLUE_DIR}")
    return CLUE_DIR
