"""TODO docstring (model.heads, from baselines.py)."""

from __future__ import annotations

import numpy as np

from trust_tagger.model.contracts import Scores
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES


def label_matrix(examples) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(relevant, relevance class, class-known mask, category matrix, subcategory matrix)."""
    rel = np.array([e.relevance >= 1 for e in examples], dtype=np.float32)
    cls = np.array([e.relevance for e in examples], dtype=np.int64)
    exact = np.array([e.relevance_exact for e in examples], dtype=bool)
    cats = np.array([[c in e.categories for c in CATEGORIES] for e in examples], dtype=np.float32).reshape(-1, len(CATEGORIES))
    subs = np.array([[s in e.subcategories for s in SUBCATEGORIES] for e in examples],
                    dtype=np.float32).reshape(-1, len(SUBCATEGORIES))
    return rel, cls, exact, cats, subs


class _Constant:
    """Stand-in for a label with a single class in training: predicts its training rate."""

    def __init__(self, p: float):
        self.p = p

    def predict_proba(self, X):
        n = X.shape[0]
        return np.column_stack([np.full(n, 1 - self.p), np.full(n, self.p)])


class FeatureLR:
    """One logistic regression per head on a fixed feature matrix (the shared part of both baselines)."""

    def __init__(self, C: float = 1.0, balanced: bool = True, label_C: float | None = None):
        self.C = C
        self.label_C = label_C or C  # categories/subcategories: few positives, measured to want weaker L2
        self.balanced = balanced

    def _lr(self, X, y, C=None):
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y)
        if len(np.unique(y)) < 2:
            return _Constant(float(y.mean()) if len(y) else 0.0)
        return LogisticRegression(C=C or self.C, max_iter=3000,
                                  class_weight="balanced" if self.balanced else None).fit(X, y)

    def fit_features(self, X, examples) -> "FeatureLR":
        rel, cls, exact, cats, subs = label_matrix(examples)
        self.rel_ = self._lr(X, rel)
        keep = exact
        self.cls_ = self._lr(X[keep], cls[keep]) if keep.any() else None
        pos = rel > 0
        self.cats_ = [self._lr(X[pos], cats[pos, j], self.label_C) for j in range(cats.shape[1])]
        self.subs_ = [self._lr(X[pos], subs[pos, j], self.label_C) for j in range(subs.shape[1])]
        return self

    def scores_from_features(self, X) -> Scores:
        rel = self.rel_.predict_proba(X)[:, 1]
        cls = np.zeros((X.shape[0], 3))
        if self.cls_ is not None and hasattr(self.cls_, "classes_"):
            cls[:, list(self.cls_.classes_)] = self.cls_.predict_proba(X)
        else:
            cls[:, 0] = 1 - rel
            cls[:, 1] = rel
        cats = np.column_stack([m.predict_proba(X)[:, 1] for m in self.cats_])
        subs = np.column_stack([m.predict_proba(X)[:, 1] for m in self.subs_])
        return Scores(rel, cls, cats, subs)
