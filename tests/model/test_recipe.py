"""The training recipe's memory and core-score mechanisms on the tiny model."""

import dataclasses

import numpy as np

from _tiny_model import synthetic_examples, tiny_base_model, tiny_config
from trust_tagger.model.finetune import checkpointing_on
from trust_tagger.model.tagger import TrustTagger


def _splits():
    exs = synthetic_examples()
    return [e for e in exs if e.split == "train"], [e for e in exs if e.split == "validation"]


def test_fine_tuning_checkpoints_activations_and_gives_the_same_weights(model_root):
    """Activation checkpointing is on while the loop runs (memory: 1.8 vs 3.1 GB peak measured) and off
    afterwards; recomputing activations must not change what is learned."""
    train, val = _splits()
    seen = []
    heads = {}
    for on in (True, False):
        cfg = dataclasses.replace(tiny_config(tiny_base_model(model_root)), gradient_checkpointing=on)
        model = TrustTagger(cfg)

        def progress(stage, done, total, model=model):
            if stage.startswith("epoch"):
                seen.append((on, checkpointing_on(model.net.encoder)))

        model.fit(train, val, progress=progress)
        assert not checkpointing_on(model.net.encoder)  # inference never pays for it
        heads[on] = model.net.head.weight.detach().numpy().copy()
    assert {s for o, s in seen if o} == {True} and {s for o, s in seen if not o} == {False}
    assert np.allclose(heads[True], heads[False], atol=1e-5)


def test_core_weights_choose_the_members_of_the_cond_and_large_heads(model_root, tmp_path):
    train, val = _splits()
    cfg = dataclasses.replace(tiny_config(tiny_base_model(model_root)), core_weights={"tfidf": 1.0})
    model = TrustTagger(cfg).fit(train, val)
    assert model.blend["core"] == {"tfidf": 1.0} and model.blend["relevance"] != {"tfidf": 1.0}
    papers = [{"title": e.title, "abstract": e.abstract} for e in synthetic_examples(8, seed=3)]
    raw = model.raw_scores(papers)
    tf = model.members["tfidf"].predict_proba(papers)
    assert np.allclose(1 / (1 + np.exp(-raw.cond)), tf.cond, atol=1e-6)
    assert np.allclose(1 / (1 + np.exp(-raw.large)), tf.large, atol=1e-6)
    model.save(tmp_path / "m")
    again = TrustTagger.load(tmp_path / "m")
    assert again.blend["core"] == {"tfidf": 1.0}
    assert np.allclose(again.predict_proba(papers).core, model.predict_proba(papers).core, atol=1e-6)


def test_the_kept_epochs_validation_pass_is_not_computed_twice(model_root, monkeypatch):
    """One epoch kept = the last one: blending and calibration reuse its validation embeddings. Train papers
    take two passes: the linear probe's (base weights) and the neighbour index's (the tuned net)."""
    import trust_tagger.model.update as U

    monkeypatch.setattr(U, "DEFAULT_CACHE", U.EmbeddingCache())  # the probe's pass, not an earlier test's
    train, val = _splits()
    calls = []
    real = TrustTagger._net_logits

    def spy(self, records, progress=None):
        calls.append(len(records))
        return real(self, records, progress)

    monkeypatch.setattr(TrustTagger, "_net_logits", spy)
    model = TrustTagger(tiny_config(tiny_base_model(model_root))).fit(train, val)
    assert model.info["best_epoch"] == model.history[-1]["epoch"] == 1
    assert calls.count(len(val)) == 1 and calls.count(len(train)) == 2
    monkeypatch.setattr(TrustTagger, "_net_logits", real)
    from trust_tagger.model.heads import calibrated_scores

    fresh = model._blend(model._member_logits(val))  # what a recomputation gives: what was calibrated on
    s = model.predict_proba(val)
    assert np.allclose(s.relevance, calibrated_scores(model.calibration, fresh).relevance, atol=1e-6)
    assert np.allclose(s.core, calibrated_scores(model.calibration, fresh).core, atol=1e-6)


