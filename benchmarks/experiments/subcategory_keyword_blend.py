"""Measured before it shipped (heads.choose_keyword_weight): subcategory probabilities blended with the keyword rules' hits (python benchmarks/experiments/subcategory_keyword_blend.py MODEL_DIR)."""
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
from trust_tagger.taxonomy import SUBCATEGORIES
from trust_tagger.routing import choose_label_thresholds
from sklearn.metrics import f1_score
settings = load_settings()
train, val, holdout, test, later, added, pool, protocol = _data(settings)
m = TrustTagger.load(sys.argv[1]); kw = KeywordRules()
def prep(exs):
    s = m.predict_proba(exs); k = kw.predict_proba(exs)
    rel, cls, exact, cats, subs = label_matrix(exs)
    pos = rel > 0
    return s.subcategories[pos], (k.subcategories[pos] > 0.5).astype(float), subs[pos].astype(int), s.core[pos]
V, H = prep(val), prep(holdout)
def macro(Y, P):
    pr = Y.sum(0) > 0
    return float(np.mean([f1_score(Y[:, j], P[:, j], zero_division=0) for j in range(Y.shape[1]) if pr[j]]))
res = {}
for w in (0, .1, .2, .3, .5):
    out = {}
    tt = choose_label_thresholds((1 - w) * V[0] + w * V[1], V[2], SUBCATEGORIES)
    t = np.array([tt[s] for s in SUBCATEGORIES])
    for nm, D in (("val", V), ("hold", H)):
        P = (1 - w) * D[0] + w * D[1]
        top = P.argmax(1)
        ok = D[2][np.arange(len(top)), top] == 1
        hi = D[3] >= 0.5
        out[nm] = {"sub_f1": round(macro(D[2], (P >= t).astype(int)), 3), "top1_ok": round(float(ok.mean()), 3),
                   "top1_ok_core>=.5": f"{int(ok[hi].sum())}/{int(hi.sum())}"}
    res[str(w)] = out
print(json.dumps(res, indent=1))
