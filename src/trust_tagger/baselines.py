"""Cheap reference classifiers with the same ``fit`` / ``predict_proba`` interface as the tagger.

They exist for two reasons: the benchmark must show the fine-tuned model beats them, and the
tf-idf and frozen-embedding models are also ensemble members of the tagger itself (they are
robust on papers unlike the training set, where fine-tuning alone was measured to overfit).

``predict_proba(examples)`` returns a :class:`Scores` (relevance P(rel>=1), relevance class, and
per-category / per-subcategory probabilities *given* the paper is relevant).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from trust_tagger.dataset import CATEGORIES, SUBCATEGORIES


@dataclass
class Scores:
    """Per-paper probabilities; categories and subcategories are conditional on relevance."""

    relevance: np.ndarray  # (n,)
    relevance_class: np.ndarray  # (n, 3)
    categories: np.ndarray  # (n, len(CATEGORIES))
    subcategories: np.ndarray  # (n, len(SUBCATEGORIES))

    def __len__(self) -> int:
        return len(self.relevance)

    def take(self, idx) -> "Scores":
        return Scores(self.relevance[idx], self.relevance_class[idx], self.categories[idx], self.subcategories[idx])


def _get(rec, name, default=""):
    return rec.get(name, default) if isinstance(rec, dict) else getattr(rec, name, default)


def record_text(rec) -> str:
    """Title + abstract; arXiv categories were measured to add nothing (validation and later papers)."""
    from trust_tagger.encoder import paper_text

    return paper_text(str(_get(rec, "title") or ""), str(_get(rec, "abstract") or ""))


def label_matrix(examples) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(relevant, relevance class, class-known mask, category matrix, subcategory matrix)."""
    rel = np.array([e.relevance >= 1 for e in examples], dtype=np.float32)
    cls = np.array([e.relevance for e in examples], dtype=np.int64)
    exact = np.array([e.relevance_exact for e in examples], dtype=bool)
    cats = np.array([[c in e.categories for c in CATEGORIES] for e in examples], dtype=np.float32).reshape(-1, len(CATEGORIES))
    subs = np.array([[s in e.subcategories for s in SUBCATEGORIES] for e in examples],
                    dtype=np.float32).reshape(-1, len(SUBCATEGORIES))
    return rel, cls, exact, cats, subs


class _Constant:
    """Stand-in for a label with a single class in training: predicts its training rate."""

    def __init__(self, p: float):
        self.p = p

    def predict_proba(self, X):
        n = X.shape[0]
        return np.column_stack([np.full(n, 1 - self.p), np.full(n, self.p)])


class FeatureLR:
    """One logistic regression per head on a fixed feature matrix (the shared part of both baselines)."""

    def __init__(self, C: float = 1.0, balanced: bool = True, label_C: float | None = None):
        self.C = C
        self.label_C = label_C or C  # categories/subcategories: few positives, measured to want weaker L2
        self.balanced = balanced

    def _lr(self, X, y, C=None):
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y)
        if len(np.unique(y)) < 2:
            return _Constant(float(y.mean()) if len(y) else 0.0)
        return LogisticRegression(C=C or self.C, max_iter=3000,
                                  class_weight="balanced" if self.balanced else None).fit(X, y)

    def fit_features(self, X, examples) -> "FeatureLR":
        rel, cls, exact, cats, subs = label_matrix(examples)
        self.rel_ = self._lr(X, rel)
        keep = exact
        self.cls_ = self._lr(X[keep], cls[keep]) if keep.any() else None
        pos = rel > 0
        self.cats_ = [self._lr(X[pos], cats[pos, j], self.label_C) for j in range(cats.shape[1])]
        self.subs_ = [self._lr(X[pos], subs[pos, j], self.label_C) for j in range(subs.shape[1])]
        return self

    def scores_from_features(self, X) -> Scores:
        rel = self.rel_.predict_proba(X)[:, 1]
        cls = np.zeros((X.shape[0], 3))
        if self.cls_ is not None and hasattr(self.cls_, "classes_"):
            cls[:, list(self.cls_.classes_)] = self.cls_.predict_proba(X)
        else:
            cls[:, 0] = 1 - rel
            cls[:, 1] = rel
        cats = np.column_stack([m.predict_proba(X)[:, 1] for m in self.cats_])
        subs = np.column_stack([m.predict_proba(X)[:, 1] for m in self.subs_])
        return Scores(rel, cls, cats, subs)


class TfidfLR:
    """arxiv-sanity style: tf-idf of word 1-2 grams, logistic regression per head. Trains in ~1 s."""

    name = "tfidf_lr"

    def __init__(self, C: float = 4.0, label_C: float = 16.0, max_features: int = 50000):
        self.C = C
        self.label_C = label_C
        self.max_features = max_features

    def fit(self, examples, y=None) -> "TfidfLR":
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [record_text(e) for e in examples]
        self.vec_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=self.max_features,
                                    strip_accents="unicode")
        X = self.vec_.fit_transform(texts)
        self.lr_ = FeatureLR(self.C, label_C=self.label_C).fit_features(X, examples)
        return self

    def predict_proba(self, records) -> Scores:
        return self.lr_.scores_from_features(self.vec_.transform([record_text(r) for r in records]))


