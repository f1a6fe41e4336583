from pathlib import Path

from transformers import AutoTokenizer

from mdfs.train.tokenizer import EOS_TOKEN


def test_autotokenizer_round_trip_on_unseen_text(tokenizer_dir: Path, paragraphs: list[str]):
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    # Held-out paragraphs (the tokenizer saw the first 300), plus full-width punctuation,
    # digits, Latin and a rare character, which byte-level BPE must still encode losslessly.
    samples = [*paragraphs[900:905], "１９９８年，ＭＤＦＳ（测试）：Yuan 1.0 有2457亿参数！𠀀"]
    for text in samples:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
        # unk is eos by construction: no special token may stand for plain text
        assert tokenizer.eos_token_id not in ids and tokenizer.pad_token_id not in ids
    assert tokenizer.eos_token == EOS_TOKEN
    assert tokenizer.pad_token_id != tokenizer.eos_token_id


def test_merges_learn_chinese(tokenizer_dir: Path, paragraphs: list[str]):
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    text = paragraphs[0]
    n_tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    # Han characters are 3 UTF-8 bytes; trained merges must compress below one token per byte.
    assert n_tokens < 0.6 * len(text.encode("utf-8"))
