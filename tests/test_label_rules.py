"""How labels are read off probabilities (routing.label_mask), and how the rule is chosen: by
cross-validated macro-F1, so a rule that only fits its own validation papers loses."""

import numpy as np
import pytest

from trust_tagger.model.heads import choose_label_decoding
from trust_tagger.routing import (Thresholds, cross_validated_macro_f1, fit_label_rule, label_mask,
                                  present_macro_f1)

NAMES = ("a", "b", "c", "d")


def test_per_label_rule_is_the_cuts_and_is_what_an_empty_rule_means():
    P = np.array([[0.6, 0.3, 0.1, 0.0], [0.2, 0.2, 0.9, 0.5]])
    cuts = {"a": 0.5, "b": 0.25, "c": 0.95, "d": 0.5}
    want = np.array([[1, 1, 0, 0], [0, 0, 0, 1]], dtype=bool)
    assert np.array_equal(label_mask(P, NAMES, cuts), want)
    assert np.array_equal(label_mask(P, NAMES, cuts, {"kind": "per_label"}), want)


def test_top_ratio_gives_the_top_label_and_its_close_seconds():
    P = np.array([[0.1, 0.05, 0.02, 0.0], [0.8, 0.5, 0.3, 0.79]])
    m = label_mask(P, NAMES, {}, {"kind": "top_ratio", "ratio": 0.6})
    # a paper whose best label is under every cut still gets it; 0.5 >= 0.6 * 0.8 but 0.3 is not
    assert np.array_equal(m, np.array([[1, 0, 0, 0], [1, 1, 0, 1]], dtype=bool))
    assert label_mask(np.zeros((0, 4)), NAMES, {}, {"kind": "top_ratio", "ratio": 0.5}).shape == (0, 4)
    with pytest.raises(ValueError, match="unknown label rule"):
        label_mask(P, NAMES, {}, {"kind": "nope"})


def _one_label_papers(n, seed):
    """Every paper has exactly one label; the probabilities rank it first but sit on different scales
    per label, so no single set of cuts separates them well."""
    rng = np.random.default_rng(seed)
    Y = np.zeros((n, len(NAMES)), dtype=int)
    Y[np.arange(n), rng.integers(0, len(NAMES), n)] = 1
    scale = rng.uniform(0.2, 1.0, (n, 1))
    P = scale * (0.3 + 0.5 * Y + rng.uniform(0, 0.15, Y.shape))
    return P, Y


def test_cross_validation_prefers_the_rule_that_generalises():
    P, Y = _one_label_papers(200, 0)
    cv_top = cross_validated_macro_f1(P, Y, NAMES, "top_ratio")
    cv_cut = cross_validated_macro_f1(P, Y, NAMES, "per_label")
    assert cv_top > cv_cut + 0.05
    w, rule = choose_label_decoding(P, None, Y, NAMES)
    assert rule == {"kind": "top_ratio"}
    cuts, fitted = fit_label_rule(P, Y, NAMES, "top_ratio")
    assert fitted["kind"] == "top_ratio" and 0 < fitted["ratio"] <= 1 and set(cuts) == set(NAMES)
    Pn, Yn = _one_label_papers(200, 1)  # new papers: the chosen rule is the better one there too
    assert present_macro_f1(Yn, label_mask(Pn, NAMES, cuts, fitted)) > \
        present_macro_f1(Yn, label_mask(Pn, NAMES, *fit_label_rule(P, Y, NAMES, "per_label")))


def test_independent_labels_keep_per_label_cuts():
    """Labels that are independent of each other, with a clean cut each: the top label says little,
    a paper can have none or three, so per-label cuts win."""
    rng = np.random.default_rng(3)
    Y = (rng.random((200, len(NAMES))) < 0.4).astype(int)
    P = np.clip(np.where(Y > 0, 0.7, 0.3) + rng.normal(0, 0.08, Y.shape), 0, 1)
    assert choose_label_decoding(P, None, Y, NAMES)[1] == {"kind": "per_label"}


def test_tiny_validation_falls_back_to_in_sample():
    P, Y = _one_label_papers(6, 2)
    assert 0 <= cross_validated_macro_f1(P, Y, NAMES, "per_label") <= 1


def test_rules_are_saved_with_the_thresholds():
    th = Thresholds(category_rule={"kind": "top_ratio", "ratio": 0.6})
    back = Thresholds.from_dict(th.to_dict())
    assert back.category_rule == {"kind": "top_ratio", "ratio": 0.6} and back.subcategory_rule == {}
    assert Thresholds.from_dict({"accept": 0.9}).category_rule == {}  # thresholds saved before: per-label


def test_the_classify_contract_reads_labels_with_the_models_rule():
    from trust_tagger.model.contracts import Scores
    from trust_tagger.model.predict import classify_records
    from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES

    cats = np.full((1, len(CATEGORIES)), 0.05)
    cats[0, CATEGORIES.index("safety")], cats[0, CATEGORIES.index("security")] = 0.45, 0.3

    class Model:
        thresholds = Thresholds(categories={c: 0.5 for c in CATEGORIES}, core_accept=0.9, core_reject=0.1)

        def predict_proba(self, records, progress=None):
            return Scores(np.array([0.9]), np.array([[0.1, 0.3, 0.6]]), cats, np.full((1, len(SUBCATEGORIES)), 0.1))

    rec = [{"arxiv_id": "2601.00001", "title": "A jailbreak of audio LLMs", "abstract": "We attack audio LLMs."}]
    model = Model()
    assert classify_records(model, rec)[0]["labels"] == []  # per-label: both under their 0.5 cut
    model.thresholds.category_rule = {"kind": "top_ratio", "ratio": 0.6}
    assert classify_records(model, rec)[0]["labels"] == ["safety", "security"]  # 0.3 >= 0.6 * 0.45
