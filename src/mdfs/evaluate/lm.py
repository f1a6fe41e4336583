"""Log-likelihoods of continuations under a Hugging Face causal language model.

Any directory that `AutoModelForCausalLM` and `AutoTokenizer` load works, MDFS's own proxy
checkpoints included. One way to score: `score(items)`, where an item is a context and its
candidate continuations (a prompt and all label words of 119 classes, or a passage and its
seven idioms). The work is shaped for speed without changing a number:
- each context runs once, batched with other items' contexts (left-padded), and its
  key/value cache is expanded over its candidates, which run batched (right-padded);
- the first token of every candidate is scored from the context's last position alone;
- the vocabulary projection, which dominates a small model's time, runs only at the
  positions that are scored, a few hundred rows at a time.
The scores equal those of scoring every (context, continuation) pair alone (a test).
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mdfs.errors import UserError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = 2048
CONTEXT_TAIL_CHARS = 16
# Logits held at once by the vocabulary projection: 16 MiB of float32 stays in cache-sized
# pieces (a tenth of the time of one 4,096-row piece on a CPU) and is still a GPU-sized matmul.
LOGITS_PER_PIECE = 1 << 22


@dataclass(frozen=True)
class Score:
    """Sum of the log-probabilities of a continuation's tokens, and how many there were."""

    logprob: float
    tokens: int

    @property
    def mean_loss(self) -> float:
        return -self.logprob / self.tokens


# A context's token ids and the token ids of each of its continuations.
TokenItem = tuple[list[int], list[list[int]]]


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA device is available")
    return device


