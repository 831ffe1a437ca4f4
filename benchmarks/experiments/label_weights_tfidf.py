"""Weights by label level and by source, screened on the cheap member: does upweighting relevance-1 papers
(the holdout's misses are borderline relevance-1 papers) or the dense-labeled papers (the feed's own prior)
help the tf-idf logistic regression (C 16, the blend's member) on validation (dense 2026-03)? Weights pass
as ``sample_weight`` to every head (``TfidfLR.fit``); calibration and thresholds as shipped.
Run from the repo root: ``python benchmarks/experiments/label_weights_tfidf.py [OUT.json]`` (~2 min).
"""
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

root = Path.cwd()
sys.path.insert(0, str(root / "src")); sys.path.insert(0, str(root / "benchmarks"))
from bench_classifier import _data  # noqa: E402

from recency_tfidf import weighted_tfidf_row  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402


def weights(train, a_rel1, a_dense):
    w = np.array([(a_rel1 if e.relevance == 1 else 1.0) * (a_dense if e.source == "dense" else 1.0) for e in train])
    return w / w.mean()


settings = load_settings()
train, val, holdout, test, later, added, pool, protocol = _data(settings)
out = {"train_source_relevance": {f"{src}/{r}": n for (src, r), n in sorted(Counter((e.source, e.relevance) for e in train).items())}}
sets = {"validation": val, "holdout": holdout, "later": later}
for a1, ad in [(1,1),(1.5,1),(2,1),(3,1),(1,0.5),(1,2),(1,3),(2,2)]:
    row = weighted_tfidf_row(train, val, sets, weights(train, a1, ad))
    out[f"relevance1={a1},dense={ad}"] = row
    print(a1, ad, json.dumps(row), flush=True)
Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/experiments/label_weights_tfidf.json").write_text(json.dumps(out, indent=2))
