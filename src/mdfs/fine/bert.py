"""The BERT classifier: a tiny encoder pretrained here (masked LM), then fine-tuned on 3 labels.

No pretrained Chinese weights exist on this machine, so `pretrain_mlm` trains a small
encoder (hidden 128, 2 layers: the size that reaches ~50 segments/s of 512 tokens on two CPU
cores) on the clean text of the labelled set, with the bert-base-chinese WordPiece
vocabulary. Users who have a real checkpoint pass it as `base_model` instead and skip that.
Everything is saved with `save_pretrained`, so `from_pretrained` loads the result.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mdfs.errors import UserError
from mdfs.fine import LABELS
from mdfs.shared import shared_folder

log = logging.getLogger(__name__)

VOCAB_NAME = "bert_base_chinese_vocab.txt"


@dataclass
class TinyBertSize:
    hidden: int = 128
    layers: int = 2
    heads: int = 2
    intermediate: int = 512
    max_positions: int = 512


@dataclass
class TrainSettings:
    pretrain_steps: int = 2000
    pretrain_batch: int = 16
    pretrain_seq: int = 256
    pretrain_lr: float = 1e-3
    epochs: float = 2.0
    batch: int = 32
    # Segments are ≤ 256 characters (about as many tokens): train on all of them, because
    # positions never trained hold random embeddings that would blur longer inputs.
    max_length: int = 256
    lr: float = 5e-4  # a small model trained briefly wants a large rate
    max_train_per_class: int = 5000  # balances classes and bounds CPU time
    seed: int = 13
    # One thread: on a shared 2-core machine two OpenMP threads spin against other jobs and
    # ran a training step 7x slower (0.67 s vs 5 s measured); 0 means all cores.
    threads: int = 1


def set_threads(threads: int = 0) -> int:
    """Set torch's CPU threads; 0 picks: one in an engine worker process, else every core.

    The local engine already runs one worker process per core; more threads in each would
    only make them fight over the same cores.
    """
    import multiprocessing

    import torch

    if threads == 0 and multiprocessing.parent_process() is not None:
        threads = 1
    count = threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(max(1, count))
    return count


def find_vocab(vocab: str | Path | None = None) -> Path:
    candidates = [Path(vocab)] if vocab else []
    candidates.append(shared_folder() / "data" / "vocab")
    for candidate in candidates:
        path = candidate / VOCAB_NAME if candidate.is_dir() else candidate
        if path.is_file():
            return path
    raise UserError(
        f"no WordPiece vocabulary found (looked for {VOCAB_NAME} in "
        f"{', '.join(str(c) for c in candidates)}); pass --vocab"
    )


_LINE_BREAKS = re.compile(r"\s*\n\s*")


def encoder_text(text: str, separator: str) -> str:
    """The text as the encoder reads it: each line break becomes the separator token.

    WordPiece drops line breaks like any whitespace, yet they are much of the evidence on
    the web: a wall of headlines or a menu is a run of short lines, an article is not.
    """
    return _LINE_BREAKS.sub(f" {separator} ", text.strip())


def load_tokenizer(name_or_path: str | Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(name_or_path))


def new_tokenizer(vocab: str | Path | None = None):
    from transformers import BertTokenizerFast

    # transformers 5 takes the vocab path as `vocab` (`vocab_file` is silently ignored)
    return BertTokenizerFast(vocab=str(find_vocab(vocab)), do_lower_case=True)


def pretrain_mlm(
    texts: Sequence[str],
    tokenizer: Any,
    size: TinyBertSize,
    settings: TrainSettings,
    report: Callable[[str], None] = log.info,
):
    """Masked-LM pretraining of a fresh tiny encoder; returns the BertForMaskedLM."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(settings.seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=size.hidden,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        intermediate_size=size.intermediate,
        max_position_embeddings=size.max_positions,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForMaskedLM(config)
    # Pack the clean text into one token stream cut into fixed windows: no padding wasted.
    ids: list[int] = []
    lines = [encoder_text(text, tokenizer.sep_token) for text in texts]
    for encoded in tokenizer(lines, add_special_tokens=False)["input_ids"]:
        ids.extend([*encoded, tokenizer.sep_token_id])
    window = settings.pretrain_seq - 2
    n_windows = len(ids) // window
    if n_windows < 1:
        raise UserError("too little clean text to pretrain the encoder")
    stream = torch.tensor(ids[: n_windows * window]).view(n_windows, window)
    cls = torch.full((n_windows, 1), tokenizer.cls_token_id)
    sep = torch.full((n_windows, 1), tokenizer.sep_token_id)
    windows = torch.cat([cls, stream, sep], dim=1)
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.pretrain_lr, weight_decay=0.01)
    schedule = _warmup_linear(optimizer, settings.pretrain_steps)
    generator = torch.Generator().manual_seed(settings.seed)
    model.train()
    start = time.perf_counter()
    for step in range(1, settings.pretrain_steps + 1):
        rows = torch.randint(0, n_windows, (settings.pretrain_batch,), generator=generator)
        inputs = windows[rows].clone()
        labels = inputs.clone()
        probability = torch.rand(inputs.shape, generator=generator)
        masked = (probability < 0.15) & ~torch.isin(inputs, special)
        labels[~masked] = -100
        # BERT's 80/10/10: [MASK], a random token, or the token itself
        replace = masked & (torch.rand(inputs.shape, generator=generator) < 0.8)
        inputs[replace] = tokenizer.mask_token_id
        randomise = masked & ~replace & (torch.rand(inputs.shape, generator=generator) < 0.5)
        inputs[randomise] = torch.randint(
            len(tokenizer), (int(randomise.sum()),), generator=generator
        )
        # Only masked positions go through the 21k-way output layer: it dominates the cost.
        hidden = model.bert(input_ids=inputs).last_hidden_state
        logits = model.cls(hidden[masked])
        loss = torch.nn.functional.cross_entropy(logits, labels[masked])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 50 == 0 or step == settings.pretrain_steps or not torch.isfinite(loss):
            report(
                f"pretrain step {step}/{settings.pretrain_steps} mlm loss {loss.item():.3f} "
                f"({time.perf_counter() - start:.0f}s)"
            )
    return model


