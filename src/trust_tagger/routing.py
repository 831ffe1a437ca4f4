"""Which papers the tool files on its own, which it drops, and which a maintainer must see.

Thresholds are chosen on validation so that auto-accepted papers reach precision >= 0.95 and
auto-rejected papers reach NPV >= 0.99 *at the prior of a real feed*. The labeled set holds ~31%
relevant papers, a nightly feed 15-20%: at the lower feed prior every false positive weighs more
and every false negative less, so negatives are reweighted by
``w = ((1 - pi_feed) / pi_feed) / ((1 - pi_val) / pi_val)`` before precision and NPV are computed.
An accepted paper must also name at least one subcategory to be filed under, else it goes to review.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

ACCEPT, REVIEW, REJECT = "accept", "review", "reject"
POLICIES = ("core", "relevant")  # merge only core papers (relevance 2, the list's taste), or every relevant one
DEFAULT_FEED_PRIOR = 0.175


def prior_weight(pi_sample: float, pi_feed: float) -> float:
    """Weight of a negative so a sample with positive rate pi_sample looks like one with pi_feed."""
    pi_sample = min(max(pi_sample, 1e-6), 1 - 1e-6)
    return ((1 - pi_feed) / pi_feed) / ((1 - pi_sample) / pi_sample)


def weighted_rates(p: np.ndarray, y: np.ndarray, accept_t: float, reject_t: float, w_neg: float) -> dict:
    """Precision of accepts, NPV of rejects and share auto-decided, negatives weighted by w_neg."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y).astype(bool)
    w = np.where(y, 1.0, w_neg)
    acc = p >= accept_t
    rej = p <= reject_t
    tp, fp = w[acc & y].sum(), w[acc & ~y].sum()
    tn, fn = w[rej & ~y].sum(), w[rej & y].sum()
    return {
        "precision": float(tp / (tp + fp)) if tp + fp > 0 else float("nan"),
        "npv": float(tn / (tn + fn)) if tn + fn > 0 else float("nan"),
        "accept_share": float(w[acc].sum() / w.sum()),
        "reject_share": float(w[rej].sum() / w.sum()),
        "auto_share": float(w[acc | rej].sum() / w.sum()),
    }


def choose_relevance_thresholds(p: np.ndarray, y: np.ndarray, precision: float = 0.95, npv: float = 0.99,
                                feed_prior: float = DEFAULT_FEED_PRIOR, min_accept: float = 0.5,
                                max_reject: float = 0.5, min_region: int = 10) -> tuple[float, float, dict]:
    """(accept_t, reject_t, info) from validation scores at the feed prior.

    accept_t: the lowest threshold (>= min_accept) whose whole accept region {p >= t} has feed-weighted
    precision >= target; reject_t: the highest (<= max_reject) whose reject region {p <= t} has
    feed-weighted NPV >= target. The criterion is on the cumulative region, not on every sub-region,
    so one mislabeled paper at an extreme cannot switch auto-decisions off; regions under
    ``min_region`` papers are too small to judge. Nothing is auto-decided when no threshold reaches
    the target.
    """
    p = np.asarray(p, dtype=float)
    y = np.asarray(y).astype(bool)
    w_neg = prior_weight(y.mean() if len(y) else 0.5, feed_prior)
    w = np.where(y, 1.0, w_neg)
    cands = np.unique(p)

    def scan(order, select, good, limit_ok):
        best = None
        for t in order:
            if not limit_ok(t):
                break
            sel = select(t)
            if sel.sum() >= min_region and good(sel):
                best = float(t)
        return best

    def prec_ok(sel):
        tp, fp = w[sel & y].sum(), w[sel & ~y].sum()
        return tp + fp > 0 and tp / (tp + fp) >= precision

    def npv_ok(sel):
        tn, fn = w[sel & ~y].sum(), w[sel & y].sum()
        return tn + fn > 0 and tn / (tn + fn) >= npv

    acc = scan(sorted(cands, reverse=True), lambda t: p >= t, prec_ok, lambda t: t >= min_accept)
    rej = scan(sorted(cands), lambda t: p <= t, npv_ok, lambda t: t <= max_reject)
    accept_t = acc if acc is not None else 1.0 + 1e-9  # accept nothing
    reject_t = rej if rej is not None else -1e-9  # reject nothing
    if reject_t >= accept_t:
        reject_t = min(reject_t, accept_t - 1e-6)
    info = weighted_rates(p, y, accept_t, reject_t, w_neg)
    info.update({"w_neg": w_neg, "feed_prior": feed_prior, "sample_prior": float(y.mean()) if len(y) else None})
    return accept_t, reject_t, info


