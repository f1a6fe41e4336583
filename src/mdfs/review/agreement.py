"""How far people agree with the model, per class, and with each other (Cohen's kappa)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

from mdfs.review.sampling import CLASSES
from mdfs.review.store import SKIP


def cohen_kappa(first: list[str], second: list[str]) -> float | None:
    """Agreement beyond chance between two raters of the same items.

    None when it is undefined: no items, or both raters gave one and the same label to
    everything (chance agreement is then 1, and 0/0 says nothing).
    """
    if len(first) != len(second):
        raise ValueError("both raters must rate the same items")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    count_first, count_second = Counter(first), Counter(second)
    chance = sum(count_first[c] * count_second[c] for c in count_first) / (n * n)
    if chance == 1:
        return None
    return (observed - chance) / (1 - chance)


@dataclass
class ClassAgreement:
    label: str
    model_n: int = 0  # reviewed documents the model put in this class
    model_agreed: int = 0  # ... that the person put there too (the model's precision)
    person_n: int = 0  # documents people put in this class
    person_agreed: int = 0  # ... that the model put there too (the model's recall)

    @property
    def precision(self) -> float | None:
        return self.model_agreed / self.model_n if self.model_n else None

    @property
    def recall(self) -> float | None:
        return self.person_agreed / self.person_n if self.person_n else None


@dataclass
class ReviewerPair:
    first: str
    second: str
    common: int  # documents both labelled
    agreement: float | None
    kappa: float | None


@dataclass
class Agreement:
    judgements: int  # (reviewer, document) labels, skips excluded
    agreed: int
    kappa: float | None  # people against the model, over all judgements
    classes: dict[str, ClassAgreement]
    confusion: dict[str, Counter[str]]  # person label -> model label -> count
    reviewers: dict[str, int]  # reviewer -> judgements
    pairs: list[ReviewerPair] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.agreed / self.judgements if self.judgements else None


def measure(latest: dict[tuple[str, str], str], model_labels: dict[str, str]) -> Agreement:
    """Every reviewer's latest label on a sampled document is one judgement against the model."""
    judgements = [
        (reviewer, doc_id, label, model_labels[doc_id])
        for (reviewer, doc_id), label in sorted(latest.items())
        if label != SKIP and doc_id in model_labels
    ]
    classes = {label: ClassAgreement(label) for label in CLASSES}
    confusion: dict[str, Counter[str]] = {label: Counter() for label in CLASSES}
    reviewers: Counter[str] = Counter()
    for reviewer, _, person, model in judgements:
        reviewers[reviewer] += 1
        confusion[person][model] += 1
        classes[model].model_n += 1
        classes[person].person_n += 1
        if person == model:
            classes[model].model_agreed += 1
            classes[person].person_agreed += 1

    per_reviewer: dict[str, dict[str, str]] = {}
    for reviewer, doc_id, person, _ in judgements:
        per_reviewer.setdefault(reviewer, {})[doc_id] = person
    pairs = []
    for first, second in combinations(sorted(per_reviewer), 2):
        common = sorted(per_reviewer[first].keys() & per_reviewer[second].keys())
        a = [per_reviewer[first][doc_id] for doc_id in common]
        b = [per_reviewer[second][doc_id] for doc_id in common]
        agreement = sum(x == y for x, y in zip(a, b, strict=True)) / len(common) if common else None
        pairs.append(ReviewerPair(first, second, len(common), agreement, cohen_kappa(a, b)))

    return Agreement(
        judgements=len(judgements),
        agreed=sum(person == model for _, _, person, model in judgements),
        kappa=cohen_kappa([j[2] for j in judgements], [j[3] for j in judgements]),
        classes=classes,
        confusion=confusion,
        reviewers=dict(reviewers),
        pairs=pairs,
    )
