"""The cheap update on the tiny model: heads, tf-idf member and calibration refitted from cached embeddings."""

import numpy as np
import torch

from _tiny_model import synthetic_examples, trained_tiny_model
from trust_tagger.model import update as U
from trust_tagger.model.tagger import TrustTagger


def test_heads_update_refits_from_cached_embeddings_and_round_trips(model_root, tmp_path):
    model = TrustTagger.load(trained_tiny_model(model_root))
    exs = synthetic_examples(60, seed=7)
    train, val = [e for e in exs if e.split == "train"], [e for e in exs if e.split == "validation"]
    papers = [{"title": e.title, "abstract": e.abstract} for e in synthetic_examples(10, seed=8)]
    cache = U.EmbeddingCache()
    # the embeddings hook gives what the encoder pass gives
    direct = model.predict_proba(papers)
    cached = U.predict_proba(model, papers, cache)
    assert np.allclose(direct.relevance, cached.relevance, atol=1e-5) and cache.misses == 10
    head_before = model.net.head.weight.detach().clone()
    tfidf_before = model.members["tfidf"]
    encoder_before = U.encoder_fingerprint(model)
    U.update_heads(model, train, val, cache)
    assert cache.misses == 10 + len(train) + len(val)
    assert not np.allclose(head_before.numpy(), model.net.head.weight.detach().numpy())
    assert model.members["tfidf"] is not tfidf_before and U.encoder_fingerprint(model) == encoder_before
    info = model.info["update"]
    assert info["kind"] == "heads" and info["train"] == len(train) and info["embedded"] == len(train) + len(val)
    U.update_heads(model, train, val, cache)  # the same labels again: nothing is embedded twice
    assert cache.misses == 10 + len(train) + len(val) and model.info["update"]["embedded"] == 0
    after = U.predict_proba(model, papers, cache)
    model.save(tmp_path / "updated")
    again = TrustTagger.load(tmp_path / "updated").predict_proba(papers)
    assert np.allclose(after.relevance, again.relevance, atol=1e-5) and np.allclose(after.core, again.core, atol=1e-5)


def test_a_new_encoder_gets_its_own_cache_table(model_root):
    a = TrustTagger.load(trained_tiny_model(model_root))
    b = TrustTagger.load(trained_tiny_model(model_root))
    assert U.encoder_fingerprint(a) == U.encoder_fingerprint(b)  # same weights, same table
    with torch.no_grad():
        next(b.net.encoder.parameters()).add_(0.01)
    U._FINGERPRINTS.pop(b.net.encoder, None)  # weights changed in place: forget the remembered hash
    assert U.encoder_fingerprint(a) != U.encoder_fingerprint(b)
    cache = U.EmbeddingCache(max_encoders=1)
    papers = [{"title": "t", "abstract": "speech jailbreak"}]
    cache.embed(a, papers)
    cache.embed(b, papers)
    assert cache.misses == 2
    cache.embed(a, papers)  # a's table was evicted by b's
    assert cache.misses == 3


def test_heads_update_keeps_each_head_group_the_probe_does_worse_on(model_root):
    """Trained on shuffled labels, the probe is worse than the current rows on validation for some groups:
    those rows stay exactly as they were, and every group ends at the better of the two validation scores."""
    import dataclasses
    import random

    model = TrustTagger.load(trained_tiny_model(model_root))
    exs = synthetic_examples(60, seed=7)
    train, val = [e for e in exs if e.split == "train"], [e for e in exs if e.split == "validation"]
    rng = random.Random(3)
    labels = [(e.relevance, e.categories, e.subcategories) for e in train]
    rng.shuffle(labels)
    garbage = [dataclasses.replace(e, relevance=r, categories=c, subcategories=s)
               for e, (r, c, s) in zip(train, labels)]
    cache = U.EmbeddingCache()
    X_val = cache.embed(model, val)
    W0, b0 = U._head_state(model)
    old = U._group_scores(model.head_logits(X_val), val)
    U.update_heads(model, garbage, val, cache)
    kept = model.info["update"]["kept_heads"]
    final = U._group_scores(model.head_logits(X_val), val)
    assert kept, "shuffled labels should lose on at least one group"
    W1, _ = U._head_state(model)
    from trust_tagger.model.network import SL_CAT, SL_REL

    for group, sl in (("relevance", SL_REL), ("categories", SL_CAT)):
        assert np.array_equal(W1[sl], W0[sl]) == (group in kept)
    for group, score in final.items():
        if score == score and old[group] == old[group]:
            assert score >= old[group] - 1e-9, group  # never worse than the rows it started from
            if group in kept:
                assert np.isclose(score, old[group]), group