def choose_core_thresholds(p: np.ndarray, y: np.ndarray, precision: float = 0.90, max_missed: float = 0.01,
                           min_accept: float = 0.5, max_reject: float = 0.5, min_region: int = 5
                           ) -> tuple[float, float, dict]:
    """(accept_t, reject_t, info) on P(core) for the ``core`` policy, on natural-prior validation.

    Chosen where the maintainers' taste is measured: the dense temporal validation month (every feed
    paper labeled), so no prior reweighting. accept_t: the lowest cut whose accept region has
    precision >= ``precision`` (a false merge is a line a maintainer must delete); reject_t: the
    highest cut that auto-rejects at most ``max_missed`` of the core papers (a missed core paper is a
    paper the list never gets). With ~30 core papers a month, 1 % means none: the reject cut stays
    below the lowest-scored core paper of validation. Without a core paper in validation nothing is
    auto-decided (every paper goes to review): no evidence, no automatic merge.
    """
    p = np.asarray(p, dtype=float)
    y = np.asarray(y).astype(bool)
    if not y.any():
        return 1.0 + 1e-9, -1e-9, {"n": int(len(y)), "n_core": 0, "auto_share": 0.0}
    cands = np.unique(p)
    accept_t = 1.0 + 1e-9
    for t in sorted(cands, reverse=True):
        if t < min_accept:
            break
        sel = p >= t
        if sel.sum() >= min_region and y[sel].mean() >= precision:
            accept_t = float(t)
    allowed = int(np.floor(max_missed * y.sum()))
    reject_t = -1e-9
    for t in sorted(cands):
        if t > max_reject or (y & (p <= t)).sum() > allowed:
            break
        reject_t = float(t)
    if reject_t >= accept_t:
        reject_t = accept_t - 1e-6
    acc, rej = p >= accept_t, p <= reject_t
    info = {"n": int(len(y)), "n_core": int(y.sum()),
            "precision": float(y[acc].mean()) if acc.any() else float("nan"),
            "core_missed": float((y & rej).sum() / y.sum()), "accept_share": float(acc.mean()),
            "reject_share": float(rej.mean()), "auto_share": float((acc | rej).mean())}
    return accept_t, reject_t, info


def present_macro_f1(Y: np.ndarray, P: np.ndarray) -> float:
    """Macro-F1 over the labels with a positive in ``Y`` (nan if none): a label absent from a small
    set would add a meaningless 0 or 1."""
    present = np.where(np.asarray(Y).sum(0) > 0)[0]
    if len(present) == 0:
        return float("nan")
    return float(np.mean([f1_at_cuts(P[:, j], Y[:, j], np.array([0.5]))[0] for j in present]))


