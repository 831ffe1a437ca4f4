"""The keyword rules' hits mixed into category probabilities (the share is chosen on cross-validated F1), and
the rules' relevance, where a hit in the title counts more than one in the abstract only."""

import pickle
from dataclasses import asdict

import numpy as np

from trust_tagger.model.artifacts import load_member
from trust_tagger.model.baselines import KeywordRules, keyword_hits, title_hits
from trust_tagger.model.calibration import Calibration
from trust_tagger.model.config import TrainConfig
from trust_tagger.model.contracts import RawScores
from trust_tagger.model.heads import calibrated_scores, choose_label_decoding
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES

NAMES = ("a", "b", "c")


def _labels(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, len(NAMES))) < 0.3).astype(int), rng


def test_hits_that_are_the_labels_win_over_a_weak_model():
    Y, rng = _labels()
    P = np.clip(0.5 + 0.1 * (Y - 0.5) + rng.normal(0, 0.25, Y.shape), 0, 1)  # barely informative
    assert choose_label_decoding(P, Y.astype(float), Y, NAMES)[0] > 0


def test_noise_hits_are_not_mixed_into_a_perfect_model():
    Y, rng = _labels(seed=1)
    P = np.where(Y > 0, 0.95, 0.05)
    noise = (rng.random(Y.shape) < 0.5).astype(float)
    assert choose_label_decoding(P, noise, Y, NAMES)[0] == 0.0


def test_no_positives_means_no_mixing():
    Y = np.zeros((10, 3), dtype=int)
    assert choose_label_decoding(np.full((10, 3), 0.4), np.ones((10, 3)), Y, NAMES) == (0.0, {"kind": "per_label"})


def test_without_hits_only_the_rule_is_chosen():
    Y, rng = _labels(seed=2)
    P = np.clip(0.5 + 0.3 * (Y - 0.5) + rng.normal(0, 0.1, Y.shape), 0, 1)
    w, rule = choose_label_decoding(P, None, Y, NAMES)
    assert w == 0.0 and rule["kind"] in ("per_label", "top_ratio")


def test_weight_is_applied_to_calibrated_scores_and_survives_saving():
    cal = Calibration(category_keyword_weight=0.2, subcategory_keyword_weight=0.3)
    n = 4
    z_c, z_s = np.zeros((n, len(CATEGORIES))), np.zeros((n, len(SUBCATEGORIES)))
    hits_c, hits_s = np.ones_like(z_c), np.zeros_like(z_s)
    raw = RawScores(np.zeros(n), np.zeros((n, 3)), z_c, z_s, category_hits=hits_c, subcategory_hits=hits_s)
    s = calibrated_scores(cal, raw)
    assert np.allclose(s.categories, 0.8 * 0.5 + 0.2)
    assert np.allclose(s.subcategories, 0.7 * 0.5)
    plain = calibrated_scores(cal, RawScores(np.zeros(n), np.zeros((n, 3)), z_c, z_s))  # baselines: no hits
    assert np.allclose(plain.categories, 0.5)
    back = Calibration.from_dict(cal.to_dict())
    assert (back.category_keyword_weight, back.subcategory_keyword_weight) == (0.2, 0.3)
    assert Calibration.from_dict({}).category_keyword_weight == 0.0  # models saved before: no mixing


def test_hits_are_the_keyword_baselines_rules():
    recs = [{"title": "Jailbreak attacks on audio LLMs", "abstract": "We study jailbreak prompts against speech models."},
            {"title": "Speaker verification", "abstract": "A new loss for speaker embeddings."}]
    hc, hs = keyword_hits(recs)
    s = KeywordRules().predict_proba(recs)
    assert np.array_equal(hc > 0, s.categories > 0.5) and np.array_equal(hs > 0, s.subcategories > 0.5)
    assert hc[0, CATEGORIES.index("safety")] == 1 and hs[0, SUBCATEGORIES.index("safety/jailbreak")] == 1
    assert hc[1].sum() == 0


def test_a_rule_in_the_title_counts_more_for_relevance_than_one_in_the_abstract_only():
    recs = [{"title": "Jailbreak prompts for audio language models", "abstract": "We study speech models."},
            {"title": "Audio language models for speech", "abstract": "We also report jailbreak prompts."},
            {"title": "Audio language models for speech", "abstract": "We study speech models."}]
    hc, hs = keyword_hits(recs)
    ht = title_hits(recs)
    assert ht[0, CATEGORIES.index("safety")] == 1 and ht[1].sum() == 0
    assert hc[1, CATEGORIES.index("safety")] == 1  # the category reading still sees the abstract's hit
    rel = KeywordRules().predict_proba(recs).relevance
    assert rel[0] > rel[1] > rel[2]
    flat = KeywordRules(abstract_weight=1.0).predict_proba(recs).relevance
    assert flat[0] == flat[1] > flat[2]
    assert np.array_equal(KeywordRules().predict_proba(recs).categories, KeywordRules(1.0).predict_proba(recs).categories)


def test_rules_and_configs_saved_before_the_weight_score_every_hit_alike():
    old = KeywordRules()
    del old.__dict__["abstract_weight"]  # as unpickled from a release without the attribute
    back = load_member(pickle.dumps(old))
    recs = [{"title": "Speech models", "abstract": "We report jailbreak prompts against audio models."}]
    assert back.abstract_weight == 1.0
    assert np.allclose(back.predict_proba(recs).relevance, KeywordRules(1.0).predict_proba(recs).relevance)
    assert load_member(pickle.dumps(KeywordRules(0.25))).abstract_weight == 0.25
    assert TrainConfig.from_dict({}).keyword_abstract_weight == 1.0  # their config, for a rebuilt member
    assert TrainConfig.from_dict(asdict(TrainConfig())).keyword_abstract_weight == TrainConfig().keyword_abstract_weight
