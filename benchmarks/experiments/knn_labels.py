"""Measured, not shipped: filing by the list's own neighbours. Would the files of the most similar
training papers (the list's own choices, and the annotators') file a new paper better than the heads?

    python benchmarks/experiments/knn_labels.py MODEL_DIR [MODEL_DIR ...]

For each saved model: the fine-tuned net's embedding of every relevant training paper of the classifier
benchmark's protocol (``bench_classifier._data``) is the index. A paper's neighbour vote is the
softmax(similarity / temperature)-weighted mean of its k nearest training papers' label vectors, mixed
into the model's calibrated probabilities as ``(1 - w) P + w vote``. Reported on the relevant papers of
validation (dense 2026-03), the temporal holdout, the frozen test split and the later list papers:

- subcategory top-1 hit: the most likely subcategory is among the labels' (the file a merge would get
  first; the filing figure counts only the few merged core papers);
- category and subcategory macro-F1, with the label rule re-chosen by cross-validated macro-F1 on
  validation and refitted there, as ``heads.choose_label_decoding`` does.

Writes ``knn_labels.json`` next to this script.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src")); sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_classifier import _data  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model.encoder import set_offline_defaults  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.routing import (LABEL_RULES, cross_validated_macro_f1, fit_label_rule, label_mask,  # noqa: E402
                                  present_macro_f1)
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES  # noqa: E402

GROUPS = {"categories": CATEGORIES, "subcategories": SUBCATEGORIES}
GRID = [(k, t, w) for k in (5, 10, 20) for t in (0.05, 1.0) for w in (0.0, 0.1, 0.2, 0.3, 0.5)]


def targets(examples, group: str) -> np.ndarray:
    names = GROUPS[group]
    y = np.zeros((len(examples), len(names)), dtype=int)
    for i, e in enumerate(examples):
        for n in getattr(e, group):
            if n in names:
                y[i, names.index(n)] = 1
    return y


def vote(E: np.ndarray, index: np.ndarray, Y: np.ndarray, k: int, temp: float) -> np.ndarray:
    S = E @ index.T  # the net's embeddings are unit vectors: cosine similarity
    idx = np.argsort(-S, 1)[:, :k]
    w = np.exp(np.take_along_axis(S, idx, 1) / temp)
    w /= w.sum(1, keepdims=True)
    return (w[:, :, None] * Y[idx]).sum(1)


def measure(model_dir: str, sets: dict) -> list[dict]:
    m = TrustTagger.load(model_dir)
    emb, P = {}, {}
    for name, exs in sets.items():
        _, emb[name] = m._net_logits(exs)
        if name != "train":
            s = m.predict_proba(exs)
            P[name] = {"categories": s.categories, "subcategories": s.subcategories}
    rows = []
    for k, temp, w in GRID:
        row = {"model": model_dir, "k": k, "temperature": temp, "w": w}
        for group in GROUPS:
            V = {n: vote(emb[n], emb["train"], targets(sets["train"], group), k, temp) for n in P}
            M = {n: (1 - w) * P[n][group] + w * V[n] for n in P}
            yv = targets(sets["validation"], group)
            cv = {kind: cross_validated_macro_f1(M["validation"], yv, GROUPS[group], kind) for kind in LABEL_RULES}
            kind = max(cv, key=cv.get)
            cuts, rule = fit_label_rule(M["validation"], yv, GROUPS[group], kind)
            row[group] = {"rule": kind, "validation_cv": cv[kind]}
            for n in P:
                y = targets(sets[n], group)
                row[group][n] = present_macro_f1(y, label_mask(M[n], GROUPS[group], cuts, rule).astype(int))
                if group == "subcategories":
                    row.setdefault("top1", {})[n] = float(y[np.arange(len(y)), M[n].argmax(1)].mean())
        rows.append(row)
        print(json.dumps({key: row[key] for key in ("k", "temperature", "w", "top1")}), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    set_offline_defaults()
    train, val, holdout, test, later, *_ = _data(load_settings())
    rel = lambda exs: [e for e in exs if e.relevance >= 1 and e.categories]  # noqa: E731
    sets = {"train": rel(train), "validation": rel(val), "holdout": rel(holdout), "test": rel(test),
            "later": rel(later)}
    out = {"papers": {n: len(v) for n, v in sets.items()}, "rows": []}
    for model_dir in args.models:
        out["rows"] += measure(model_dir, sets)
    (Path(__file__).with_suffix(".json")).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
