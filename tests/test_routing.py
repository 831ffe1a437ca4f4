"""Thresholds, decisions and calibration on synthetic scores (no model needed)."""

import numpy as np
import pytest

from trust_tagger.model.calibration import ece, fit_calibration, fit_platt, logit, sigmoid
from trust_tagger.routing import (
    Thresholds,
    choose_core_thresholds,
    choose_label_thresholds,
    choose_relevance_thresholds,
    f1_at_cuts,
    is_adjacent,
    present_macro_f1,
    prior_weight,
    route,
    weighted_rates,
)


def _synthetic(n=3000, pi=0.31, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < pi
    z = np.where(y, rng.normal(2.0, 1.2, n), rng.normal(-2.0, 1.2, n))
    return sigmoid(z), y


def test_thresholds_meet_targets_at_feed_prior():
    p, y = _synthetic()
    acc, rej, info = choose_relevance_thresholds(p, y, precision=0.95, npv=0.99, feed_prior=0.175)
    assert rej < acc
    w = prior_weight(y.mean(), 0.175)
    rates = weighted_rates(p, y, acc, rej, w)
    assert rates["precision"] >= 0.95 and rates["npv"] >= 0.99
    assert rates["auto_share"] > 0.5
    # Held-out sample from the same distribution: the targets hold up to sampling noise.
    p2, y2 = _synthetic(seed=1)
    r2 = weighted_rates(p2, y2, acc, rej, prior_weight(y2.mean(), 0.175))
    assert r2["precision"] >= 0.93 and r2["npv"] >= 0.98


def test_prior_shift_makes_accepting_stricter():
    p, y = _synthetic()
    acc_same, _, _ = choose_relevance_thresholds(p, y, feed_prior=y.mean())
    acc_feed, _, _ = choose_relevance_thresholds(p, y, feed_prior=0.15)
    assert acc_feed >= acc_same
    assert prior_weight(0.31, 0.175) > 2


def test_unreachable_target_accepts_nothing():
    rng = np.random.default_rng(0)
    p, y = rng.random(500), rng.random(500) < 0.3  # scores carry no information
    acc, rej, info = choose_relevance_thresholds(p, y)
    assert info["accept_share"] < 0.02 and info["reject_share"] < 0.02


def test_decide_needs_a_subcategory_to_accept():
    th = Thresholds(accept=0.9, reject=0.1, subcategories={"safety/jailbreak": 0.5})
    pred = {"relevance": 0.97, "subcategories": {"safety/jailbreak": 0.8}}
    assert route(pred, th) == "accept"
    assert route({**pred, "subcategories": {"safety/jailbreak": 0.2}}, th) == "review"
    assert route({**pred, "relevance": 0.5}, th) == "review"
    assert route({**pred, "relevance": 0.05}, th) == "reject"


def test_label_thresholds_and_calibration():
    rng = np.random.default_rng(0)
    Y = (rng.random((400, 2)) < 0.3).astype(int)
    P = np.clip(Y * 0.6 + rng.random((400, 2)) * 0.4, 0, 1)
    th = choose_label_thresholds(P, Y, ["a", "b"])
    assert all(0.2 <= t <= 0.8 for t in th.values())
    # Overconfident logits: Platt scaling brings ECE down.
    p, y = _synthetic()
    z = logit(p) * 3 + 1
    a, b = fit_platt(z, y)
    assert ece(sigmoid(a * z + b), y) < ece(sigmoid(z), y)
    cal = fit_calibration(z, y, z[:, None], y[:, None], z[:, None], y[:, None])
    assert cal.ece_after["relevance"] < cal.ece_before["relevance"]


# -- the core policy ---------------------------------------------------------------------------------
def test_core_thresholds_meet_precision_and_miss_no_core_paper():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(30, bool), np.zeros(470, bool)]
    p = np.r_[rng.uniform(0.3, 1.0, 30), rng.uniform(0.0, 0.6, 470)]
    acc, rej, info = choose_core_thresholds(p, y, precision=0.9, max_missed=0.01)
    assert y[p >= acc].mean() >= 0.9 and info["precision"] >= 0.9
    assert not (y & (p <= rej)).any() and rej < p[y].min()  # 1 % of 30 core papers is none
    assert 0 < info["auto_share"] < 1


def test_core_thresholds_without_core_papers_decide_nothing():
    acc, rej, info = choose_core_thresholds(np.array([0.1, 0.9]), np.array([False, False]))
    assert acc > 1 and rej < 0 and info["auto_share"] == 0.0


def test_route_under_core_policy_uses_the_core_score_and_flags_adjacent_papers():
    th = Thresholds(accept=0.9, reject=0.1, core_accept=0.7, core_reject=0.2,
                    subcategories={"safety/deepfake": 0.5})
    adjacent = {"relevance": 0.97, "core": 0.05, "subcategories": {"safety/deepfake": 0.9}}
    core = {"relevance": 0.97, "core": 0.9, "subcategories": {"safety/deepfake": 0.9}}
    assert route(adjacent, th, "relevant") == "accept"  # today's behaviour stays available
    assert route(adjacent, th, "core") == "reject"
    assert route(core, th, "core") == "accept"
    assert route({**core, "core": 0.5}, th, "core") == "review"
    assert is_adjacent(adjacent) and not is_adjacent(core)
    assert not is_adjacent({**adjacent, "relevance": 0.2})
    assert is_adjacent({"relevance": 0.9, "relevance_class": 1}) and not is_adjacent({"relevance": 0.9,
                                                                                      "relevance_class": 2})


def test_a_model_without_core_thresholds_refuses_the_core_policy_clearly():
    with pytest.raises(ValueError, match="merge_policy"):
        route({"relevance": 0.5, "core": 0.5}, Thresholds(), "core")
    with pytest.raises(ValueError, match="unknown merge_policy"):
        route({"relevance": 0.5, "core": 0.5}, Thresholds(), "everything")


def test_f1_at_cuts_and_present_macro_f1_match_sklearn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    cuts = np.round(np.arange(0.2, 0.8 + 1e-9, 0.05), 2)
    for n_pos in (0, 1, 7, 40):
        y = np.zeros(40, int)
        y[rng.choice(40, n_pos, replace=False)] = 1
        p = rng.random(40) * np.where(y, 1.0, 0.7)
        want = [f1_score(y, (p >= t).astype(int), zero_division=0) for t in cuts]
        np.testing.assert_allclose(f1_at_cuts(p, y, cuts), want)
    Y = (rng.random((50, 6)) > 0.8).astype(int)
    Y[:, 2] = 0  # absent label: left out of the average
    P = (rng.random((50, 6)) > 0.7).astype(int)
    want = f1_score(Y[:, [0, 1, 3, 4, 5]], P[:, [0, 1, 3, 4, 5]], average="macro", zero_division=0)
    assert present_macro_f1(Y, P) == pytest.approx(want)
    assert np.isnan(present_macro_f1(np.zeros((5, 2), int), P[:5, :2]))
