"""Train a Chinese byte-level BPE tokeniser and save it so `AutoTokenizer` loads it.

Byte-level BPE (GPT-2's scheme) never produces an unknown token and decodes back to exactly
the input bytes, which matters for scoring: a CLUE option must tokenise the same way the
training text did. No Unicode normaliser is applied: the corpus is already normalised by
MDFS's coarse stage, and NFKC would turn full-width Chinese punctuation into ASCII.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"


def train_tokenizer(
    texts: Iterable[str], output_dir: str | Path, vocab_size: int = 16000, min_frequency: int = 2
) -> Path:
    """Train on `texts` and save a `PreTrainedTokenizerFast` into `output_dir`."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # Digits one by one, so numbers do not eat the vocabulary (as in LLaMA/Yuan).
            pre_tokenizers.Split(Regex(r"\d"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOS_TOKEN, PAD_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_chunked(texts), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        model_max_length=1_000_000,
    )
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(output_dir)
    return output_dir


def load_tokenizer(path: str | Path):  # -> PreTrainedTokenizerFast (lazy import keeps CLI fast)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))


def _chunked(texts: Iterable[str], max_chars: int = 4096) -> Iterator[str]:
    # The ByteLevel regex keeps a run of Han characters as one "word"; cutting very long
    # paragraphs bounds the word length the BPE trainer has to count.
    for text in texts:
        for start in range(0, len(text), max_chars):
            yield text[start : start + max_chars]
