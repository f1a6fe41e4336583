"""A character n-gram language model with interpolated Kneser-Ney smoothing, in numpy.

CCNet scores fluency with a KenLM word 5-gram. KenLM's query side installs from PyPI, but
its trainer (`lmplz`) must be compiled from a source checkout against Boost; a character
model needs no word segmenter (Chinese has no spaces), and at this size it trains in
seconds and queries as a few vectorised binary searches per document, so it is written
here (Chen & Goodman 1998, interpolated Kneser-Ney with one discount per order).

Text is read as characters after light folding (digits to 0, Latin to lower case), with
the line break as a token of its own: it starts and ends every line. Characters seen fewer
than `min_char_count` times share one unknown id. The highest orders keep only n-grams seen
at least `min_count` times; the probability mass of those dropped goes to the lower order,
so the distribution stays normalised.

An n-gram is one int64 key (ids in base `vocab_size`), and each order is two sorted arrays:
keys and the discounted probability `max(c - D, 0) / c(context)`; contexts have the weight
of the lower order, `gamma`. Then, for every position at once:
`p_n(w | ctx) = A_n(ctx w) + gamma_n(ctx) * p_{n-1}(w | ctx[1:])`, with A = 0 and gamma = 1
where the n-gram or the context was not seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NEWLINE = 0  # id of the line break
UNKNOWN = 1  # id shared by rare and unseen characters
DISCOUNT = 0.75


def fold(text: str) -> np.ndarray:
    """Code points of `text` with digits folded to 0 and ASCII letters lower-cased."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).copy()
    points[(points >= 0x31) & (points <= 0x39)] = 0x30
    upper = (points >= 0x41) & (points <= 0x5A)
    points[upper] += 0x20
    return points


@dataclass
class _Order:
    keys: np.ndarray  # sorted int64 n-gram keys
    weights: np.ndarray  # float32 discounted probability of each n-gram
    context_keys: np.ndarray  # sorted int64 context keys
    context_gamma: np.ndarray  # float32 weight of the lower order for each context


def _lookup(
    keys: np.ndarray, values: np.ndarray, queries: np.ndarray, missing: float
) -> np.ndarray:
    if not len(keys):
        return np.full(len(queries), missing, dtype=np.float64)
    index = np.searchsorted(keys, queries)
    index[index == len(keys)] = 0
    found = keys[index] == queries
    return np.where(found, values[index], missing).astype(np.float64)


class CharNgramModel:
    def __init__(self, chars: np.ndarray, unigram: np.ndarray, orders: list[_Order]) -> None:
        self.chars = chars  # sorted code points of the vocabulary; id = position + 2
        self.unigram = unigram  # float64 probability of each id
        self.orders = orders  # orders[0] is the bigram
        self.vocab_size = len(chars) + 2

    @property
    def order(self) -> int:
        return len(self.orders) + 1

    def ids(self, text: str) -> np.ndarray:
        points = fold(text)
        index = np.searchsorted(self.chars, points)
        index[index == len(self.chars)] = 0
        known = self.chars[index] == points if len(self.chars) else np.zeros(len(points), bool)
        ids = np.where(known, index + 2, UNKNOWN).astype(np.int64)
        ids[points == 0x0A] = NEWLINE
        return ids

    def log_probs(self, text: str) -> np.ndarray:
        """Natural-log probability of each character of `text` and of a final line break.

        Entry i scores `text[i]` (a line break scores the end of its line); the last entry
        scores the end of the last line. The first line starts after a line break.
        """
        pad = np.full(self.order - 1, NEWLINE, dtype=np.int64)
        ids = np.concatenate([pad, self.ids(text), [NEWLINE]])
        positions = np.arange(self.order - 1, len(ids))
        target = ids[positions]
        prob = self.unigram[target]
        v = self.vocab_size
        context = np.zeros(len(target), dtype=np.int64)  # the n-1 ids before each target
        scale = 1
        for n, order in enumerate(self.orders, start=2):
            context = ids[positions - (n - 1)] * scale + context
            scale *= v
            weight = _lookup(order.keys, order.weights, context * v + target, 0.0)
            gamma = _lookup(order.context_keys, order.context_gamma, context, 1.0)
            prob = weight + gamma * prob
        return np.log(prob)

    # -- training ---------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        lines: Iterable[str],
        order: int = 3,
        min_char_count: int = 2,
        min_count: int = 2,
    ) -> CharNgramModel:
        text = "\n" + "\n".join(line for line in lines if line) + "\n"
        points = fold(text)
        values, counts = np.unique(points[points != 0x0A], return_counts=True)
        chars = values[counts >= min_char_count].astype(np.uint32)
        model = cls(chars, np.zeros(0), [])
        ids = model.ids(text)
        v = model.vocab_size
        # n-gram keys of every order at every position (position i ends at i + n - 1)
        grams = [ids.copy()]
        for n in range(2, order + 1):
            grams.append(grams[-1][:-1] * v + ids[n - 1 :])
        # Kneser-Ney: lower orders count distinct left extensions, the highest real counts
        unique = [np.unique(g, return_counts=True) for g in grams]
        continuation = []
        for n in range(1, order):
            higher = unique[n][0]  # distinct (n+1)-grams
            suffix = higher % v**n
            continuation.append(np.unique(suffix, return_counts=True))
        continuation.append(unique[order - 1])
        uni_keys, uni_counts = continuation[0]
        unigram = np.ones(v, dtype=np.float64)  # add-one keeps unknown ids above zero
        unigram[uni_keys] += uni_counts
        unigram /= unigram.sum()
        orders = []
        for n in range(2, order + 1):
            keys, counts = continuation[n - 1]
            context = keys // v
            context_keys, first = np.unique(context, return_index=True)
            totals = np.add.reduceat(counts, first).astype(np.float64)
            keep = counts >= (min_count if n == order else 1)
            discounted = (
                np.maximum(counts - DISCOUNT, 0) / totals[np.searchsorted(context_keys, context)]
            )
            kept_mass = np.zeros(len(context_keys))
            np.add.at(kept_mass, np.searchsorted(context_keys, context[keep]), discounted[keep])
            orders.append(
                _Order(
                    keys[keep].astype(np.int64),
                    discounted[keep].astype(np.float32),
                    context_keys.astype(np.int64),
                    (1.0 - kept_mass).astype(np.float32),
                )
            )
        return cls(chars, unigram, orders)

    # -- files ------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        arrays: dict[str, np.ndarray] = {"chars": self.chars, "unigram": self.unigram}
        for n, o in enumerate(self.orders, start=2):
            arrays[f"keys{n}"] = o.keys
            arrays[f"weights{n}"] = o.weights
            arrays[f"context_keys{n}"] = o.context_keys
            arrays[f"context_gamma{n}"] = o.context_gamma
        with open(path, "wb") as stream:
            np.savez_compressed(stream, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> CharNgramModel:
        with np.load(path) as data:
            orders = []
            n = 2
            while f"keys{n}" in data:
                orders.append(
                    _Order(
                        data[f"keys{n}"],
                        data[f"weights{n}"],
                        data[f"context_keys{n}"],
                        data[f"context_gamma{n}"],
                    )
                )
                n += 1
            return cls(data["chars"], data["unigram"], orders)