def test_core_exponent_is_fitted_with_the_calibration_and_older_models_keep_the_square_root():
    from trust_tagger.model.calibration import Calibration
    from trust_tagger.model.contracts import RawScores
    from trust_tagger.model.heads import calibrate, calibrated_scores, core_logit

    _, val = _splits()
    val = val * 4  # enough papers of each class for the fits
    n = len(val)
    rng = np.random.default_rng(0)
    y = np.array([e.relevance for e in val])
    raw = RawScores(relevance=np.where(y > 0, 2.0, -2.0) + rng.normal(0, 1, n), relevance_class=rng.normal(0, 1, (n, 3)),
                    categories=rng.normal(0, 1, (n, 7)), subcategories=rng.normal(0, 1, (n, raw_subs())),
                    cond=np.where(y == 2, 1.0, -1.0) + rng.normal(0, 1, n), large=rng.normal(0, 1, n))
    cores = {}
    for e in (0.5, 1.0):
        cal, _ = calibrate(raw, val, core_exponent=e)
        assert cal.core_exponent == e
        z = core_logit(raw.relevance, raw.cond, raw.large, e)
        p = 1 / (1 + np.exp(-raw.relevance * cal.relevance_a - cal.relevance_b))
        cores[e] = calibrated_scores(cal, raw).core
        assert np.allclose(cores[e], np.minimum(1 / (1 + np.exp(-(cal.core_a * z + cal.core_b))), p))
        assert Calibration.from_dict(cal.to_dict()).core_exponent == e
    assert not np.allclose(cores[0.5], cores[1.0])
    # a core score built on its own relevance logit (the relevance blend took members it does not) is not
    # capped by P(relevant): P(relevant) is raised to it, and the class split follows
    apart = dataclasses.replace(raw, core_relevance=raw.relevance + rng.normal(0, 2, n))
    cal, _ = calibrate(apart, val, core_exponent=1.0)
    z = core_logit(apart.core_relevance, raw.cond, raw.large, 1.0)
    p = 1 / (1 + np.exp(-raw.relevance * cal.relevance_a - cal.relevance_b))
    core = 1 / (1 + np.exp(-(cal.core_a * z + cal.core_b)))
    s = calibrated_scores(cal, apart)
    assert np.allclose(s.core, core) and np.allclose(s.relevance, np.maximum(p, core))
    assert (core > p).any()  # the raise does happen here
    assert np.allclose(s.relevance_class.sum(1), 1) and np.allclose(1 - s.relevance_class[:, 0], s.relevance)
    old = Calibration(core_a=2.0, core_b=-1.0).to_dict()
    del old["core_exponent"]  # calibration.json of a model saved before the exponent was stored
    assert Calibration.from_dict(old).core_exponent == 0.5


def raw_subs():
    from trust_tagger.taxonomy import SUBCATEGORIES

    return len(SUBCATEGORIES)


def test_training_caps_heap_retention_before_it_allocates(model_root, monkeypatch):
    import trust_tagger.model.tagger as T
    from trust_tagger.model.finetune import limit_allocator_retention

    assert limit_allocator_retention(mmap_threshold=32 << 20) is True  # glibc takes both settings (Linux)
    order = []
    monkeypatch.setattr(T, "limit_allocator_retention",
                        lambda mmap_threshold=4 << 20: order.append(("mallopt", mmap_threshold)) or True)
    import trust_tagger.model.encoder as enc

    real = enc.load_encoder
    monkeypatch.setattr(enc, "load_encoder", lambda name: order.append("load") or real(name))
    train, val = _splits()
    TrustTagger(tiny_config(tiny_base_model(model_root))).fit(train, val)
    assert order == [("mallopt", 4 << 20), "load", ("mallopt", 32 << 20)]  # capped for training only


def test_train_layers_fine_tunes_only_the_top_blocks(model_root):
    """``train_layers=1`` on the 2-block tiny encoder: embeddings and the lower block keep their start
    weights, the top block and the heads move, and the saved net is trainable again (a later full
    retrain of it must not inherit frozen weights)."""
    import torch

    from trust_tagger.model.encoder import load_encoder
    from trust_tagger.model.finetune import transformer_layers

    train, val = _splits()
    base = tiny_base_model(model_root)
    start = {k: v.clone() for k, v in load_encoder(base)[1].state_dict().items()}
    cfg = dataclasses.replace(tiny_config(base), train_layers=1, lp_init=False)
    model = TrustTagger(cfg).fit(train, val)
    after = model.net.encoder.state_dict()
    assert len(transformer_layers(model.net.encoder)) == 2
    moved = {k for k in start if not torch.equal(start[k], after[k])}
    assert moved and all(k.startswith("encoder.layer.1.") for k in moved), sorted(moved)[:5]
    assert model.info["frozen_layers"] == 1
    assert all(p.requires_grad for p in model.net.encoder.parameters())


