"""The cheap update: refit the heads, the tf-idf member and the calibration on the current encoder.

A full fine-tune costs ~400 s on 2 CPU cores (``benchmarks/RESULTS.md``, retraining). What a week of
review decisions mostly teaches is where the boundaries lie in the encoder's feature space, and a
linear refit on fixed features learns that in seconds: the same linear probe the fine-tune starts
from (LP-FT), fitted on the *fine-tuned* encoder's embeddings, a fresh tf-idf member, and the blend's
calibration and routing thresholds chosen again on validation. The encoder is left as it is, so
its embeddings of papers already seen are reused from an :class:`EmbeddingCache`: a weekly update
embeds only the week's newly labeled papers. ``benchmarks/SIMULATION.md`` measures how much of a
full retrain's gain this captures.

This module works on :class:`~trust_tagger.model.tagger.TrustTagger`'s own steps (the probe
initialisation, member fitting, blend and calibration that ``fit`` runs after fine-tuning), so an
update and a fit cannot drift apart in how they blend, calibrate or choose thresholds.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from collections import OrderedDict

import numpy as np

from trust_tagger.model.contracts import Scores
from trust_tagger.model.encoder import record_text

_FINGERPRINTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def encoder_fingerprint(tagger) -> str:
    """sha256 of the encoder's weights and the token limit: two taggers embed alike iff they match.

    Hashing 22.7M parameters takes ~0.2 s, so the result is remembered per encoder object; whoever
    changes an encoder's weights in place (``fit`` fine-tunes the encoder its probe pass embedded with)
    calls :func:`forget_fingerprint` after.
    """
    encoder = tagger.net.encoder
    fp = _FINGERPRINTS.get(encoder)
    if fp is None:
        h = hashlib.sha256(f"max_length={tagger.config.max_length}".encode())
        for name, tensor in sorted(encoder.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        fp = h.hexdigest()
        _FINGERPRINTS[encoder] = fp
    return fp


def forget_fingerprint(encoder) -> None:
    """Drop the remembered fingerprint of an encoder whose weights changed in place."""
    _FINGERPRINTS.pop(encoder, None)


class EmbeddingCache:
    """Encoder embeddings by (encoder fingerprint, paper text).

    Holds the tables of the ``max_encoders`` most recently used encoders (1.5 KB a paper for
    MiniLM's 384 dimensions: 10,000 papers are 15 MB a table).
    """

    def __init__(self, max_encoders: int = 4):
        self.max_encoders = max_encoders
        self._tables: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _table(self, fingerprint: str) -> dict[str, np.ndarray]:
        table = self._tables.pop(fingerprint, None)
        if table is None:
            table = {}
        self._tables[fingerprint] = table
        while len(self._tables) > self.max_encoders:
            self._tables.popitem(last=False)
        return table

    def embed(self, tagger, records, progress=None) -> np.ndarray:
        """(n, hidden) embeddings in ``records`` order; only papers this encoder never saw are encoded."""
        table = self._table(encoder_fingerprint(tagger))
        texts = [hashlib.sha1(record_text(r).encode("utf-8")).hexdigest() for r in records]
        todo = sorted({t: i for i, t in enumerate(texts) if t not in table}.values())
        if todo:
            _, emb = tagger._net_logits([records[i] for i in todo], progress)
            for i, row in zip(todo, emb):
                table[texts[i]] = row
        self.misses += len(todo)
        self.hits += len(records) - len(todo)
        dim = tagger.net.head.in_features
        return np.stack([table[t] for t in texts]) if texts else np.zeros((0, dim), dtype=np.float32)


# One per process: a long-running loop reuses it week after week (the current encoder's table), and every
# fit reuses the base encoder's table for its linear probe.
DEFAULT_CACHE = EmbeddingCache()


def predict_proba(tagger, records, cache: EmbeddingCache | None = None) -> Scores:
    """``tagger.predict_proba`` with the encoder pass served from the cache."""
    cache = cache or DEFAULT_CACHE
    if not records:
        return tagger.predict_proba(records)
    return tagger.predict_proba(records, embeddings=cache.embed(tagger, records))


def update_heads(tagger, train, validation, cache: EmbeddingCache | None = None,
                 log=lambda s: None):
    """Refit ``tagger`` in place on the current encoder's features and return it.

    Heads: the linear probe on ``train`` embeddings (what LP-FT starts from) replaces the output
    layer, group by group (relevance, categories, subcategories, the two core heads), except where the
    current rows score better on ``validation`` (:func:`_keep_better_groups`). Members: the tf-idf LR
    is refitted on ``train`` and the neighbour index rebuilt from the ``train`` embeddings already at hand
    (a frozen-embedding member, if configured, is kept: refitting it would need the base encoder's pass).
    Blend weights stay fixed when the
    config fixes them, else they are chosen again; calibration and routing thresholds are chosen on
    ``validation`` by the tagger's own path.
    """
    from trust_tagger.model.heads import label_matrix

    t0 = time.perf_counter()
    cache = cache or DEFAULT_CACHE
    before = cache.misses
    X = cache.embed(tagger, list(train) + list(validation))
    X_train, X_val = X[:len(train)], X[len(train):]
    before_head = _head_state(tagger)
    z_before = tagger.head_logits(X_val)
    tagger._init_heads_from_probe(X_train, train)
    kept = _keep_better_groups(tagger, before_head, z_before, tagger.head_logits(X_val), validation)
    tagger._fit_members(train, None, embeddings=X_train)
    parts = tagger._member_logits(validation, embeddings=X_val)
    tagger._set_blend(parts, label_matrix(validation))
    tagger._set_core_blend(parts, validation)
    seconds = round(time.perf_counter() - t0, 2)
    tagger.info["update"] = {"kind": "heads", "from": str(getattr(tagger, "version", "") or ""),
                             "train": len(train), "validation": len(validation),
                             "embedded": cache.misses - before, "seconds": seconds, "kept_heads": kept,
                             "encoder": encoder_fingerprint(tagger)[:16]}
    log(f"heads update: {len(train)} train / {len(validation)} validation papers, "
        f"{cache.misses - before} newly embedded, {seconds:.1f} s"
        + (f"; kept the current {', '.join(kept)} head rows (better on validation)" if kept else ""))
    return tagger


def _head_state(tagger) -> tuple[np.ndarray, np.ndarray]:
    head = tagger.net.head
    return head.weight.detach().cpu().numpy().copy(), head.bias.detach().cpu().numpy().copy()


def _group_scores(z: np.ndarray, validation) -> dict[str, float]:
    """Validation score of each output group of the head, threshold-free (AP; mean AP over labels)."""
    from trust_tagger.model.finetune import _mean_ap, _rel_ap
    from trust_tagger.model.heads import core_targets, label_matrix
    from trust_tagger.model.network import SL_CAT, SL_COND, SL_LARGE, SL_SUB

    rel, _, _, cats, subs = label_matrix(validation)
    core, cond_mask, large, large_mask = core_targets(validation)
    pos = rel > 0
    nan = float("nan")
    out = {"relevance": _rel_ap(z[:, 0], rel),
           "categories": _mean_ap(z[pos][:, SL_CAT], cats[pos]) if pos.any() else nan,
           "subcategories": _mean_ap(z[pos][:, SL_SUB], subs[pos]) if pos.any() else nan}
    if z.shape[1] >= SL_LARGE.stop:
        out["cond"] = _rel_ap(z[cond_mask, SL_COND.start], core[cond_mask]) if cond_mask.any() else nan
        out["large"] = _rel_ap(z[large_mask, SL_LARGE.start], large[large_mask]) if large_mask.any() else nan
    return out


def _keep_better_groups(tagger, before: tuple[np.ndarray, np.ndarray], z_before: np.ndarray,
                        z_probe: np.ndarray, validation) -> list[str]:
    """Put back the rows of each head group whose current weights beat the fresh probe on validation.

    Why: on a *fine-tuned* encoder the current rows were trained end to end with it, and a linear probe
    on a few hundred relevant papers can be much worse. In the 2026-02..05 loop replay every heads
    update after the first monthly full fine-tune was refused by the gate on category macro-F1
    (0.797 vs 0.867, 0.788 vs 0.859, ... 11 of 11): the probe replaced fine-tuned category rows, and the
    loop stayed on one model for 14 weeks. A group the validation split cannot judge (no positives)
    takes the probe, which is what an update is for. Returns the groups kept.
    """
    import torch

    from trust_tagger.model.network import SL_CAT, SL_CLS, SL_COND, SL_LARGE, SL_REL, SL_SUB

    rows = {"relevance": [SL_REL, SL_CLS], "categories": [SL_CAT], "subcategories": [SL_SUB],
            "cond": [SL_COND], "large": [SL_LARGE]}
    old_scores, new_scores = _group_scores(z_before, validation), _group_scores(z_probe, validation)
    head, (W, b) = tagger.net.head, before
    kept = []
    with torch.no_grad():
        for group, slices in rows.items():
            # NaN (a group validation cannot judge, or an older model without it) compares False: probe
            if old_scores.get(group, float("nan")) > new_scores.get(group, float("nan")):
                for sl in slices:
                    head.weight[sl] = torch.from_numpy(W[sl]).to(head.weight)
                    head.bias[sl] = torch.from_numpy(b[sl]).to(head.bias)
                kept.append(group)
    return kept
