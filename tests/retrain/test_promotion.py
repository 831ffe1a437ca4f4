"""The promotion gate on hand-made metric dicts: every rule refuses on its own, and passes at the edge."""

from trust_tagger.retrain.promotion import GatePolicy, gate


def metrics(ap=0.80, f1=0.60, ece=0.04, **cats) -> dict:
    per = {"safety": (0.70, 20), "security": (0.60, 12), "hallucination": (0.50, 3)}
    per.update(cats)
    return {"relevance_ap": ap, "category_macro_f1": f1, "relevance_ece": ece,
            "per_category": {c: {"f1": f, "support": n} for c, (f, n) in per.items()}}


def test_equal_or_better_candidate_is_promoted_with_every_check_listed():
    decision = gate(metrics(ap=0.85, f1=0.62), metrics())
    assert decision.promote
    assert len(decision.reasons) == 4  # AP, macro-F1, per-category, ECE
    assert decision.figures["relevance_ap"]["delta"] == 0.05
    assert decision.figures["per_category"]["categories"]["safety"]["ok"]


def test_within_tolerance_passes_beyond_it_refuses():
    policy = GatePolicy(ap_tolerance=0.01)
    assert gate(metrics(ap=0.7905), metrics(ap=0.80), policy).promote
    refused = gate(metrics(ap=0.78), metrics(ap=0.80), policy)
    assert not refused.promote
    assert len(refused.reasons) == 1 and refused.reasons[0].startswith("relevance AP")


def test_macro_f1_drop_refuses():
    decision = gate(metrics(f1=0.55), metrics(f1=0.60))
    assert not decision.promote and "macro-F1" in decision.reasons[0]


def test_one_supported_category_dropping_refuses_even_if_averages_hold():
    decision = gate(metrics(security=(0.50, 12)), metrics())
    assert not decision.promote
    assert "security 0.600->0.500" in decision.reasons[0]


def test_category_with_small_support_is_not_judged():
    assert gate(metrics(hallucination=(0.0, 3)), metrics()).promote


def test_ece_bound_and_never_worse_than_a_badly_calibrated_current_model():
    assert not gate(metrics(ece=0.15), metrics(ece=0.04)).promote  # bound 0.12
    assert gate(metrics(ece=0.14), metrics(ece=0.15)).promote  # current sets the bound when it is worse


def test_first_model_needs_only_sanity_bounds():
    assert gate(metrics(ap=0.6, f1=0.3), None).promote
    refused = gate(metrics(ap=0.4, f1=0.3), None)
    assert not refused.promote and refused.figures["first_model"]
    assert "sanity bound" in refused.reasons[0]


def test_missing_candidate_figure_refuses():
    m = metrics()
    del m["relevance_ap"]
    decision = gate(m, metrics())
    assert not decision.promote and "no figure" in decision.reasons[0]


def test_a_one_paper_swing_in_a_small_category_is_noise_a_larger_drop_is_not():
    """Support 7: one flipped paper moved F1 0.857 -> 0.800 in the loop simulation; 1/7 = 0.143 is allowed."""
    assert gate(metrics(fairness=(0.800, 7)), metrics(fairness=(0.857, 7))).promote
    refused = gate(metrics(fairness=(0.700, 7)), metrics(fairness=(0.857, 7)))
    assert not refused.promote and "fairness 0.857->0.700" in refused.reasons[0]
    assert not gate(metrics(safety=(0.64, 20)), metrics()).promote  # support 20: the 0.05 margin holds


def test_macro_f1_tolerance_is_never_less_than_one_papers_worth():
    """Supports 20, 12, 5 (3 present): one paper in the support-5 category moves the macro by 0.2 / 3."""
    small = {"hallucination": (0.50, 5)}
    assert gate(metrics(f1=0.54, **small), metrics(f1=0.60, **small)).promote  # -0.06 <= 0.0667
    refused = gate(metrics(f1=0.52, **small), metrics(f1=0.60, **small))
    assert not refused.promote and "macro-F1" in refused.reasons[0]
    assert refused.figures["category_macro_f1"]["tolerance"] == 0.0667
    # the support-3 category of metrics() is below category_min_support: 1/12/3 = 0.028 is the allowance
    assert not gate(metrics(f1=0.57), metrics(f1=0.60)).promote
    assert gate(metrics(f1=0.575), metrics(f1=0.60)).promote


def test_core_ap_is_guarded_when_the_split_has_enough_core_papers():
    def with_core(ap, n=20):
        return {**metrics(), "core_ap": ap, "n_core": n}

    refused = gate(with_core(0.60), with_core(0.70))
    assert not refused.promote and refused.reasons[0].startswith("core AP")
    assert gate(with_core(0.66), with_core(0.70)).promote  # within 0.05
    assert gate(with_core(0.40, n=5), with_core(0.70, n=5)).promote  # 5 core papers: not judged
    assert gate(with_core(float("nan")), with_core(0.70)).promote  # no core score to judge
    assert len(gate(with_core(0.70), with_core(0.70)).reasons) == 5  # AP, macro-F1, per-category, core, ECE
