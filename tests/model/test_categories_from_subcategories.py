"""Categories raised to their best subcategory: the reading, the validation choice, and old models."""

import numpy as np

from trust_tagger.model.calibration import Calibration, raise_to_subcategories
from trust_tagger.model.contracts import RawScores
from trust_tagger.model.heads import calibrated_scores, choose_subcategory_raise
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES

ROB, SAFE = CATEGORIES.index("robustness"), CATEGORIES.index("safety")


def test_each_category_is_raised_to_its_own_best_subcategory_only():
    C = np.full((2, len(CATEGORIES)), 0.1)
    S = np.zeros((2, len(SUBCATEGORIES)))
    S[0, SUBCATEGORIES.index("robustness/general")] = 0.7
    S[0, SUBCATEGORIES.index("safety/jailbreak")] = 0.05  # lower than the category: left as it is
    S[1, SUBCATEGORIES.index("safety/deepfake")] = 0.4
    S[1, SUBCATEGORIES.index("safety/defense")] = 0.6
    R = raise_to_subcategories(C, S)
    assert R[0, ROB] == 0.7 and R[0, SAFE] == 0.1
    assert R[1, SAFE] == 0.6 and R[1, ROB] == 0.1
    others = [j for j in range(len(CATEGORIES)) if j not in (ROB, SAFE)]
    assert np.all(R[:, others] == 0.1) and np.all(C == 0.1)  # the input is not changed


def _papers(n=120, seed=0):
    rng = np.random.default_rng(seed)
    Y = np.zeros((n, len(CATEGORIES)), dtype=int)
    Y[np.arange(n), rng.integers(0, len(CATEGORIES), n)] = 1
    return Y, rng


def _subs_of(Y, level):
    """Subcategory probabilities that carry each paper's category at ``level`` (its first subcategory)."""
    S = np.full((len(Y), len(SUBCATEGORIES)), 0.02)
    for j, c in enumerate(CATEGORIES):
        k = next(i for i, s in enumerate(SUBCATEGORIES) if s.startswith(c + "/"))
        S[Y[:, j] > 0, k] = level
    return S


def test_raised_when_the_subcategories_know_what_the_categories_miss():
    Y, rng = _papers()
    C = np.clip(0.3 + rng.normal(0, 0.2, Y.shape), 0.01, 0.6)  # uninformative category heads
    raised, rule = choose_subcategory_raise(C, _subs_of(Y, 0.9), Y, {"kind": "per_label"})
    assert raised and rule["kind"] in ("per_label", "top_ratio")


def test_left_alone_when_the_subcategories_add_only_noise():
    Y, rng = _papers(seed=1)
    C = np.where(Y > 0, 0.9, 0.1)
    S = rng.random((len(Y), len(SUBCATEGORIES)))  # noise, often above the category's own score
    assert choose_subcategory_raise(C, S, Y, {"kind": "top_ratio"}) == (False, {"kind": "top_ratio"})
    empty = np.zeros((5, len(CATEGORIES)), dtype=int)
    assert choose_subcategory_raise(C[:5], S[:5], empty, {"kind": "per_label"}) == (False, {"kind": "per_label"})


def test_the_flag_reaches_the_scores_and_survives_saving():
    n = 3
    z_c = np.full((n, len(CATEGORIES)), -2.0)
    z_s = np.full((n, len(SUBCATEGORIES)), -4.0)
    z_s[:, SUBCATEGORIES.index("robustness/general")] = 2.0
    raw = RawScores(np.zeros(n), np.zeros((n, 3)), z_c, z_s)
    plain = calibrated_scores(Calibration(), raw)
    raised = calibrated_scores(Calibration(categories_from_subcategories=True), raw)
    assert np.all(plain.categories[:, ROB] < 0.2) and np.allclose(raised.categories[:, ROB], raised.subcategories[:, SUBCATEGORIES.index("robustness/general")])
    assert np.allclose(np.delete(raised.categories, ROB, 1), np.delete(plain.categories, ROB, 1))
    assert np.array_equal(raised.subcategories, plain.subcategories)
    assert Calibration.from_dict(Calibration(categories_from_subcategories=True).to_dict()).categories_from_subcategories
    assert Calibration.from_dict({}).categories_from_subcategories is False  # models saved before read the heads alone


def test_calibrate_hands_on_the_searched_figure_and_decides_the_same():
    from trust_tagger.model.heads import _label_decoding_search, choose_label_decoding
    from trust_tagger.routing import cross_validated_macro_f1

    Y, rng = _papers(seed=2)
    C = np.clip(0.3 + 0.3 * (Y - 0.5) + rng.normal(0, 0.2, Y.shape), 0.01, 0.99)
    hits = (rng.random(Y.shape) < 0.2).astype(float)
    f1, w, rule = _label_decoding_search(C, hits, Y, CATEGORIES)
    assert (w, rule) == choose_label_decoding(C, hits, Y, CATEGORIES)
    M = C if not w else (1 - w) * C + w * hits
    assert f1 == cross_validated_macro_f1(M, Y, CATEGORIES, rule["kind"])
    S = _subs_of(Y, 0.6)
    assert choose_subcategory_raise(M, S, Y, rule, plain=f1) == choose_subcategory_raise(M, S, Y, rule)