def _warmup_linear(optimizer: Any, total: int):
    import torch

    warmup = max(1, total // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def balanced_subset(records: list[dict], per_class: int, seed: int) -> list[dict]:
    """At most `per_class` examples per label, spread evenly over the label's sources.

    Spreading over sources (when lines name one) keeps a big source (People's Daily) from
    crowding out a small one that looks more like the web (main text of real pages).
    """
    rng = random.Random(seed)
    chosen = []
    for label in LABELS:
        by_source: dict[str, list[dict]] = {}
        for record in records:
            if record["label"] == label:
                by_source.setdefault(str(record.get("source", "")), []).append(record)
        pools = [items[:] for _, items in sorted(by_source.items())]
        for items in pools:
            rng.shuffle(items)
        taken = 0
        while taken < per_class and any(pools):
            for items in pools:  # round robin: one from each source in turn
                if items and taken < per_class:
                    chosen.append(items.pop())
                    taken += 1
    rng.shuffle(chosen)
    return chosen


def finetune(
    encoder_dir_or_name: str | Path,
    tokenizer: Any,
    train: list[dict],
    settings: TrainSettings,
    report: Callable[[str], None] = log.info,
):
    """Fine-tune BertForSequenceClassification (3 labels) from a pretrained encoder."""
    import torch
    from transformers import BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    torch.manual_seed(settings.seed)
    # The load report lists the new classifier head as "missing": expected, not news.
    hf_logging.set_verbosity_error()
    try:
        model = BertForSequenceClassification.from_pretrained(
            str(encoder_dir_or_name),
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
            dtype=torch.float32,
        )
    except OSError as error:
        raise UserError(f"cannot load base model {encoder_dir_or_name}: {error}") from None
    label_ids = {label: i for i, label in enumerate(LABELS)}
    texts = [encoder_text(r["text"], tokenizer.sep_token) for r in train]
    targets = torch.tensor([label_ids[r["label"]] for r in train])
    counts = torch.bincount(targets, minlength=len(LABELS)).float()
    # classes the data leaves rare still count equally in the loss
    weights = counts.sum() / (len(LABELS) * counts.clamp(min=1))
    steps_per_epoch = math.ceil(len(texts) / settings.batch)
    total = max(1, int(steps_per_epoch * settings.epochs))
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.01)
    schedule = _warmup_linear(optimizer, total)
    rng = random.Random(settings.seed)
    model.train()
    start = time.perf_counter()
    step = 0
    while step < total:
        order = list(range(len(texts)))
        rng.shuffle(order)
        for first in range(0, len(order), settings.batch):
            if step >= total:
                break
            rows = order[first : first + settings.batch]
            batch = tokenizer(
                [texts[i] for i in rows],
                truncation=True,
                max_length=settings.max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**batch).logits
            loss = torch.nn.functional.cross_entropy(logits, targets[rows], weight=weights)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if step % 50 == 0 or step == total:
                report(
                    f"finetune step {step}/{total} loss {loss.item():.3f} "
                    f"({time.perf_counter() - start:.0f}s)"
                )
    model.eval()
    return model