def f1_at_cuts(p: np.ndarray, y: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """F1 of ``p >= cut`` against 0/1 ``y`` at each cut (0 where nothing is predicted or true), as
    sklearn's ``f1_score(..., zero_division=0)`` gives it: one array pass instead of ~3 ms of input
    checks a call, which made the keyword-share search (5 shares x 13 cuts x 23 labels, at every
    calibration) cost ~3 s on 2 loaded cores."""
    pred = np.asarray(p)[None, :] >= np.asarray(cuts)[:, None]
    y = np.asarray(y).astype(bool)[None, :]
    tp = (pred & y).sum(1)
    denom = pred.sum(1) + y.sum(1)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def choose_label_thresholds(P: np.ndarray, Y: np.ndarray, names, lo: float = 0.2, hi: float = 0.8) -> dict[str, float]:
    """Per label, the F1-best threshold on validation (relevant papers), clipped to [lo, hi]; 0.5 when
    the label has no validation positives. Clipping keeps a 4-positive label from an absurd cut."""
    out = {}
    grid = np.round(np.arange(lo, hi + 1e-9, 0.05), 2)
    for j, name in enumerate(names):
        y = np.asarray(Y[:, j]).astype(int)
        if y.sum() == 0:
            out[name] = 0.5
            continue
        f1s = f1_at_cuts(P[:, j], y, grid)
        best = f1s.max()
        # Among equally good cuts take the one nearest 0.5 (least tuned to this sample).
        cands = [t for t, f in zip(grid, f1s) if f >= best - 1e-9]
        out[name] = float(min(cands, key=lambda t: abs(t - 0.5)))
    return out


# How a paper's labels are read off its category (or subcategory) probabilities. ``per_label``: every label
# over its own validation cut (the only rule before 2026-12-02, and what an empty rule means).
# ``top_ratio``: the most likely label, plus every label within ``ratio`` of it.
LABEL_RULES = ("per_label", "top_ratio")
TOP_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def label_mask(P: np.ndarray, names, cuts: Mapping[str, float], rule: Mapping | None = None) -> np.ndarray:
    """Which labels (columns) each paper (row) gets under a model's label rule: the one reading of
    category / subcategory probabilities that the classify contract, the metrics and the review use."""
    P = np.asarray(P, dtype=np.float64).reshape(-1, len(names))
    kind = (rule or {}).get("kind", "per_label")
    if kind == "per_label":
        return P >= np.array([cuts.get(n, 0.5) for n in names])
    if kind == "top_ratio":
        out = P >= float(rule["ratio"]) * P.max(1, keepdims=True)
        out[np.arange(len(P)), P.argmax(1)] = True
        return out if P.size else np.zeros(P.shape, dtype=bool)
    raise ValueError(f"unknown label rule {kind!r}; use one of {', '.join(LABEL_RULES)}")


def fit_label_rule(P: np.ndarray, Y: np.ndarray, names, kind: str) -> tuple[dict[str, float], dict]:
    """(per-label cuts, rule) of one rule kind fitted on validation papers; ``top_ratio`` keeps the ratio
    with the best macro-F1 (ties: the smaller ratio). The cuts are fitted for every kind: filing reads
    the top subcategory's cut whatever the rule (``filed_subcategories``)."""
    cuts = choose_label_thresholds(P, Y, names)
    if kind == "per_label":
        return cuts, {"kind": "per_label"}
    scored = [(present_macro_f1(Y, label_mask(P, names, cuts, {"kind": kind, "ratio": r})), -r, r)
              for r in TOP_RATIOS]
    return cuts, {"kind": kind, "ratio": max(scored)[2]}


def cross_validated_macro_f1(P: np.ndarray, Y: np.ndarray, names, kind: str, folds: int = 5,
                             repeats: int = 10) -> float:
    """Macro-F1 of a rule kind on validation papers it was not fitted on (repeated k-fold, fixed seeds).

    The in-sample figure flatters rules with more parameters. Per-label cuts fitted on the 90 relevant
    papers of the dense 2026-03 validation scored 0.857 there, 0.805 cross-validated, and 0.808 on the
    holdout (categories; the shipped model of 2026-12-02, keyword share 0.3). With fewer than
    ``2 * folds`` papers the in-sample figure is returned."""
    from sklearn.model_selection import KFold

    P, Y = np.asarray(P), np.asarray(Y).astype(int)
    if len(P) < 2 * folds:
        cuts, rule = fit_label_rule(P, Y, names, kind)
        return present_macro_f1(Y, label_mask(P, names, cuts, rule))
    scores = []
    for rep in range(repeats):
        pred = np.zeros(Y.shape, dtype=bool)
        for tr, te in KFold(folds, shuffle=True, random_state=rep).split(P):
            cuts, rule = fit_label_rule(P[tr], Y[tr], names, kind)
            pred[te] = label_mask(P[te], names, cuts, rule)
        scores.append(present_macro_f1(Y, pred.astype(int)))
    return float(np.nanmean(scores))


@dataclass
class Thresholds:
    """Stored with the model (thresholds.json)."""

    accept: float = 0.9
    reject: float = 0.1
    categories: dict = field(default_factory=dict)
    subcategories: dict = field(default_factory=dict)
    precision_target: float = 0.95
    npv_target: float = 0.99
    feed_prior: float = DEFAULT_FEED_PRIOR
    validation: dict = field(default_factory=dict)  # what the choice achieved on validation
    # The core policy's cut on P(relevance = 2); None in models trained before the core score existed.
    core_accept: float | None = None
    core_reject: float | None = None
    core_validation: dict = field(default_factory=dict)
    # How labels are read off the probabilities (``label_mask``); empty = per-label cuts (older models).
    category_rule: dict = field(default_factory=dict)
    subcategory_rule: dict = field(default_factory=dict)

    def pair(self, policy: str = "relevant") -> tuple[float, float]:
        """(reject, accept) cut of the score the policy routes on."""
        if policy == "core":
            if self.core_accept is None or self.core_reject is None:
                raise ValueError("this model has no core thresholds (trained before merge_policy=core existed); "
                                 "retrain it or set merge_policy = \"relevant\"")
            return self.core_reject, self.core_accept
        return self.reject, self.accept

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Thresholds":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def filed_subcategories(pred: Mapping, thresholds: Thresholds) -> list[str]:
    """The list file an accepted paper goes to: its most likely subcategory, if that clears its threshold.

    One file, not every subcategory over its threshold: top-1 matched a labeled subcategory for 94 % /
    97 % of core papers (temporal validation / holdout), and a second thresholded file was wrong more
    often than right (GRM, a jailbreak attack, went to safety/defense.md that way).
    """
    subs = pred.get("subcategories") or {}
    if not subs:
        return []
    best = max(sorted(subs), key=lambda s: subs[s])
    return [best] if subs[best] >= thresholds.subcategories.get(best, 0.5) else []


def filed_mask(sub_probs: np.ndarray, names, thresholds: Thresholds) -> np.ndarray:
    """:func:`filed_subcategories` for a matrix of subcategory probabilities (rows = papers)."""
    sub_probs = np.asarray(sub_probs)
    out = np.zeros(sub_probs.shape, dtype=bool)
    if sub_probs.size == 0:
        return out
    best = sub_probs.argmax(1)
    cut = np.array([thresholds.subcategories.get(n, 0.5) for n in names])
    rows = np.arange(len(best))
    out[rows, best] = sub_probs[rows, best] >= cut[best]
    return out


def policy_score(pred: Mapping, policy: str = "relevant") -> float:
    """The probability a policy routes on: P(relevance = 2) under ``core``, P(relevance >= 1) else."""
    if policy not in POLICIES:
        raise ValueError(f"unknown merge_policy {policy!r}; use one of {', '.join(POLICIES)}")
    return float(pred["core"] if policy == "core" else pred["relevance"])


def route(pred: Mapping, thresholds: Thresholds | None = None, policy: str = "relevant") -> str:
    """"accept" | "review" | "reject" for one prediction dict (the classify output contract).

    Accept needs the policy's score >= its accept threshold *and* a subcategory to file the paper
    under. Under ``core`` a relevant paper that is confidently not core is rejected from the merge
    (it is "adjacent": the digest and the review page list it, see :func:`is_adjacent`).
    """
    th = thresholds or Thresholds()
    lo, hi = th.pair(policy)
    p = policy_score(pred, policy)
    if p <= lo:
        return REJECT
    if p >= hi and filed_subcategories(pred, th):
        return ACCEPT
    return REVIEW


def is_adjacent(pred: Mapping) -> bool:
    """Relevant but not core: likely relevant (>= 0.5) and unlikely core (< 0.5); what ``core`` leaves
    off the list on purpose (the digest and the review page's adjacent view show it, a maintainer may
    promote it). Predictions without a core score (models before v2) are judged by their class (1)."""
    if not pred:
        return False
    if pred.get("core") is not None:
        return float(pred.get("relevance", 0.0)) >= 0.5 and float(pred["core"]) < 0.5
    return pred.get("relevance_class") == 1


# -- priority -------------------------------------------------------------------------------------
def threshold_pair(thresholds: Any) -> tuple[float, float]:
    """(reject, accept) thresholds from a pair, a mapping or an object (a model's ``Thresholds``)."""
    if isinstance(thresholds, Mapping):
        lo, hi = thresholds.get("reject"), thresholds.get("accept")
    elif isinstance(thresholds, (tuple, list)):
        lo, hi = thresholds
    else:
        lo, hi = getattr(thresholds, "reject", None), getattr(thresholds, "accept", None)
    if lo is None or hi is None:
        raise TypeError(f"cannot read reject/accept thresholds from {thresholds!r}")
    lo, hi = float(lo), float(hi)
    return (lo, hi) if lo <= hi else (hi, lo)


def review_priority(prediction: Mapping[str, Any], thresholds: Any, policy: str = "relevant") -> float:
    """Queue priority in [0, 1]: closeness to a routing threshold, weighted by the policy's score.

    Near a threshold the automatic decision almost went the other way, so that is where a human label
    changes an outcome and teaches the next model most. Weighting by relevance spends a maintainer's few
    minutes on papers likely to end up on the list first: a borderline-accept paper comes before a
    coin-flip, which comes before a borderline-reject (the random share in :func:`order_queue` keeps
    the low end from starving). ``thresholds``: a model's :class:`Thresholds` (read for ``policy``),
    or (reject, accept), a mapping with ``reject``/``accept`` keys, or an object with those attributes.
    """
    lo, hi = thresholds.pair(policy) if isinstance(thresholds, Thresholds) else threshold_pair(thresholds)
    p = min(max(policy_score({"relevance": 0.0, "core": 0.0, **prediction}, policy), 0.0), 1.0)
    distance = min(abs(p - lo), abs(p - hi))
    scale = max(hi - lo, 1e-6) / 2  # a mid-band paper keeps e^-1 of a borderline one's closeness
    return round(math.exp(-distance / scale) * p, 6)