class CausalLM:
    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        device: str = "cpu",
        batch_size: int = 64,
        max_length: int | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length or _model_max_length(model)
        self.pad_id = tokenizer.pad_token_id or 0
        # A document-boundary token before every context, as the model saw at document starts
        # in pretraining; it also gives the first continuation token something to condition on.
        start = [tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.cls_token_id]
        self.start_ids = [t for t in start if t is not None][:1]
        self._body, self._head = self._split_head()
        parameters = inspect.signature(self._body.forward).parameters
        self._cache_kwarg = "cache" if "cache" in parameters else "past_key_values"
        # Without position ids, left padding would shift positions: contexts then run alone.
        self._takes_position_ids = "position_ids" in parameters

    @classmethod
    def load(
        cls,
        path: str | Path,
        device: str = "auto",
        batch_size: int = 64,
        dtype: str = "auto",
        max_length: int | None = None,
    ) -> CausalLM:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not Path(path).is_dir():
            raise UserError(f"--model {path}: not a model directory")
        device = pick_device(device)
        if dtype == "auto":
            cuda_bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
            dtype = "bfloat16" if cuda_bf16 else "float32"
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
        return cls(model.to(device), tokenizer, device, batch_size, max_length)

    def _split_head(self) -> tuple[Any, Any]:
        """The transformer without its vocabulary projection, and the projection.

        Checked on a few tokens: where the model does more than project its last hidden state
        (logit soft-capping, scaling), the whole model runs and gives logits everywhere.
        """
        import torch

        body, head = getattr(self.model, "base_model", None), None
        if body is not None and body is not self.model:
            head = self.model.get_output_embeddings()
        if head is None:
            return self.model, None
        ids = torch.tensor([[*self.start_ids, self.pad_id, 1, 2]], device=self.device)
        with torch.inference_mode():
            want = self.model(input_ids=ids).logits.float()
            got = head(body(input_ids=ids).last_hidden_state).float()
        if got.shape != want.shape or not torch.allclose(got, want, atol=1e-4, rtol=1e-4):
            log.info("the model's logits are not its head's projection: scoring all positions")
            return self.model, None
        return body, head

    def encode(self, text: str) -> list[int]:
        return self._encode_all([text])[0]

    def _encode_all(self, texts: list[str]) -> list[list[int]]:
        # Prompts are plain text: no [CLS]/[SEP] or chat template from the tokenizer.
        if not texts:
            return []
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None:  # a fast tokenizer: the Rust one alone, without the wrapping
            return [e.ids for e in backend.encode_batch(texts, add_special_tokens=False)]
        return [list(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def encode_items(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[TokenItem]:
        """Token ids of each context and of its continuations as they fall after it.

        Encoded alone, a continuation can tokenise differently: SentencePiece adds a word-start
        marker, BPE may merge across the boundary. So encode it behind the context's tail and
        keep what follows the tail's own tokens (the tail suffices: merges are local).
        One tokenizer call per kind of text, not per string: a fast tokenizer batches them.
        """
        tails = [context[-CONTEXT_TAIL_CHARS:] for context, _ in items]
        contexts = self._encode_all([context for context, _ in items])
        tail_ids = self._encode_all(tails)
        whole = iter(
            self._encode_all([t + x for t, (_, xs) in zip(tails, items, strict=True) for x in xs])
        )
        encoded, alone = [], []
        for i, (_, continuations) in enumerate(items):
            tail, row = tail_ids[i], []
            for j, continuation in enumerate(continuations):
                ids = next(whole)
                if tail and ids[: len(tail)] == tail and len(ids) > len(tail):
                    row.append(ids[len(tail) :])
                elif not tail:
                    row.append(ids)  # the tail is empty: `whole` is the continuation alone
                else:
                    row.append([])
                    alone.append((i, j, continuation))
            encoded.append((contexts[i], row))
        for (i, j, _), ids in zip(alone, self._encode_all([x for _, _, x in alone]), strict=True):
            encoded[i][1][j] = ids
        return encoded

    def score(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[Score]]:
        """Score each context's continuations: log P(continuation | start token + context)."""
        return self.score_tokens(self.encode_items(items))

    def score_tokens(self, items: Sequence[TokenItem]) -> list[list[Score]]:
        fitted: list[TokenItem] = []
        owner: list[tuple[int, list[int]]] = []  # the item and continuations of each fitted one
        for i, (context, continuations) in enumerate(items):
            for fitted_context, fitted_continuations, js in self._fit(context, continuations):
                fitted.append((fitted_context, fitted_continuations))
                owner.append((i, js))
        scores = [[Score(0.0, 0)] * len(continuations) for _, continuations in items]
        for (i, js), row in zip(owner, self._score_fitted(fitted), strict=True):
            for j, (total, tokens) in zip(js, row, strict=True):
                scores[i][j] = Score(total, tokens)
        return scores

    def _fit(
        self, context: list[int], continuations: list[list[int]]
    ) -> list[tuple[list[int], list[list[int]], list[int]]]:
        """Prefix the start token and cut the context's oldest tokens so that its longest
        continuation fits the model: groups of (context, continuations, their indices)."""
        continuations = [c[: self.max_length - 1] for c in continuations]
        context = self.start_ids + context
        if not context:
            # Nothing predicts a first token without a start token: condition on it instead.
            if any(len(c) < 2 for c in continuations):
                raise ValueError("an empty continuation cannot be scored")
            return [([c[0]], [c[1:]], [j]) for j, c in enumerate(continuations)]
        if not all(continuations):
            raise ValueError("an empty continuation cannot be scored")
        room = self.max_length - max(map(len, continuations))
        return [(context[-room:], continuations, list(range(len(continuations))))]

    def _score_fitted(self, items: Sequence[TokenItem]) -> list[list[tuple[float, int]]]:
        """(sum of log-probabilities, tokens) of every continuation of every item."""
        totals: list[list[tuple[float, int]]] = [[] for _ in items]
        # Longest contexts first: each batch pads to similar lengths, and memory peaks at once.
        order = sorted(range(len(items)), key=lambda i: -len(items[i][0]))
        per_pass = self.batch_size if self._takes_position_ids else 1
        for start in range(0, len(order), per_pass):
            batch = order[start : start + per_pass]
            for i, row in zip(batch, self._score_batch([items[i] for i in batch]), strict=True):
                totals[i] = row
        return totals

    def _score_batch(self, items: Sequence[TokenItem]) -> list[list[tuple[float, int]]]:
        import torch

        contexts = [context for context, _ in items]
        width = max(map(len, contexts))
        ids = torch.tensor([[self.pad_id] * (width - len(c)) + c for c in contexts])
        context_mask = torch.tensor([[0] * (width - len(c)) + [1] * len(c) for c in contexts])
        positions = (context_mask.cumsum(1) - 1).clamp(min=0)
        states, cache = self._run(ids, context_mask, positions, None)
        # The context's last position predicts every continuation's first token.
        first = iter(self._logprobs(states[:, -1], [[c[0] for c in cs] for _, cs in items]))
        totals = [[next(first) for _ in continuations] for _, continuations in items]
        # The rest run on the context's cache, one row per continuation longer than a token.
        # Rows go by context, then by length, so a pass pads little and its rows' cache need
        # only be as wide as their own contexts (the padding on the left is cut off).
        rows = sorted(
            ((b, j) for b, (_, cs) in enumerate(items) for j, c in enumerate(cs) if len(c) > 1),
            key=lambda bj: (bj[0], len(items[bj[0]][1][bj[1]])),
        )
        lengths = context_mask.sum(1)
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            inputs = [items[b][1][j][:-1] for b, j in chunk]
            w = max(map(len, inputs))
            owner = torch.tensor([b for b, _ in chunk])
            row_ids = torch.tensor([x + [self.pad_id] * (w - len(x)) for x in inputs])
            row_mask = torch.tensor([[1] * len(x) + [0] * (w - len(x)) for x in inputs])
            # Padding positions may run past the model's length; their outputs are never read.
            row_positions = (lengths[owner, None] + torch.arange(w)).clamp(max=self.max_length - 1)
            keep = int(lengths[owner].max())
            row_cache = _select_rows(cache, owner.to(self.device), keep)
            mask = torch.cat([context_mask[owner, width - keep :], row_mask], dim=1)
            row_states, _ = self._run(row_ids, mask, row_positions, row_cache)
            scored = row_mask.bool()
            targets = [[t] for b, j in chunk for t in items[b][1][j][1:]]
            logprobs = self._logprobs(row_states[scored.to(self.device)], targets)
            k = 0
            for (b, j), x in zip(chunk, inputs, strict=True):
                totals[b][j] += sum(logprobs[k : k + len(x)])
                k += len(x)
        return [
            list(zip(row, map(len, continuations), strict=True))
            for row, (_, continuations) in zip(totals, items, strict=True)
        ]

    def _run(
        self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any
    ) -> tuple[torch.Tensor, Any]:
        """Final states (hidden states, or logits where the head cannot be split off) at every
        position, and the key/value cache."""
        import torch

        kwargs: dict[str, Any] = {"attention_mask": mask.to(self.device), "use_cache": True}
        if self._takes_position_ids:
            kwargs["position_ids"] = positions.to(self.device)
        if cache is not None:
            kwargs[self._cache_kwarg] = cache
        with torch.inference_mode():
            out = self._body(input_ids=ids.to(self.device), **kwargs)
        states = out.logits if self._head is None else out.last_hidden_state
        cache = out["cache"] if "cache" in out else out["past_key_values"]
        if not all(hasattr(layer, "keys") for layer in getattr(cache, "layers", [None])):
            raise RuntimeError(f"{type(self.model).__name__}: no key/value cache to reuse")
        return states, cache

    def _logprobs(self, states: torch.Tensor, targets: list[list[int]]) -> list[float]:
        """log P(t) for every target t of every row of final states, in order; the vocabulary
        is projected a piece of rows at a time."""
        import torch

        rows_per_piece = max(1, LOGITS_PER_PIECE // self._vocab_size(states))
        out = []
        with torch.inference_mode():
            for start in range(0, len(targets), rows_per_piece):
                piece = targets[start : start + rows_per_piece]
                logits = states[start : start + rows_per_piece]
                if self._head is not None:
                    logits = self._head(logits)
                logprobs = torch.log_softmax(logits.float(), dim=-1)
                rows = [r for r, row_targets in enumerate(piece) for _ in row_targets]
                cols = [t for row_targets in piece for t in row_targets]
                index = torch.tensor([rows, cols], device=logprobs.device)
                out.append(logprobs[index[0], index[1]])
        return torch.cat(out).double().cpu().tolist() if out else []

    def _vocab_size(self, states: torch.Tensor) -> int:
        return states.shape[-1] if self._head is None else self._head.weight.shape[0]


def _select_rows(cache: Any, owner: torch.Tensor, keep: int) -> Any:
    """A cache whose row r holds the last `keep` positions of row `owner[r]` of `cache`.

    `cache` itself is left as it is: its layers are copied shallowly and given new tensors.
    """
    rows = copy.copy(cache)
    rows.layers = [copy.copy(layer) for layer in cache.layers]
    for layer in rows.layers:
        layer.keys = layer.keys[owner, :, -keep:]
        layer.values = layer.values[owner, :, -keep:]
    return rows


def _model_max_length(model: Any) -> int:
    config = model.config
    for name in ("max_position_embeddings", "n_positions", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_MAX_LENGTH
