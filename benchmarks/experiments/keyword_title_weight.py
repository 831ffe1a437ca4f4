"""Keyword hits graded by where they fire: does a title hit say "main subject" better than any hit?

    python benchmarks/experiments/keyword_title_weight.py MODEL_DIR [MODEL_DIR ...]

The guide files a paper under a category when the property is "studied as the main subject"; the
keyword rules fire on a word anywhere in title + abstract, and the category reading mixes their 0/1 hits
in (``heads.choose_label_decoding``). Robustness, the weakest category, gets false second labels on
hallucination papers that only mention robustness in passing. Here the hits mixed into the categories
(and subcategories) are graded: 1 where the pattern matches the title, ``a`` where it matches the
abstract only. The keyword member's relevance keeps the 0/1 hits. On saved benchmark-protocol models
the shipped members are fitted and calibrated as ``fit`` does (keyword shares, label rule and the
subcategory raise re-chosen on validation by ``heads.calibrate``); category macro-F1 on every set
through ``compute_metrics``. Written to ``keyword_title_weight.json``.
"""
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src")); sys.path.insert(0, str(ROOT / "benchmarks"))
from _shipped import fit_shipped_members, recalibrate  # noqa: E402
from bench_classifier import _data  # noqa: E402

import trust_tagger.model.tagger as tagger_mod  # noqa: E402
from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model import baselines  # noqa: E402
from trust_tagger.model.encoder import _get, set_offline_defaults  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES  # noqa: E402

set_offline_defaults()
train, val, holdout, test, later, added, pool, _ = _data(load_settings())
sets = {"validation": val, "holdout": holdout, "test": test, "later": later}
ABSTRACT_ONLY = [1.0, 0.5, 0.25, 0.0]  # 1.0: the shipped 0/1 hits

_plain_scores = baselines.KeywordRules.scores_from_hits


def graded_hits(a: float):
    def hits(records):
        titles = [str(_get(r, "title") or "").lower() for r in records]
        texts = [baselines.record_text(r).lower() for r in records]

        def grade(labels):
            pats = [re.compile(baselines.rule(label)) for label in labels]
            return np.array([[1.0 if p.search(ti) else (a if p.search(tx) else 0.0) for p in pats]
                             for ti, tx in zip(titles, texts)], dtype=np.float32).reshape(-1, len(labels))
        return grade(CATEGORIES), grade(SUBCATEGORIES)
    return hits


def binary_scores(hit_c, hit_s, audio):  # the keyword member's relevance and heads: the 0/1 hits as shipped
    return _plain_scores(np.asarray(hit_c > 0, np.float32), np.asarray(hit_s > 0, np.float32), audio)


baselines.KeywordRules.scores_from_hits = staticmethod(binary_scores)

rows = []
for md in sys.argv[1:]:
    m = fit_shipped_members(TrustTagger.load(md), train, val)
    for a in ABSTRACT_ONLY:
        tagger_mod.keyword_hits = graded_hits(a)
        recalibrate(m, val)
        row = {"model": md, "abstract_only": a, "raised": m.calibration.categories_from_subcategories,
               "rule": m.thresholds.category_rule, "keyword_weights": [m.calibration.category_keyword_weight, m.calibration.subcategory_keyword_weight]}
        for n, ex in sets.items():
            r = compute_metrics(m.predict_proba(ex), ex, m.thresholds)
            row[n] = {k: r.get(k) for k in ("relevance_ap", "core_ap", "category_macro_f1", "subcategory_macro_f1")}
            if n == "holdout":
                row["holdout_per_category"] = {c: v["f1"] for c, v in r["per_category"].items()}
        print(Path(md).name, json.dumps(row, default=lambda v: round(v, 3) if isinstance(v, float) else str(v)), flush=True)
        rows.append(row)
Path(__file__).with_suffix(".json").write_text(json.dumps(rows, indent=1, default=str) + "\n")
