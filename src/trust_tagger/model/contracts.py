"""The shared contracts of every classifier: :class:`Scores` (calibrated probabilities per head),
:class:`RawScores` (blended logits before calibration) and the :class:`Tagger` protocol that the
fine-tuned tagger and the baselines implement (sklearn-style ``fit`` / ``predict_proba``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass
class Scores:
    """Per-paper probabilities; categories and subcategories are conditional on relevance."""

    relevance: np.ndarray  # (n,) P(relevance >= 1)
    relevance_class: np.ndarray  # (n, 3)
    categories: np.ndarray  # (n, len(CATEGORIES))
    subcategories: np.ndarray  # (n, len(SUBCATEGORIES))
    core: np.ndarray | None = None  # (n,) calibrated P(relevance = 2); default: see __post_init__
    cond: np.ndarray | None = None  # (n,) P(core | relevant): core vs adjacent, from the heads that have it
    large: np.ndarray | None = None  # (n,) P(the paper is about a large audio / speech foundation model)

    def __post_init__(self) -> None:
        if self.core is None:  # uncalibrated: the product of the heads, else the class head's P(2)
            if self.cond is not None and self.large is not None:
                self.core = np.asarray(self.relevance) * np.sqrt(np.asarray(self.cond) * np.asarray(self.large))
            else:
                self.core = np.asarray(self.relevance_class)[:, 2] if len(self.relevance_class) else np.zeros(0)

    def __len__(self) -> int:
        return len(self.relevance)

    def take(self, idx) -> "Scores":
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return Scores(self.relevance[idx], self.relevance_class[idx], self.categories[idx], self.subcategories[idx],
                      self.core[idx], pick(self.cond), pick(self.large))


@dataclass
class RawScores:
    """Blended, uncalibrated logits per head."""

    relevance: np.ndarray
    relevance_class: np.ndarray
    categories: np.ndarray
    subcategories: np.ndarray
    cond: np.ndarray | None = None  # logit of P(core | relevant)
    large: np.ndarray | None = None  # logit of P(large audio model)
    category_hits: np.ndarray | None = None  # 0/1 keyword-rule hits (``baselines.keyword_hits``)
    subcategory_hits: np.ndarray | None = None
    # The relevance logit the core score is built on (heads.raw_core_logit); None = ``relevance``. Apart
    # when the relevance blend has members the core score does not take (``TrainConfig.relevance_shares``).
    core_relevance: np.ndarray | None = None


@runtime_checkable
class Tagger(Protocol):
    """What the nightly, evaluation, the benchmark and the registry need of a classifier.

    ``fit(train, validation)`` learns (validation picks epochs, blend, calibration and thresholds);
    ``predict_proba(records)`` returns calibrated :class:`Scores`; ``thresholds`` are the routing
    thresholds chosen with the model; ``version`` is set by the registry when it loads one.
    """

    thresholds: Any

    def fit(self, train, validation) -> "Tagger": ...

    def predict_proba(self, records, progress=None) -> Scores: ...
