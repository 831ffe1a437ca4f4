"""Measured, not shipped: two more relevance members after the fine-tune, ranked by average precision.

    python benchmarks/experiments/relevance_members.py MODEL_DIR [MODEL_DIR ...]

On saved default-recipe models of the benchmark protocol (``bench_classifier._data``), the shipped relevance
logit (net 0.5 + tf-idf 0.5 + audio gate) gets a share of
- the keyword rules' relevance logit (``KeywordRules``), and / or
- a neighbour vote: the softmax(similarity / t)-weighted share of relevant papers among the k training
  papers nearest in the fine-tuned net's embedding, as a logit (clipped to 0.02-0.98).
The other two shares shrink to keep the weights summing to one. AP is rank-based, so no recalibration is
needed to compare. Writes ``relevance_members.json`` next to this script.
"""
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src")); sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_classifier import _data  # noqa: E402
from knn_labels import vote  # noqa: E402 (the same neighbour vote as the filing experiment)
from sklearn.metrics import average_precision_score as AP  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model.baselines import KeywordRules  # noqa: E402
from trust_tagger.model.calibration import logit  # noqa: E402
from trust_tagger.model.encoder import set_offline_defaults  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402

set_offline_defaults()
train, val, holdout, test, later, *_ = _data(load_settings())
sets = {"validation": val, "holdout": holdout, "test": test, "later": later}
y = {n: np.array([e.relevance >= 1 for e in ex]) for n, ex in sets.items()}
ytr = np.array([e.relevance >= 1 for e in train], dtype=float)
out = {"relevant / papers": {n: [int(v.sum()), len(v)] for n, v in y.items()}, "rows": []}
for md in sys.argv[1:]:
    m = TrustTagger.load(md)
    _, Etr = m._net_logits(train)
    P, E, K = {}, {}, {}
    for n, ex in sets.items():
        P[n] = m._member_logits(ex)
        _, E[n] = m._net_logits(ex)
        K[n] = logit(np.clip(KeywordRules().predict_proba(ex).relevance, 1e-4, 1 - 1e-4))
    def base(n):
        g = P[n]["audio_gate"]["relevance"] if "audio_gate" in P[n] else 0
        return P[n]["net"]["relevance"], P[n]["tfidf"]["relevance"], g
    def knn(n, k, t=0.1):
        return logit(np.clip(vote(E[n], Etr, ytr[:, None], k, t)[:, 0], 0.02, 0.98))
    variants = {"shipped": lambda n: 0.5 * base(n)[0] + 0.5 * base(n)[1] + base(n)[2]}
    def mix(wk, wn, k, t):
        return lambda n: (1 - wk - wn) / 2 * (base(n)[0] + base(n)[1]) + wk * K[n] + wn * (knn(n, k, t) if wn else 0) + base(n)[2]
    for k in (5, 10, 20):
        for t in (0.05, 0.1, 1.0):
            for wn in ((0.1, 0.2, 0.33) if k == 10 else (0.2,)):
                variants[f"knn k{k} t{t} {wn}"] = mix(0, wn, k, t)
    # 0.4 / 0.5 and a 0.3 vote added after 0.3 / 0.2, the first grid's best on validation, sat at its edge
    for wk in (0.1, 0.2, 0.3, 0.4, 0.5):
        variants[f"kw {wk}"] = mix(wk, 0, 10, 0.1)
        for wn in (0.1, 0.2, 0.3):
            if wk + wn < 0.8:
                variants[f"kw {wk} knn10 {wn}"] = mix(wk, wn, 10, 0.1)
    for name, f in variants.items():
        out["rows"].append({"model": md, "variant": name, **{n: round(float(AP(y[n], f(n))), 4) for n in sets}})
        print(Path(md).name, f"{name:16s}", " ".join(f"{n[:4]} {AP(y[n], f(n)):.3f}" for n in sets), flush=True)
Path(__file__).with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
