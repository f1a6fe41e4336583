"""The scoring path of `mdfs.evaluate` before batching across examples (for eval_speed.py).

Kept only so the benchmark can time both paths side by side in one run: classification
prompts ran one at a time (the prompt once, its cache copied for batches of label words);
multiple-choice candidates ran as independent (context, continuation) pairs, left-padded in
batches, each pair recomputing its context. `score` takes the items of `CausalLM.score`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any

import torch

from mdfs.evaluate.lm import CONTEXT_TAIL_CHARS, CausalLM, Score

# The old harness batched the candidates of 32 multiple-choice examples at a time.
EXAMPLES_PER_STEP = 32


class PreviousLM(CausalLM):
    """`CausalLM` scoring as before; `shared_context` says which of the old paths a task took
    (True for classification)."""

    shared_context = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parameters = inspect.signature(self.model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in parameters else "past_key_values"
        self._takes_position_ids = "position_ids" in parameters
        self._takes_logits_to_keep = "logits_to_keep" in parameters

    def score(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[Score]]:
        if self.shared_context:
            return [self.loglikelihood_shared_context(c, list(xs)) for c, xs in items]
        scores: list[list[Score]] = []
        for start in range(0, len(items), EXAMPLES_PER_STEP):
            step = items[start : start + EXAMPLES_PER_STEP]
            flat = iter(self.loglikelihood([(c, x) for c, xs in step for x in xs]))
            scores.extend([next(flat) for _ in xs] for _, xs in step)
        return scores

    def encode(self, text: str) -> list[int]:
        # Prompts are plain text: no [CLS]/[SEP] or chat template from the tokenizer.
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_continuation(self, context: str, continuation: str) -> list[int]:
        """The continuation's tokens as they fall after the context.

        Encoded alone, a continuation can tokenise differently: SentencePiece adds a word-start
        marker, BPE may merge across the boundary. So encode it behind the context's tail and
        keep what follows the tail's own tokens (the tail suffices: merges are local).
        """
        tail = self.encode(context[-CONTEXT_TAIL_CHARS:]) if context else []
        whole = self.encode(context[-CONTEXT_TAIL_CHARS:] + continuation)
        if tail and whole[: len(tail)] == tail and len(whole) > len(tail):
            return whole[len(tail) :]
        return self.encode(continuation)

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[Score]:
        """Score each continuation after its context, batching pairs of similar length."""
        pairs = [
            self._fit_pair(self.encode(c), self.encode_continuation(c, x)) for c, x in requests
        ]
        return self.score_token_pairs(pairs)

    def score_token_pairs(self, pairs: Sequence[tuple[list[int], list[int]]]) -> list[Score]:
        scores: list[Score | None] = [None] * len(pairs)
        # Longest first: each batch pads to similar lengths, and memory peaks at once.
        order = sorted(range(len(pairs)), key=lambda i: -sum(map(len, pairs[i])))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            inputs = [(pairs[i][0] + pairs[i][1])[:-1] for i in batch]
            width = max(map(len, inputs))
            # Left padding ends every row at the same position, so the continuation positions of
            # all rows lie within the last `keep` logits and nothing else need be computed.
            keep = max(len(pairs[i][1]) for i in batch)
            pad = self.tokenizer.pad_token_id or 0
            ids = torch.tensor([[pad] * (width - len(row)) + row for row in inputs])
            mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in inputs])
            logprobs = self._forward(ids, mask, keep)
            for row, i in enumerate(batch):
                continuation = torch.tensor(pairs[i][1], device=logprobs.device)
                rows = logprobs[row, keep - len(continuation) :]
                picked = rows.gather(1, continuation.unsqueeze(1))
                scores[i] = Score(float(picked.sum()), len(continuation))
        return [s for s in scores if s is not None]

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, keep: int) -> torch.Tensor:
        """Log-probabilities (rows, keep, vocab) at the last `keep` positions."""
        kwargs: dict[str, Any] = {"attention_mask": mask.to(self.device)}
        if self._takes_position_ids:
            # Positions count real tokens only, so left padding does not shift them.
            kwargs["position_ids"] = (mask.cumsum(1) - 1).clamp(min=0).to(self.device)
        if self._takes_logits_to_keep:
            kwargs["logits_to_keep"] = keep
        with torch.inference_mode():
            logits = self.model(input_ids=ids.to(self.device), **kwargs).logits[:, -keep:]
        return torch.log_softmax(logits.float(), dim=-1)

    def loglikelihood_shared_context(
        self, context: str, continuations: Sequence[str]
    ) -> list[Score]:
        """Score many continuations of one context, running the context once."""
        encoded = [self.encode_continuation(context, x) for x in continuations]
        if not all(encoded):
            raise ValueError("an empty continuation cannot be scored")
        context_ids = self.encode(context)
        if not (self.start_ids or context_ids):
            return self.loglikelihood([(context, x) for x in continuations])
        context_ids = self._fit_pair(context_ids, [0] * max(map(len, encoded)))[0]
        return self.score_shared_context(context_ids, encoded)

    def score_shared_context(
        self, context_ids: list[int], continuations: list[list[int]]
    ) -> list[Score]:
        kwargs: dict[str, Any] = {"use_cache": True}
        if self._takes_logits_to_keep:
            kwargs["logits_to_keep"] = 1
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([context_ids], device=self.device), **kwargs)
        cache = out["cache"] if "cache" in out else out["past_key_values"]
        if not hasattr(cache, "batch_repeat_interleave"):
            # Legacy tuple caches (old or custom models): score whole sequences instead.
            return self.score_token_pairs([(context_ids, c) for c in continuations])
        first = torch.log_softmax(out.logits[0, -1].float(), dim=-1).cpu()
        totals = [float(first[c[0]]) for c in continuations]
        # Only words longer than one token need the context's cache. Batched by length, most
        # batches are two-token words and need one position each, not the longest word's.
        longer = sorted(
            (i for i, c in enumerate(continuations) if len(c) > 1),
            key=lambda i: len(continuations[i]),
        )
        for start in range(0, len(longer), self.batch_size):
            batch = longer[start : start + self.batch_size]
            # Each row feeds its tokens but the last; logits at those positions predict the rest.
            inputs = [continuations[i][:-1] for i in batch]
            width = max(map(len, inputs))
            # Right padding is harmless here: causal attention keeps padding after a row's tokens
            # from influencing them, and every row starts at the same position after the cache.
            pad = self.tokenizer.pad_token_id or 0
            ids = torch.tensor([row + [pad] * (width - len(row)) for row in inputs])
            mask = torch.tensor(
                [[1] * (len(context_ids) + len(row)) + [0] * (width - len(row)) for row in inputs]
            )
            batch_cache = copy.deepcopy(cache)
            batch_cache.batch_repeat_interleave(len(batch))
            with torch.inference_mode():
                logits = self.model(
                    input_ids=ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    use_cache=True,
                    **{self._cache_kwarg: batch_cache},
                ).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            for row, i in enumerate(batch):
                targets = torch.tensor(continuations[i][1:], device=logprobs.device)
                picked = logprobs[row, : len(targets)].gather(1, targets.unsqueeze(1))
                totals[i] += float(picked.sum())
        return [Score(total, len(c)) for total, c in zip(totals, continuations, strict=True)]

    def _fit_pair(self, context: list[int], continuation: list[int]) -> tuple[list[int], list[int]]:
        """Prefix the start token and cut the context's oldest tokens to fit the model."""
        context = self.start_ids + context
        if not context:
            # Nothing predicts a first token without a start token: condition on it instead.
            context, continuation = continuation[:1], continuation[1:]
        if not continuation:
            raise ValueError("an empty continuation cannot be scored")
        continuation = continuation[: self.max_length - 1]
        room = self.max_length - len(continuation)
        return context[-room:], continuation
