"""FeatureLR's per-example weights: weight 2 is the same fit as the paper given twice."""
import numpy as np

from trust_tagger.model.heads import FeatureLR
from trust_tagger.retrain.dataset import Example


def ex(i, relevance, cats=(), audio_llm=None):
    return Example(arxiv_id=str(i), key=f"arxiv:{i}", title="t", abstract="a", arxiv_categories=[], date="2026-01-01",
                   relevance=relevance, relevance_exact=True, categories=list(cats),
                   subcategories=[], audio_llm=audio_llm, source="annotation", split="train")


def test_weight_two_equals_the_paper_twice_and_weights_change_the_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    rels = [int(v > 0) + int(v > 1) for v in X[:, 0] + rng.normal(scale=0.7, size=40)]
    examples = [ex(i, r, ["safety"] if r and X[i, 1] > 0 else ["privacy"] if r else [], audio_llm=bool(X[i, 2] > 0))
                for i, r in enumerate(rels)]
    w = np.ones(40)
    w[:10] = 2.0
    weighted = FeatureLR(C=1.0, balanced=False).fit_features(X, examples, sample_weight=w)
    twice = FeatureLR(C=1.0, balanced=False).fit_features(np.vstack([X, X[:10]]), examples + examples[:10])
    plain = FeatureLR(C=1.0, balanced=False).fit_features(X, examples)
    a, b, c = (m.scores_from_features(X) for m in (weighted, twice, plain))
    for field in ("relevance", "categories", "cond", "large"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), atol=1e-4)
    assert np.abs(a.relevance - c.relevance).max() > 1e-3
