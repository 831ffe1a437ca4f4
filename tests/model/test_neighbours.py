"""The neighbour-vote relevance member: the vote itself on hand-made embeddings, then in the tiny tagger."""

import dataclasses

import numpy as np
import pytest

from _tiny_model import synthetic_examples, tiny_base_model, tiny_config, trained_tiny_model
from trust_tagger.model.neighbours import NeighbourVote, record_key


def _unit(rows):
    E = np.asarray(rows, dtype=np.float32)
    return E / np.linalg.norm(E, axis=1, keepdims=True)


def _brute(E, index, y, k, t):
    """Sorted top k of the cosine similarity to unit index rows, by hand."""
    S = _unit(E) @ index.T
    idx = np.argsort(-S, 1)[:, :k]
    w = np.exp(np.take_along_axis(S, idx, 1) / t)
    return (w * y[idx]).sum(1) / w.sum(1)


def test_the_vote_is_the_softmax_weighted_share_of_the_nearest_relevant_papers():
    rng = np.random.default_rng(0)
    index, y = rng.normal(size=(40, 8)), (rng.random(40) < 0.4).astype(float)
    E = rng.normal(size=(25, 8))
    vote = NeighbourVote(k=5, temperature=0.2, clip=0.0, chunk=7).fit(index, y)
    assert np.allclose(vote.index_.astype(np.float32), _unit(index), atol=1e-3)  # unit rows, float16
    expected = _brute(E, vote.index_.astype(np.float32), y, 5, 0.2)  # on the same rounded rows
    assert np.allclose(vote.predict_proba(E), expected, atol=1e-6)
    assert np.allclose(NeighbourVote(k=5, temperature=0.2, clip=0.0, chunk=1000).fit(index, y).predict_proba(E),
                       vote.predict_proba(E), atol=1e-6)  # chunks change nothing
    clipped = NeighbourVote(k=1, clip=0.02).fit(index, y).predict_proba(E)
    assert clipped.min() == pytest.approx(0.02) and clipped.max() == pytest.approx(0.98)


def test_a_paper_in_the_index_does_not_vote_for_itself():
    index = _unit([[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1]])
    vote = NeighbourVote(k=1, clip=0.0).fit(index, [1.0, 0.0, 0.0], keys=["arxiv:a", "arxiv:b", "arxiv:c"])
    assert vote.predict_proba(index[:1]) == pytest.approx([1.0])  # no key: its twin in the index answers
    assert vote.predict_proba(index[:1], ["arxiv:a"]) == pytest.approx([0.0])  # masked: b, the next one
    assert vote.predict_proba(index[:1], ["arxiv:zzz"]) == pytest.approx([1.0])
    lone = NeighbourVote(k=3, clip=0.0).fit(index[:1], [1.0], keys=["arxiv:a"])
    assert lone.predict_proba(index[:1], ["arxiv:a"]) == pytest.approx([0.5])  # nobody left to vote


def test_fit_refuses_labels_that_do_not_match_the_rows():
    with pytest.raises(ValueError, match="do not match"):
        NeighbourVote().fit(np.zeros((3, 4)), [1, 0])


def test_record_keys_come_from_the_key_or_the_arxiv_id_or_the_title():
    ex = synthetic_examples(1)[0]
    assert record_key(ex) == ex.key
    assert record_key({"arxiv_id": "2601.00001v2", "title": "x"}) == "arxiv:2601.00001"
    assert record_key({"title": "A Title!"}) == "title:a title"
    assert record_key({"abstract": "no id, no title"}) is None


