"""Measured before it shipped (heads.choose_keyword_weight): category probabilities blended with the keyword rules' hits, weight and thresholds chosen on validation (run from the repo root: python benchmarks/experiments/category_keyword_blend.py MODEL_DIR)."""
import sys, json
from pathlib import Path
import numpy as np
root = Path.cwd()
sys.path.insert(0, str(root / "src")); sys.path.insert(0, str(root / "benchmarks"))
from bench_classifier import _data
from trust_tagger.config import load_settings
from trust_tagger.model.tagger import TrustTagger
from trust_tagger.model.baselines import KeywordRules
from trust_tagger.model.heads import label_matrix
from trust_tagger.taxonomy import CATEGORIES
from sklearn.metrics import f1_score

settings = load_settings()
train, val, holdout, test, later, added, pool, protocol = _data(settings)
m = TrustTagger.load(sys.argv[1])
kw = KeywordRules()
out = {}
def prep(exs):
    s = m.predict_proba(exs); k = kw.predict_proba(exs)
    rel, cls, exact, cats, subs = label_matrix(exs)
    pos = rel > 0
    return s.categories[pos], k.categories[pos] > 0.5, cats[pos].astype(int)
V = prep(val); H = prep(holdout)
th = np.array([m.thresholds.categories.get(c, .5) for c in CATEGORIES])
def macro(Y, P):
    present = Y.sum(0) > 0
    return float(np.mean([f1_score(Y[:, j], P[:, j], zero_division=0) for j in range(Y.shape[1]) if present[j]]))
def per(Y, P):
    return {c: round(f1_score(Y[:, j], P[:, j], zero_division=0), 3) for j, c in enumerate(CATEGORIES)}
def variants(S, K, Y, t, w=None, fb=False):
    P = S if w is None else (1 - w) * S + w * K.astype(float)
    pred = (P >= t).astype(int)
    if fb:
        none = pred.sum(1) == 0
        pred[none, P[none].argmax(1)] = 1
    return pred
from trust_tagger.routing import choose_label_thresholds
res = {}
res["support_val"] = V[2].sum(0).tolist(); res["support_hold"] = H[2].sum(0).tolist()
res["labels_per_paper_val"] = float(V[2].sum(1).mean())
for name, w, fb in [("as_is", None, False), ("fallback", None, True)] + [(f"kw{w}", w, False) for w in (0.1, 0.2, 0.3, 0.5)] + [(f"kw{w}+fb", w, True) for w in (0.1, 0.2, 0.3)]:
    if w is None:
        t = th
    else:
        Pv = (1 - w) * V[0] + w * V[1].astype(float)
        tt = choose_label_thresholds(Pv, V[2], CATEGORIES); t = np.array([tt[c] for c in CATEGORIES])
    pv = variants(*V, t, w, fb); ph = variants(*H, t, w, fb)
    res[name] = {"val": round(macro(V[2], pv), 3), "hold": round(macro(H[2], ph), 3)}
res["per_cat_hold_as_is"] = per(H[2], variants(*H, th))
res["per_cat_hold_kw"] = per(H[2], H[1].astype(int))
res["thresholds"] = th.tolist()
print(json.dumps(res, indent=1))