class BertScorer:
    """Class probabilities (high, low, ad) for texts, batched with dynamic padding.

    Texts are sorted by length so each batch pads only to its own longest member, which on
    web text (short menus next to long paragraphs) saves most of the compute.

    The classifier reads only the [CLS] position of the last layer, so that layer computes
    only it: every position still gives the keys and values [CLS] attends to, but the query,
    the attention output and the feed-forward block (most of a layer) run on one
    position instead of all. The result is the full forward pass's, up to float rounding
    (`tests/fine/test_bert_scorer.py`); the shipped model has two layers, so this saves
    nearly half of its compute.

    `quantize` runs the Linear layers in int8 (PyTorch dynamic quantisation, CPU only):
    faster again, but probabilities move by a few hundredths (benchmarks/README.md), so it
    is an option, not the default.
    """

    def __init__(
        self,
        model_dir: str | Path,
        device: str = "cpu",
        batch_size: int = 64,
        max_length: int = 512,
        threads: int = 0,
        quantize: bool = False,
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, BertForSequenceClassification

        if device == "cpu":
            set_threads(threads)
        elif device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"device {device} requested but CUDA is not available")
        if quantize and device != "cpu":
            raise UserError(f"quantize runs on the CPU only, not on {device}")
        path = Path(model_dir)
        if not path.is_dir() or not (path / "config.json").is_file():
            raise UserError(f"model directory {model_dir} does not exist or has no config.json")
        self.tokenizer = load_tokenizer(path)
        model = AutoModelForSequenceClassification.from_pretrained(str(path), dtype=torch.float32)
        if not isinstance(model, BertForSequenceClassification):
            raise UserError(f"model {model_dir} is a {type(model).__name__}, not a BERT classifier")
        model.eval().to(device)
        if device.startswith("cuda"):
            model.half()  # tensor cores; class probabilities need no more precision
        if quantize:
            model = _quantized(model)
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        if sorted(labels) != sorted(LABELS):
            raise UserError(f"model {model_dir} predicts {labels}, not {list(LABELS)}")
        self.columns = [labels.index(label) for label in LABELS]
        self.device = device
        self.batch_size = batch_size
        # positions past the trained length have random embeddings: truncate to it
        trained = getattr(model.config, "mdfs_trained_length", None)
        limit = trained or model.config.max_position_embeddings
        self.max_length = min(max_length, limit)
        # The encoder below its last layer runs as transformers runs it (embeddings, mask,
        # attention kernel); the last layer, the pooler and the head are run by `logits`.
        self.last_layer = model.bert.encoder.layer[-1]
        model.bert.encoder.layer = model.bert.encoder.layer[:-1]
        self.pooler, model.bert.pooler = model.bert.pooler, None
        self.lower_layers = model.bert
        self.classifier = model.classifier

    def logits(self, batch: Any) -> Any:
        """Logits of a tokenized batch: the lower layers, then [CLS] through the last one."""
        import torch

        hidden = self.lower_layers(**batch).last_hidden_state
        attention = self.last_layer.attention.self
        size, heads = len(hidden), attention.num_attention_heads

        def by_head(states: torch.Tensor) -> torch.Tensor:
            return states.view(size, -1, heads, attention.attention_head_size).transpose(1, 2)

        cls = hidden[:, :1]
        keep = batch["attention_mask"].bool()[:, None, None, :]  # padding is not attended
        context = torch.nn.functional.scaled_dot_product_attention(
            by_head(attention.query(cls)),
            by_head(attention.key(hidden)),
            by_head(attention.value(hidden)),
            attn_mask=keep,
            scale=attention.scaling,
        )
        attended = self.last_layer.attention.output(
            context.transpose(1, 2).reshape(size, 1, -1), cls
        )
        top = self.last_layer.feed_forward_chunk(attended)
        return self.classifier(self.pooler(top))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        result = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        if not texts:
            return result
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for first in range(0, len(order), self.batch_size):
                rows = order[first : first + self.batch_size]
                batch = self.tokenizer(
                    [encoder_text(texts[i], self.tokenizer.sep_token) for i in rows],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                probabilities = torch.softmax(self.logits(batch).float(), dim=-1)
                result[rows] = probabilities[:, self.columns].cpu().numpy()
        return result


def _quantized(model: Any) -> Any:
    import warnings

    import torch

    with warnings.catch_warnings():
        # torch 2.13 points eager quantisation users to torchao; the API still works and
        # torchao is one more heavy dependency for the same int8 kernels
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
