"""The BERT scorer's fast path against transformers' own forward pass, on real texts.

The scorer batches texts of different lengths with padding and runs only [CLS] through the
last layer; transformers' BertForSequenceClassification, called on one unpadded text at a
time, is the reference. Real texts: ChineseWebText's clean and dirty Common Crawl documents
(cut into the segments the fine stage scores) and SMS ads, from the shared data.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mdfs.fine import LABELS
from mdfs.fine.bert import BertScorer, encoder_text
from mdfs.fine.scoring import DEFAULT_BERT
from mdfs.fine.segments import segment_texts

pytestmark = pytest.mark.skipif(
    not (DEFAULT_BERT / "config.json").is_file(), reason="default model not built"
)

# float32 summed in another order (batched, padded, one position in the last layer)
SAME = 1e-5
# int8 weights and activations: the dev sets moved by at most 0.08 (benchmarks/README.md)
QUANTIZED = 0.1


@pytest.fixture(scope="module")
def texts(shared: Path) -> list[str]:
    web = shared / "data" / "web" / "ccnet_labelled"
    segments = []
    for name in ("clean", "dirty"):
        with (web / f"{name}.jsonl").open(encoding="utf-8") as stream:
            for line in list(stream)[:3]:
                segments.extend(segment_texts(json.loads(line)["text"])[:3])
    with (shared / "data" / "spam" / "sample1.csv").open(encoding="utf-8") as stream:
        ads = [row["content"] for row in csv.DictReader(stream) if row["label"] == "1"][:4]
    return [*segments, *ads]


@pytest.fixture(scope="module")
def reference(texts: list[str]) -> np.ndarray:
    """Probabilities from transformers' forward pass, one text at a time (no padding)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    scorer = BertScorer(DEFAULT_BERT, threads=1)  # for its tokenizer and truncation length
    model = AutoModelForSequenceClassification.from_pretrained(str(DEFAULT_BERT)).eval()
    columns = [model.config.label2id[label] for label in LABELS]
    rows = []
    with torch.inference_mode():
        for text in texts:
            inputs = scorer.tokenizer(
                encoder_text(text, scorer.tokenizer.sep_token),
                truncation=True,
                max_length=scorer.max_length,
                return_tensors="pt",
            )
            rows.append(torch.softmax(model(**inputs).logits[0], dim=-1)[columns].numpy())
    return np.array(rows)


def test_fast_path_gives_the_full_forward_pass_probabilities(
    texts: list[str], reference: np.ndarray
) -> None:
    lengths = {len(text) for text in texts}
    assert len(lengths) > 5  # padding is exercised: batches mix lengths
    # every label occurs, so agreement is not one class's
    assert set(reference.argmax(axis=1)) == set(range(len(LABELS)))
    probabilities = BertScorer(DEFAULT_BERT, batch_size=4, threads=1).predict(texts)
    assert np.abs(probabilities - reference).max() < SAME
    assert (probabilities.argmax(axis=1) == reference.argmax(axis=1)).all()


def test_quantized_path_stays_within_its_stated_tolerance(
    texts: list[str], reference: np.ndarray
) -> None:
    probabilities = BertScorer(DEFAULT_BERT, threads=1, quantize=True).predict(texts)
    delta = np.abs(probabilities - reference)
    assert delta.max() < QUANTIZED
    assert delta.max() > SAME  # int8 did run: the figures are not the float ones
    # labels agree wherever the reference's top two classes are not within the tolerance
    top_two = np.sort(reference, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 2 * QUANTIZED
    assert clear.sum() >= len(texts) // 2
    assert (probabilities.argmax(axis=1) == reference.argmax(axis=1))[clear].all()