def test_the_tagger_blends_keywords_and_neighbours_into_relevance_only(model_root, tmp_path):
    from trust_tagger.model.calibration import logit
    from trust_tagger.model.tagger import TrustTagger

    exs = synthetic_examples()
    train = [e for e in exs if e.split == "train"]
    model = TrustTagger.load(trained_tiny_model(model_root))
    assert model.blend["relevance"] == pytest.approx({"net": 0.2, "tfidf": 0.2, "keywords": 0.5, "neighbours": 0.1})
    assert model.blend["categories"] == {"net": 0.5, "tfidf": 0.5}
    nb = model.members["neighbours"]
    assert len(nb.relevant_) == len(train) and set(nb.keys_) == {e.key for e in train}
    papers = [{"title": e.title, "abstract": e.abstract} for e in synthetic_examples(8, seed=3)]
    parts = model._member_logits(papers)
    assert set(parts["neighbours"]) == {"relevance"}
    _, emb = model._net_logits(papers)
    assert np.allclose(parts["neighbours"]["relevance"], logit(nb.predict_proba(emb)), atol=1e-5)
    from trust_tagger.model.baselines import KeywordRules  # the hits counted once give the rules' own scores

    assert model.members["keywords"].abstract_weight == model.config.keyword_abstract_weight
    assert np.allclose(parts["keywords"]["relevance"], logit(KeywordRules().predict_proba(papers).relevance))
    raw = model._blend(parts)
    expected = sum(w * parts[n]["relevance"] for n, w in model.blend["relevance"].items()) \
        + parts["audio_gate"]["relevance"]
    assert np.allclose(raw.relevance, expected)
    assert np.allclose(raw.categories, 0.5 * parts["net"]["categories"] + 0.5 * parts["tfidf"]["categories"])
    # the core score keeps the relevance logit without the relevance-only members
    assert model.blend["core_relevance"] == {"net": 0.5, "tfidf": 0.5}
    assert np.allclose(raw.core_relevance, 0.5 * parts["net"]["relevance"] + 0.5 * parts["tfidf"]["relevance"]
                       + parts["audio_gate"]["relevance"])
    # the index travels with the model
    model.save(tmp_path / "m")
    again = TrustTagger.load(tmp_path / "m")
    assert np.allclose(again.predict_proba(papers).relevance, model.predict_proba(papers).relevance, atol=1e-6)


def test_models_without_the_relevance_members_keep_their_blend(model_root):
    from trust_tagger.model.tagger import TrustTagger

    exs = synthetic_examples()
    train, val = [e for e in exs if e.split == "train"], [e for e in exs if e.split == "validation"]
    cfg = dataclasses.replace(tiny_config(tiny_base_model(model_root)), members=("tfidf",))
    model = TrustTagger(cfg).fit(train, val)
    assert set(model.members) == {"tfidf"} and model.blend["relevance"] == {"net": 0.5, "tfidf": 0.5}
    bad = TrustTagger(dataclasses.replace(cfg, relevance_shares={"keywords": 0.6, "neighbours": 0.4}))
    parts = model._member_logits(val)
    parts.update(keywords={"relevance": np.zeros(len(val))}, neighbours={"relevance": np.zeros(len(val))})
    with pytest.raises(ValueError, match="sum to less than 1"):
        bad._set_blend(parts, None)


def test_the_heads_update_rebuilds_the_index_from_the_new_labels(model_root):
    from trust_tagger.model import update as U
    from trust_tagger.model.tagger import TrustTagger

    model = TrustTagger.load(trained_tiny_model(model_root))
    exs = synthetic_examples(60, seed=7)
    train, val = [e for e in exs if e.split == "train"], [e for e in exs if e.split == "validation"]
    before = model.members["neighbours"]
    cache = U.EmbeddingCache()
    U.update_heads(model, train, val, cache)
    nb = model.members["neighbours"]
    assert nb is not before and set(nb.keys_) == {e.key for e in train}
    assert np.allclose(nb.index_.astype(np.float32), _unit(cache.embed(model, train)), atol=2e-3)
    assert nb.relevant_.tolist() == [float(e.relevance >= 1) for e in train]
    assert model.blend["relevance"]["neighbours"] == model.config.relevance_shares["neighbours"]
