"""TODO docstring (model.finetune, from model.py)."""

from __future__ import annotations

import random
from typing import Sequence

import numpy as np

from trust_tagger.model.network import _torch


def _seed_all(seed: int) -> None:
    torch = _torch()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _train_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled, but sorted by length within chunks of 8 batches: little padding, still random."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    chunk = batch_size * 8
    batches = []
    for i in range(0, len(idx), chunk):
        part = sorted(idx[i:i + chunk], key=lambda j: lengths[j])
        batches.extend(part[k:k + batch_size] for k in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def _mean_ap(P: np.ndarray, Y: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    aps = [average_precision_score(Y[:, j], P[:, j]) for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < len(Y)]
    return float(np.mean(aps)) if aps else float("nan")


def _rel_ap(p: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


# -------------------------------------------------------------------- helpers
class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _stage(progress, name, total):
    if progress is None:
        return None
    done = [0]

    def cb(n):
        done[0] += n
        progress(name, done[0], total)

    return cb
