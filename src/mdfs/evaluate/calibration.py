"""Class probabilities from label words, and contextual calibration (Zhao et al. 2021).

"Calibrate Before Use" estimates a model's bias toward some labels from its prediction on
content-free inputs ("N/A", "", "[MASK]") placed in the same prompt, then divides it out:
with p̂ the mean normalised class probabilities on those inputs, W = diag(p̂)⁻¹ and b = 0,
so the calibrated probabilities are W·p renormalised to sum to one.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def class_logprobs(word_logprobs: ArrayLike, word_class: ArrayLike, num_classes: int) -> NDArray:
    """A class's log-probability is that of its best label word (label expansion).

    `word_logprobs` is (examples, words); `word_class[j]` is the class of word j.
    """
    word_logprobs = np.atleast_2d(np.asarray(word_logprobs, dtype=np.float64))
    word_class = np.asarray(word_class)
    out = np.full((word_logprobs.shape[0], num_classes), -np.inf)
    for c in range(num_classes):
        out[:, c] = word_logprobs[:, word_class == c].max(axis=1)
    return out


def normalise(logprobs: ArrayLike) -> NDArray:
    """Class probabilities renormalised over the classes (rows sum to 1)."""
    logprobs = np.atleast_2d(np.asarray(logprobs, dtype=np.float64))
    shifted = np.exp(logprobs - logprobs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def content_free_prior(content_free_logprobs: ArrayLike) -> NDArray:
    """p̂: the mean of the normalised class probabilities over the content-free inputs."""
    return normalise(content_free_logprobs).mean(axis=0)


def calibrate(probs: ArrayLike, prior: ArrayLike) -> NDArray:
    """Apply W = diag(p̂)⁻¹, b = 0 to normalised probabilities and renormalise."""
    scaled = np.atleast_2d(np.asarray(probs, dtype=np.float64)) / np.asarray(prior)
    return scaled / scaled.sum(axis=1, keepdims=True)


def accuracy(probs: ArrayLike, gold: ArrayLike) -> float:
    """Share of rows whose most probable class is gold (a gold of -1 never matches)."""
    gold = np.asarray(gold)
    if gold.size == 0:
        return float("nan")
    return float((np.asarray(probs).argmax(axis=1) == gold).mean())
