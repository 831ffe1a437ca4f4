"""A relevance member that votes with the labeled papers nearest in the fine-tuned net's embedding.

Why: the misses of the blend's relevance ranking are borderline papers whose nearest labeled papers
say what the linear heads do not (benchmarks/experiments/relevance_members.py, notes "Relevance
members"). On the saved benchmark-protocol models of seeds 13 / 14, a 0.2 share of this vote (k = 10,
temperature 0.1) with a 0.3 share of the keyword rules' relevance raised relevance AP on every set at
both seeds: validation 0.911 / 0.904 -> 0.923 / 0.917, temporal holdout 0.910 / 0.901 -> 0.915 / 0.909,
later list papers 0.895 / 0.894 -> 0.922 / 0.912. Since the keyword rules count a hit in the abstract only
as half one in the title, the shares are keywords 0.5 + this vote 0.1 (``TrainConfig.relevance_shares``);
without the vote, validation was 0.001 higher and the frozen test and later papers 0.002-0.015 lower.
The vote needs no training of its own: the index is the training papers' embeddings (float16, 768 bytes
a paper: `member_neighbours.pkl` is 988 kB for the 1,248 training papers of `scripts/main.sh`'s model)
and their relevance labels, saved with the model and refreshed whenever the heads are refitted. It
rebuilds its float32 index and key map on each call: 0.6-1.4 ms for 1,248 rows, against seconds for the
net's pass over the same papers, so the pickled state stays as it is.

A paper never votes for itself: a scored paper that is in the index (a training paper scored again, as the
maintainers'-taste check and the loop replays do) has its own row masked by key, so its own label cannot
leak into its score.
"""

from __future__ import annotations

import numpy as np

from trust_tagger.ids import paper_key


def record_key(rec) -> str | None:
    """The paper's key (``Example.key``, else from its arXiv id / title); None if it has neither."""
    get = rec.get if isinstance(rec, dict) else (lambda name: getattr(rec, name, None))
    key = get("key")
    if key:
        return str(key)
    try:
        return paper_key(get("arxiv_id") or get("id") or get("link"), str(get("title") or ""))
    except ValueError:
        return None


class NeighbourVote:
    """sklearn-like: ``fit(embeddings, relevant, keys)``, ``predict_proba(embeddings, keys) -> P(relevant)``.

    The vote is the softmax(cosine / ``temperature``)-weighted share of relevant papers among the ``k``
    nearest index rows, clipped to [``clip``, 1 - ``clip``] so that as a logit it cannot outvote the other
    members on its own (logit(0.98) = 3.9).
    """

    def __init__(self, k: int = 10, temperature: float = 0.1, clip: float = 0.02, chunk: int = 1024):
        self.k = k
        self.temperature = temperature
        self.clip = clip
        self.chunk = chunk  # rows scored at once: bounds the similarity matrix to chunk x index floats

    def fit(self, embeddings: np.ndarray, relevant, keys=None) -> "NeighbourVote":
        E = np.asarray(embeddings, dtype=np.float32)
        if E.ndim != 2 or len(E) != len(relevant):
            raise ValueError(f"embeddings {E.shape} do not match {len(relevant)} labels")
        norms = np.linalg.norm(E, axis=1, keepdims=True)
        self.index_ = (E / np.maximum(norms, 1e-12)).astype(np.float16)
        self.relevant_ = np.asarray(relevant, dtype=np.float32).reshape(-1)
        self.keys_ = np.array([str(k) for k in keys], dtype=object) if keys is not None else None
        return self

    def predict_proba(self, embeddings: np.ndarray, keys=None) -> np.ndarray:
        E = np.asarray(embeddings, dtype=np.float32)
        E = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
        n_index = len(self.relevant_)
        out = np.full(len(E), 0.5, dtype=np.float64)
        if n_index == 0 or len(E) == 0:
            return out
        index = self.index_.astype(np.float32)
        where = {} if self.keys_ is None else {k: i for i, k in enumerate(self.keys_)}
        k = min(self.k, n_index)
        for start in range(0, len(E), self.chunk):
            S = E[start:start + self.chunk] @ index.T
            if keys is not None and where:
                for row, key in enumerate(keys[start:start + self.chunk]):
                    j = where.get(key)
                    if j is not None:
                        S[row, j] = -np.inf  # a paper does not vote for itself
            idx = np.argpartition(-S, k - 1, axis=1)[:, :k]
            top = np.take_along_axis(S, idx, 1)
            w = np.exp((top - top.max(1, keepdims=True)) / self.temperature)
            w[~np.isfinite(top)] = 0.0
            total = w.sum(1)
            vote = (w * self.relevant_[idx]).sum(1) / np.where(total > 0, total, 1.0)
            out[start:start + len(S)] = np.where(total > 0, vote, 0.5)
        return np.clip(out, self.clip, 1 - self.clip)
