"""TODO docstring (model.contracts, from baselines.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scores:
    """Per-paper probabilities; categories and subcategories are conditional on relevance."""

    relevance: np.ndarray  # (n,)
    relevance_class: np.ndarray  # (n, 3)
    categories: np.ndarray  # (n, len(CATEGORIES))
    subcategories: np.ndarray  # (n, len(SUBCATEGORIES))

    def __len__(self) -> int:
        return len(self.relevance)

    def take(self, idx) -> "Scores":
        return Scores(self.relevance[idx], self.relevance_class[idx], self.categories[idx], self.subcategories[idx])


@dataclass
class RawScores:
    """Blended, uncalibrated logits per head."""

    relevance: np.ndarray
    relevance_class: np.ndarray
    categories: np.ndarray
    subcategories: np.ndarray
