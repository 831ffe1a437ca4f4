"""The screening baseline: ASReview's default recipe (tf-idf features, naive Bayes, max-relevance
sampling), retrained after every label, on the same papers and the same prior labels as the loop.

ASReview screens a fixed pool; a living list gets its pool a week at a time. Both are run:
``weekly_budget`` None screens the whole window's pool from the first day (ASReview's own setting,
with hindsight: it may pick a May paper in February), an integer screens that many of the papers
arrived so far each week (what a maintainer with the loop's budget could do with this tool instead),
and then, after the last week, the rest in the model's order, so every run ends at recall 1 and
WSS is defined. Class balance: ASReview's default "double" balance resamples the training set;
here each class gets equal total weight (``sample_weight``), which is its first-order effect.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trust_tagger.model.encoder import record_text
from trust_tagger.simulate.metrics import Screened

NB_ALPHA = 3.822  # ASReview's default for its naive Bayes classifier


def _classifier(kind: str):
    if kind == "nb":
        from sklearn.naive_bayes import MultinomialNB

        return MultinomialNB(alpha=NB_ALPHA)
    if kind == "lr":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1.0, max_iter=1000)
    raise ValueError(f"unknown baseline classifier {kind!r}; use nb or lr")


def _balanced(y: np.ndarray) -> np.ndarray:
    pos = max(int(y.sum()), 1)
    neg = max(int(len(y) - y.sum()), 1)
    return np.where(y, len(y) / (2 * pos), len(y) / (2 * neg))


def active_learning(pool: Sequence[dict], targets: Sequence[bool], prior: Sequence[dict],
                    prior_targets: Sequence[bool], *, arrival: Sequence[int] | None = None,
                    weekly_budget: int | None = None, classifier: str = "nb", tail_step: int = 5) -> list[Screened]:
    """The screening log of the baseline (every pool paper once, in the order it was screened).

    ``pool``: records with ``key``, ``title``, ``abstract``; ``targets``: what counts as found (core
    papers under merge_policy=core); ``prior``/``prior_targets``: the labels that existed before the
    window (what the loop's start model was trained on); ``arrival``: each pool paper's week index.
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(pool)
    if n == 0:
        return []
    y_pool = np.asarray(targets, dtype=bool)
    y_prior = np.asarray(prior_targets, dtype=bool)
    texts = [record_text(r) for r in prior] + [record_text(r) for r in pool]
    X = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts)  # unsupervised: all texts
    X_prior, X_pool = X[:len(prior)], X[len(prior):]
    arrival = np.zeros(n, dtype=int) if arrival is None or weekly_budget is None else np.asarray(arrival)
    screened = np.zeros(n, dtype=bool)
    log: list[Screened] = []

    def screen(available: np.ndarray, count: int, how: str, step: int) -> None:
        done = 0
        while done < count:
            idx = np.flatnonzero(available & ~screened)
            if len(idx) == 0:
                return
            train = np.flatnonzero(screened)
            Xt = sp.vstack([X_prior, X_pool[train]]) if len(train) else X_prior
            yt = np.concatenate([y_prior, y_pool[train]])
            if yt.any() and not yt.all():
                model = _classifier(classifier).fit(Xt, yt, sample_weight=_balanced(yt))
                scores = model.predict_proba(X_pool[idx])[:, 1]
            else:  # one class only: nothing to rank by yet, take the pool in its order
                scores = np.zeros(len(idx))
            take = idx[np.argsort(-scores, kind="stable")[:min(step, count - done)]]
            for i in take:
                screened[i] = True
                log.append(Screened(str(pool[i]["key"]), 1, bool(y_pool[i]), how))
            done += len(take)

    if weekly_budget is None:
        screen(np.ones(n, dtype=bool), n, "review", 1)
    else:
        for week in range(int(arrival.max()) + 1):
            screen(arrival <= week, weekly_budget, "review", 1)
        screen(np.ones(n, dtype=bool), n, "tail", tail_step)
    return log
