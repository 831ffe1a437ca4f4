"""Keyword hits graded by where they fire: does a title hit say "main subject" better than any hit?

    python benchmarks/experiments/keyword_title_weight.py MODEL_DIR [MODEL_DIR ...]

The guide files a paper under a category when the property is "studied as the main subject"; the
keyword rules fire on a word anywhere in title + abstract, and the category reading mixes their 0/1 hits
in (``heads.choose_label_decoding``). Robustness, the weakest category, gets false second labels on
hallucination papers that only mention robustness in passing. Here the hits mixed into the categories
(and subcategories) are graded: 1 where the pattern matches the title, ``a`` where it matches the
abstract only. The keyword member's relevance keeps the 0/1 hits (as it scored when this ran). On saved benchmark-protocol models
the shipped members are fitted and calibrated as ``fit`` does (keyword shares, label rule and the
subcategory raise re-chosen on validation by ``heads.calibrate``); category macro-F1 on every set
through ``compute_metrics``. Written to ``keyword_title_weight.json``.
"""
import dataclasses
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
# Which categories' hits are graded (their subcategories with them). Added after the first run, which graded all
# of them: only the categories of the words the guide names as used in passing ("robust", "attack", "bias").
GRADED = {"all": CATEGORIES, "passing": ("robustness", "security", "fairness"), "robustness": ("robustness",)}
VARIANTS = [(a, "all") for a in ABSTRACT_ONLY] + [(a, g) for g in ("passing", "robustness") for a in (0.5, 0.0)]


def graded_hits(a: float, graded=CATEGORIES):
    def hits(records):
        titles = [str(_get(r, "title") or "").lower() for r in records]
        texts = [baselines.record_text(r).lower() for r in records]

        def grade(labels):
            pats = [re.compile(baselines.rule(label)) for label in labels]
            w = [a if label.split("/")[0] in graded else 1.0 for label in labels]
            return np.array([[1.0 if p.search(ti) else (wj if p.search(tx) else 0.0) for p, wj in zip(pats, w)]
                             for ti, tx in zip(titles, texts)], dtype=np.float32).reshape(-1, len(labels))
        return grade(CATEGORIES), grade(SUBCATEGORIES)
    return hits


_plain_scores = baselines.KeywordRules.scores_from_hits


def binary_scores(self, hit_c, hit_s, audio, hit_title):  # the keyword member: the 0/1 hits as shipped then
    return _plain_scores(self, np.asarray(hit_c > 0, np.float32), np.asarray(hit_s > 0, np.float32), audio, hit_title)


baselines.KeywordRules.scores_from_hits = binary_scores
# The relevance member as it was when this ran (every hit alike, keywords 0.3 + neighbours 0.2); the
# category figures do not depend on it.
AS_THEN = {"keyword_abstract_weight": 1.0, "relevance_shares": {"keywords": 0.3, "neighbours": 0.2}}

OUT = Path(__file__).with_suffix(".json")
rows = json.loads(OUT.read_text()) if OUT.exists() else []  # variants already measured are kept, not rerun
done = {(r["model"], r["abstract_only"], r.get("graded", "all")) for r in rows}
for md in sys.argv[1:]:
    todo = [v for v in VARIANTS if (md, *v) not in done]
    if not todo:
        continue
    m = fit_shipped_members(TrustTagger.load(md), train, val)
    m.config = dataclasses.replace(m.config, **AS_THEN)
    m.members["keywords"] = baselines.KeywordRules(AS_THEN["keyword_abstract_weight"])
    for a, g in todo:
        tagger_mod.keyword_hits = graded_hits(a, GRADED[g])
        recalibrate(m, val)
        row = {"model": md, "abstract_only": a, "graded": g, "raised": m.calibration.categories_from_subcategories,
               "rule": m.thresholds.category_rule, "keyword_weights": [m.calibration.category_keyword_weight, m.calibration.subcategory_keyword_weight]}
        for n, ex in sets.items():
            r = compute_metrics(m.predict_proba(ex), ex, m.thresholds)
            row[n] = {k: r.get(k) for k in ("relevance_ap", "core_ap", "category_macro_f1", "subcategory_macro_f1")}
            if n == "holdout":
                row["holdout_per_category"] = {c: v["f1"] for c, v in r["per_category"].items()}
        print(Path(md).name, json.dumps(row, default=lambda v: round(v, 3) if isinstance(v, float) else str(v)), flush=True)
        rows.append(row)
OUT.write_text(json.dumps(rows, indent=1, default=str) + "\n")