def test_train_layers_refuses_an_encoder_without_a_layer_list():
    import pytest
    import torch

    from trust_tagger.model.finetune import freeze_lower_layers

    assert freeze_lower_layers(torch.nn.Linear(2, 2), None) == 0  # all layers: nothing to look for
    with pytest.raises(ValueError, match="no list of transformer layers"):
        freeze_lower_layers(torch.nn.Linear(2, 2), 2)


def test_a_second_fit_in_the_process_reuses_the_base_encoders_probe_embeddings(model_root, monkeypatch):
    """The linear probe embeds the train papers with the base encoder, whose weights never change: a
    second fit (the simulation's monthly retrains) embeds none of them again, and learns the same heads."""
    import trust_tagger.model.update as U

    train, val = _splits()
    cache = U.EmbeddingCache()
    monkeypatch.setattr(U, "DEFAULT_CACHE", cache)
    first = TrustTagger(tiny_config(tiny_base_model(model_root))).fit(train, val)
    assert cache.misses == len(train) and cache.hits == 0
    second = TrustTagger(tiny_config(tiny_base_model(model_root))).fit(train, val)
    assert cache.misses == len(train) and cache.hits == len(train)
    # The fine-tune changed the encoder in place: it must not answer with the base weights' embeddings.
    base_fp = next(iter(cache._tables))  # the only table so far: the probe's, of the base weights
    fp = U.encoder_fingerprint(second)
    U.forget_fingerprint(second.net.encoder)
    assert fp == U.encoder_fingerprint(second) != base_fp
    assert np.allclose(first.net.head.weight.detach().numpy(), second.net.head.weight.detach().numpy(), atol=1e-5)


def test_large_floor_lifts_only_papers_that_name_a_large_audio_model_and_is_chosen_on_validation(model_root,
                                                                                                  tmp_path):
    from trust_tagger.model.finetune import _rel_ap
    from trust_tagger.model.heads import calibrate, label_matrix, raw_core_logit

    exs = [dataclasses.replace(e, abstract=e.abstract + " on Whisper") if i % 12 in (3, 9, 1) else e
           for i, e in enumerate(synthetic_examples(96))]  # core papers and some others name a large model
    val = [e for i, e in enumerate(exs) if i % 4 in (0, 3)]  # holds core papers (i % 12 == 3)
    train = [e for i, e in enumerate(exs) if i % 4 in (1, 2)]
    # tf-idf at C 4: at the default 16 the tf-idf member alone ranks these synthetic core papers perfectly
    # (core AP 1.0 under every floor), and the floor would have nothing to move.
    cfg = dataclasses.replace(tiny_config(tiny_base_model(model_root)), tfidf_C=4.0)
    model = TrustTagger(cfg).fit(train, val)
    floors = sorted(set(model.config.large_floors) | {0.0})
    assert model.blend["large_floor"] in floors
    parts = model._member_logits(val)
    rel, cls, exact, _, _ = label_matrix(val)
    known = exact | (rel == 0)
    chosen = model.blend["large_floor"]
    keys = {}
    for f in floors:
        model.blend["large_floor"] = f
        raw = model._blend(parts)
        ap = _rel_ap(raw_core_logit(raw, model.config.core_exponent)[known],
                     (cls == 2)[known])
        _, th = calibrate(raw, val)
        keys[f] = (th.core_validation["accept_share"] > 0, round(th.core_validation["auto_share"], 2), round(ap, 6))
    model.blend["large_floor"] = chosen
    # a floor that still merges, then the one that auto-decides most of validation, then the best-ranking
    assert keys[chosen] == max(keys.values()) and all(keys[f] < keys[chosen] for f in floors if f < chosen)
    assert len(set(keys.values())) > 1, keys  # the floor does move the scores here
    assert model.info["large_floor_validation"][str(chosen)]["core_ap"] == keys[chosen][2]

    plain = {"title": "Robust keyword spotting under noise", "abstract": "We attack a small speech model."}
    named = {"title": "Robust keyword spotting under noise", "abstract": "We attack Whisper, a speech model."}
    model.blend["large_floor"] = 0.0
    before = model.raw_scores([plain, named]).large
    model.blend["large_floor"] = 0.9
    after = model.raw_scores([plain, named]).large
    assert after[0] == before[0]  # no large-model name: untouched
    assert after[1] >= np.log(0.9 / 0.1) - 1e-9 and after[1] >= before[1]
    model.save(tmp_path / "m")
    assert TrustTagger.load(tmp_path / "m").blend["large_floor"] == 0.9

    # With a tolerance on the share, the best-ranking floor among those near the best share wins.
    model.config = dataclasses.replace(model.config, large_floor_share_tolerance=1.0)
    model._set_core_blend(parts, val)
    merging = [f for f in floors if keys[f][0]] or floors
    assert model.blend["large_floor"] == max(merging, key=lambda f: (keys[f][2], keys[f][1], -f))


