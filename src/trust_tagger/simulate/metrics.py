"""Screening figures in ASReview's terms: recall against papers a human reviewed, and work saved over
sampling (WSS) at a recall level.

A replay is summarised as a *screening log*: every paper the process surfaced, in the order it was
surfaced, with what it cost a human. A reviewed paper costs 1; a paper the loop merged on its own
costs 0 (that is the loop's promise; its false merges are counted separately, as lines a
maintainer must delete). Recall after k reviews is the share of target papers surfaced by then.

WSS@r = (N - k_r) / N - (1 - r), where k_r is the number of papers a human reviewed when recall
first reached r and N is the number of papers screened against: random screening needs r·N papers
for recall r, so WSS is the share of N the process spares beyond that (ASReview's definition;
1 - r - k_r/N).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Screened:
    """One surfaced paper: its key, what it cost a human (1 reviewed, 0 merged unseen), whether it is
    a target, and where it came from (``review``, ``merge``, ``tail``: screened after the replay)."""

    key: str
    cost: int
    target: bool
    how: str = "review"


def recall_curve(log: Sequence[Screened], n_targets: int) -> tuple[np.ndarray, np.ndarray]:
    """(papers reviewed, recall) after each entry of the log, starting at (0, 0)."""
    x, y = [0], [0.0]
    reviewed = found = 0
    for item in log:
        reviewed += item.cost
        found += item.target
        x.append(reviewed)
        y.append(found / n_targets if n_targets else float("nan"))
    return np.array(x), np.array(y)


def reviews_to_recall(log: Sequence[Screened], n_targets: int, recall: float) -> int | None:
    """Papers reviewed when recall first reaches ``recall`` (ceil(recall·n) targets); None if never."""
    if n_targets <= 0:
        return None
    need = math.ceil(recall * n_targets - 1e-9)
    reviewed = found = 0
    if need <= 0:
        return 0
    for item in log:
        reviewed += item.cost
        found += item.target
        if found >= need:
            return reviewed
    return None


def wss(log: Sequence[Screened], n_targets: int, n_total: int, recall: float = 0.95) -> float | None:
    """Work saved over sampling at ``recall``: (N - k_r) / N - (1 - recall); None if never reached."""
    k = reviews_to_recall(log, n_targets, recall)
    if k is None or n_total <= 0:
        return None
    return (n_total - k) / n_total - (1 - recall)


def recall_at(log: Sequence[Screened], n_targets: int, reviews: int) -> float:
    """Recall once ``reviews`` papers were reviewed (every free merge up to the next review included)."""
    found = reviewed = 0
    for item in log:
        if reviewed + item.cost > reviews:
            break
        reviewed += item.cost
        found += item.target
    return found / n_targets if n_targets else float("nan")


def average_precision(scores: Iterable[float], targets: Iterable[bool]) -> float:
    """AP of a score against binary targets; NaN when the targets are all one class (undefined)."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(list(targets), dtype=bool)
    s = np.asarray(list(scores), dtype=float)
    if len(y) == 0 or y.all() or not y.any():
        return float("nan")
    return float(average_precision_score(y, s))