class FrozenEmbeddingLR:
    """Mean-pooled MiniLM embeddings (not fine-tuned) + logistic regression per head.

    Measured to generalise better to later papers than a plain fine-tune, hence also an ensemble member.
    """

    name = "frozen_emb_lr"

    def __init__(self, base_model: str | None = None, C: float = 1.0, label_C: float = 16.0, max_length: int = 256,
                 batch_size: int = 32):
        self.base_model = base_model
        self.C = C
        self.label_C = label_C
        self.max_length = max_length
        self.batch_size = batch_size
        self._enc = None

    def _encoder(self):
        if self._enc is None:
            from trust_tagger.encoder import load_encoder, pick_device

            dev = pick_device()
            tok, model = load_encoder(self.base_model)
            self._enc = (tok, model.to(dev).eval())
        return self._enc

    def embed(self, records, progress=None) -> np.ndarray:
        from trust_tagger.encoder import embed_texts

        tok, model = self._encoder()
        return embed_texts(tok, model, [record_text(r) for r in records], self.max_length, self.batch_size,
                           progress=progress)

    def fit(self, examples, y=None, features: np.ndarray | None = None) -> "FrozenEmbeddingLR":
        X = features if features is not None else self.embed(examples)
        self.lr_ = FeatureLR(self.C, label_C=self.label_C).fit_features(X, examples)
        return self

    def predict_proba(self, records, features: np.ndarray | None = None) -> Scores:
        X = features if features is not None else self.embed(records)
        return self.lr_.scores_from_features(X)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_enc"] = None  # the encoder is re-loaded from the base model, never pickled
        return state


# Words without which a paper is not about audio/speech at all (guide: such trust papers are 0).
# Measured on the labeled set: 26 papers lack all of them, none a true positive (one list error);
# 98 of the 6,516 pool papers lack them.
AUDIO_TERMS = re.compile(
    r"audio|speech|spoken|speaker|voice|\basr\b|\btts\b|acoustic|sound|whisper|wav2vec|hubert|music|song|vocal|"
    r"listen|hearing|utterance|phonem|phonetic|prosod|singing|auditory|spectrogram|waveform", re.IGNORECASE)


def mentions_audio(rec) -> bool:
    return AUDIO_TERMS.search(record_text(rec)) is not None


# Keyword rules: what a maintainer would grep for. Patterns per category; relevance needs an audio word.
_AUDIO = AUDIO_TERMS.pattern
_RULES: dict[str, str] = {
    "safety": r"jailbreak|deepfake|deep-fake|spoof|anti-spoofing|harmful|red[- ]team|guardrail|refusal|safety|"
              r"misuse|voice clon|fake audio|synthetic speech detection",
    "security": r"adversarial (example|attack|perturbation)|backdoor|poison|evasion attack|trojan|"
                r"attack(s)? (on|against)|prompt injection",
    "privacy": r"privacy|anonymi[sz]|membership inference|differential(ly)? privat|federated|watermark|"
               r"copyright|de-identif|leakage",
    "fairness": r"fairness|\bbias(es|ed)?\b|demographic|gender gap|accent gap|equitab|debias",
    "hallucination": r"hallucinat|faithful|uncertainty|calibrat|overconfiden",
    "robustness": r"robustness|distribution shift|domain shift|out-of-distribution|perturbation|corrupt",
    "interpretability": r"interpretab|explainab|probing|attribution|mechanistic|saliency|explanation",
}
_SUB_RULES: dict[str, str] = {
    "safety/jailbreak": r"jailbreak", "safety/deepfake": r"deepfake|deep-fake|spoof|fake audio|synthetic speech detection",
    "safety/alignment": r"alignment|refusal", "safety/prompt_injection": r"prompt injection",
    "safety/defense": r"guardrail|defen[cs]e", "security/adversarial_examples": r"adversarial",
    "security/poison_and_backdoor": r"backdoor|poison|trojan", "privacy/watermark_and_copyright": r"watermark|copyright",
}


class KeywordRules:
    """Hand-written regexes: the floor any learned model must clear. ``fit`` learns nothing."""

    name = "keyword_rules"

    def fit(self, examples=None, y=None) -> "KeywordRules":
        return self

    def predict_proba(self, records) -> Scores:
        n = len(records)
        cats = np.zeros((n, len(CATEGORIES)))
        subs = np.zeros((n, len(SUBCATEGORIES)))
        rel = np.zeros(n)
        for i, r in enumerate(records):
            text = record_text(r).lower()
            audio = AUDIO_TERMS.search(text) is not None
            hits = [bool(re.search(_RULES[c], text)) for c in CATEGORIES]
            cats[i] = [0.9 if h else 0.05 for h in hits]
            for j, s in enumerate(SUBCATEGORIES):
                pat = _SUB_RULES.get(s)
                if pat is None:
                    pat = _RULES[s.split("/")[0]]
                subs[i, j] = 0.9 if re.search(pat, text) else 0.05
            k = sum(hits)
            rel[i] = (0.15 + 0.25 * min(k, 3)) * (1.0 if audio else 0.3)
        cls = np.column_stack([1 - rel, rel * 0.75, rel * 0.25])
        return Scores(rel, cls, cats, subs)