def test_large_model_terms_follow_the_guide():
    from trust_tagger.model.encoder import mentions_large_audio_model

    for text in ("Jailbreaking large audio-language models", "Over-the-air attacks on wav2vec 2.0 ASR",
                 "Hallucinations of Whisper in long-form transcription", "speech foundation models shift with age",
                 "Safety of Qwen-Audio and SALMONN", "zero-shot TTS voice cloning"):
        assert mentions_large_audio_model({"title": text, "abstract": ""}), text
    for text in ("A CNN for bird sound classification", "Whispering-gallery acoustics", "Speaker verification"):
        assert not mentions_large_audio_model({"title": text, "abstract": ""}), text


def test_train_bf16_puts_only_the_training_forward_passes_under_bf16(model_root, monkeypatch):
    """Inference passes (validation included) run in bf16 wherever the CPU has it; training forward passes
    only with ``train_bf16`` (it changes what is learned: benchmarks/experiments/bf16_training.json)."""
    import torch

    from trust_tagger.model import encoder
    from trust_tagger.model import tagger as tagger_module

    monkeypatch.setattr(encoder, "cpu_bf16_supported", lambda: True)
    train, val = _splits()
    seen = set()
    real = tagger_module.build_net

    def build_and_watch(encoder_model, dropout):
        net = real(encoder_model, dropout)
        net.encoder.register_forward_hook(
            lambda mod, args, out: seen.add((mod.training, torch.is_autocast_enabled("cpu"))))
        return net

    monkeypatch.setattr(tagger_module, "build_net", build_and_watch)
    for flag in (False, True):
        seen.clear()
        cfg = dataclasses.replace(tiny_config(tiny_base_model(model_root)), train_bf16=flag)
        model = TrustTagger(cfg).fit(train, val)
        s = model.predict_proba(val)
        assert np.isfinite(s.relevance).all() and np.isfinite(s.core).all()
        assert (False, True) in seen  # inference: bf16
        assert seen & {(True, True), (True, False)} == {(True, flag)}, seen


def test_the_tfidf_members_strength_comes_from_the_config_in_fit_and_in_the_heads_update(model_root):
    import trust_tagger.model.update as U

    train, val = _splits()
    cfg = dataclasses.replace(tiny_config(tiny_base_model(model_root)), tfidf_C=0.03)
    model = TrustTagger(cfg).fit(train, val)
    assert model.members["tfidf"].lr_.rel_.C == 0.03
    weak = np.abs(model.members["tfidf"].lr_.rel_.coef_).max()
    model.config = dataclasses.replace(model.config, tfidf_C=30.0)
    U.update_heads(model, train, val, U.EmbeddingCache())
    assert model.members["tfidf"].lr_.rel_.C == 30.0 and np.abs(model.members["tfidf"].lr_.rel_.coef_).max() > weak


def test_fine_tuning_hands_the_heap_back_every_n_steps_and_after_each_network_pass(model_root, monkeypatch):
    """8 training papers a batch: every 2nd step trims, release_memory() once after the loop, and the end of
    every network pass (here the epoch's validation pass, whose output the blend reuses)."""
    import trust_tagger.model.finetune as F
    import trust_tagger.model.tagger as T

    calls = []
    monkeypatch.setattr(F, "trim_heap", lambda: calls.append("step"))
    monkeypatch.setattr(T, "trim_heap", lambda: calls.append("pass"))
    train, val = _splits()
    cfg = dataclasses.replace(tiny_config(tiny_base_model(model_root)), heap_trim_every=2)
    TrustTagger(cfg).fit(train, val)
    steps = -(-len(train) // cfg.batch_size)
    assert calls.count("step") == steps // 2 + 1  # + release_memory() once the loop is done
    assert calls.count("pass") >= 1 and calls.index("pass") > calls.index("step")
    calls.clear()
    TrustTagger(dataclasses.replace(cfg, heap_trim_every=0)).fit(train, val)
    assert calls.count("step") == 1
