"""The classifier on a tiny BERT: fit, predict, save/load round trip, manifest integrity."""

import json

import numpy as np
import pytest

from _tiny_model import copy_model, synthetic_examples, trained_tiny_model
from trust_tagger.model.artifacts import ModelIntegrityError, verify_manifest
from trust_tagger.model.tagger import TrustTagger
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES


def test_fit_predict_save_load_round_trip(model_root, tmp_path):
    path = trained_tiny_model(model_root)
    m = TrustTagger.load(path)
    papers = [{"title": e.title, "abstract": e.abstract} for e in synthetic_examples(12, seed=5)]
    s = m.predict_proba(papers)
    assert s.relevance.shape == (12,) and s.categories.shape == (12, len(CATEGORIES))
    assert s.subcategories.shape == (12, len(SUBCATEGORIES)) and s.relevance_class.shape == (12, 3)
    assert np.all((s.relevance >= 0) & (s.relevance <= 1))
    assert np.allclose(s.relevance_class.sum(1), 1) and np.allclose(s.relevance_class[:, 0], 1 - s.relevance)
    # Saving the loaded model again and re-loading predicts the same numbers.
    m.save(tmp_path / "again")
    s2 = TrustTagger.load(tmp_path / "again").predict_proba(papers)
    assert np.allclose(s.relevance, s2.relevance, atol=1e-5)
    assert np.allclose(s.categories, s2.categories, atol=1e-5)
    for name in ("model.safetensors", "tokenizer/tokenizer.json", "label_map.json", "calibration.json",
                 "thresholds.json", "manifest.json", "tagger.json"):
        assert (tmp_path / "again" / name).exists(), name
    assert json.loads((tmp_path / "again" / "label_map.json").read_text())["categories"] == list(CATEGORIES)


def test_corrupted_file_is_refused_and_named(model_root, tmp_path):
    d = copy_model(model_root, tmp_path / "m")
    verify_manifest(d)
    weights = d / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="model.safetensors"):
        TrustTagger.load(d)


def test_missing_file_and_missing_manifest(model_root, tmp_path):
    d = copy_model(model_root, tmp_path / "m")
    (d / "thresholds.json").unlink()
    with pytest.raises(ModelIntegrityError, match="thresholds.json"):
        verify_manifest(d)
    (d / "manifest.json").unlink()
    with pytest.raises(ModelIntegrityError, match="no manifest"):
        TrustTagger.load(d)


def test_empty_input_and_baselines_interface():
    from trust_tagger.model.baselines import KeywordRules, TfidfLR

    exs = synthetic_examples(40)
    rules = KeywordRules().fit(exs).predict_proba(exs)
    assert rules.relevance.shape == (40,)
    s = TfidfLR().fit(exs).predict_proba(exs)
    assert s.categories.shape == (40, len(CATEGORIES))


def test_inference_precision_follows_the_cpu_and_the_switch(model_root, monkeypatch):
    """bf16 on a CPU that has it natively, float32 when switched off or emulated; scores agree closely."""
    import torch

    from trust_tagger.model import encoder

    cpu = torch.device("cpu")
    monkeypatch.setattr(encoder, "cpu_bf16_supported", lambda: True)
    with encoder.autocast(cpu):
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")
    monkeypatch.setenv("TRUST_TAGGER_CPU_BF16", "0")
    with encoder.autocast(cpu):
        assert not torch.is_autocast_enabled("cpu")
    monkeypatch.delenv("TRUST_TAGGER_CPU_BF16")
    monkeypatch.setattr(encoder, "cpu_bf16_supported", lambda: False)
    with encoder.autocast(cpu):
        assert not torch.is_autocast_enabled("cpu")

    m = TrustTagger.load(trained_tiny_model(model_root))
    papers = [{"title": e.title, "abstract": e.abstract} for e in synthetic_examples(16, seed=7)]
    fp32 = m.predict_proba(papers)
    monkeypatch.setattr(encoder, "cpu_bf16_supported", lambda: True)
    bf16 = m.predict_proba(papers)
    assert np.abs(fp32.relevance - bf16.relevance).max() < 0.05
    assert np.abs(fp32.core - bf16.core).max() < 0.05
