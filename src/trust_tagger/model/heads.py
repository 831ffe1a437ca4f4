"""Linear heads on fixed features, and the one calibration + threshold path every model goes through.

``FeatureLR`` (one logistic regression per head) is the linear probe the fine-tuned heads start from
and the body of both linear baselines. :func:`calibrate` fits Platt/temperature calibration and the
routing thresholds on validation for the tagger *and* for the baselines in the benchmark, so the
benchmark's routing figures come from exactly the procedure that ships.
"""

from __future__ import annotations

import numpy as np

from trust_tagger.model.calibration import Calibration, fit_calibration, logit
from trust_tagger.model.contracts import RawScores, Scores
from trust_tagger.routing import (
    DEFAULT_FEED_PRIOR,
    Thresholds,
    choose_core_thresholds,
    choose_label_thresholds,
    choose_relevance_thresholds,
)
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


def raw_from_scores(s: Scores) -> RawScores:
    """Logits of a probability model's outputs, so a baseline can be calibrated like the tagger."""
    return RawScores(logit(s.relevance), np.log(np.clip(s.relevance_class, 1e-6, 1.0)), logit(s.categories),
                     logit(s.subcategories))


def calibrated_scores(cal: Calibration, raw: RawScores) -> Scores:
    """Calibrated probabilities; the 0/1/2 class is kept consistent with P(rel>=1): P(1) and P(2) split
    p by the class head's 1-vs-2 odds."""
    p = cal.relevance(raw.relevance)
    q = cal.relevance_class(raw.relevance_class[:, 1:])
    cls = np.column_stack([1 - p, p * q[:, 0], p * q[:, 1]])
    return Scores(p, cls, cal.categories(raw.categories), cal.subcategories(raw.subcategories))


def calibrate(raw: RawScores, validation, precision_target: float = 0.95, npv_target: float = 0.99,
              feed_prior: float = DEFAULT_FEED_PRIOR) -> tuple[Calibration, Thresholds]:
    """Calibration and routing thresholds fitted on validation logits (``raw``) and labels."""
    rel, cls, exact, cats, subs = label_matrix(validation)
    pos = rel > 0
    ex = exact & pos
    cal = fit_calibration(raw.relevance, rel, raw.categories[pos], cats[pos], raw.subcategories[pos], subs[pos],
                          raw.relevance_class[ex][:, 1:], cls[ex] - 1)
    s = calibrated_scores(cal, raw)
    acc, rej, info = choose_relevance_thresholds(s.relevance, rel, precision_target, npv_target, feed_prior)
    known = exact | (rel == 0)  # list-derived labels say relevant, not which class
    core_acc, core_rej, core_info = choose_core_thresholds(s.core[known], cls[known] == 2)
    thresholds = Thresholds(
        accept=acc, reject=rej, core_accept=core_acc, core_reject=core_rej, core_validation=core_info,
        categories=choose_label_thresholds(s.categories[pos], cats[pos], CATEGORIES),
        subcategories=choose_label_thresholds(s.subcategories[pos], subs[pos], SUBCATEGORIES),
        precision_target=precision_target, npv_target=npv_target, feed_prior=feed_prior, validation=info)
    return cal, thresholds
