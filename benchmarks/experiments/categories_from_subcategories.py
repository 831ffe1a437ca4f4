"""Categories read from the subcategory heads too: is P(category) better raised to its best subcategory's?

    python benchmarks/experiments/categories_from_subcategories.py MODEL_DIR [MODEL_DIR ...]

The subcategory heads are a second reading of the same labels (four categories have a single
``general`` subcategory), trained with their own loss weight. On saved benchmark-protocol models
(``bench_classifier._data``) the members are fitted and calibrated as ``fit`` does (the keyword shares
chosen as shipped), then the category probabilities are read four ways: as they are (``cat``), raised to
the best subcategory's (``max``, ``calibration.raise_to_subcategories``), the mean of the two (``mean``), the
subcategories' alone (``sub``). Each reading gets its label rule chosen by cross-validation on validation
(``routing.cross_validated_macro_f1``, as ``heads.choose_label_decoding``) and refitted on all of it;
category macro-F1 on every set. ``product`` is what ``heads.calibrate`` chose and scores through
``compute_metrics``. Written to ``categories_from_subcategories.json``.
"""
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src")); sys.path.insert(0, str(ROOT / "benchmarks"))
from _shipped import fit_shipped_members  # noqa: E402
from bench_classifier import _data  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model.calibration import raise_to_subcategories  # noqa: E402
from trust_tagger.model.encoder import set_offline_defaults  # noqa: E402
from trust_tagger.model.heads import label_matrix  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402
from trust_tagger.routing import LABEL_RULES, cross_validated_macro_f1, fit_label_rule, label_mask, present_macro_f1  # noqa: E402
from trust_tagger.taxonomy import CATEGORIES  # noqa: E402

set_offline_defaults()
train, val, holdout, test, later, added, pool, _ = _data(load_settings())
sets = {"validation": val, "holdout": holdout, "test": test, "later": later}
READINGS = {"cat": lambda c, s: c, "max": raise_to_subcategories, "mean": lambda c, s: 0.5 * (c + raise_to_subcategories(c, s)),
            "sub": lambda c, s: raise_to_subcategories(np.zeros_like(c), s)}

rows = []
for md in sys.argv[1:]:
    m = fit_shipped_members(TrustTagger.load(md), train, val)
    row = {"model": md, "product": {"raised": m.calibration.categories_from_subcategories,
                                    "rule": m.thresholds.category_rule}}
    for n, ex in sets.items():
        r = compute_metrics(m.predict_proba(ex), ex, m.thresholds)
        row["product"][n] = r["category_macro_f1"]
        if n == "holdout":
            row["product"]["holdout_per_category"] = {c: v["f1"] for c, v in r["per_category"].items()}
    raised = m.calibration.categories_from_subcategories
    m.calibration.categories_from_subcategories = False
    S = {}
    for n, ex in sets.items():
        s = m.predict_proba(ex)
        rel, _, _, cats, _ = label_matrix(ex)
        pos = rel > 0
        S[n] = (s.categories[pos], s.subcategories[pos], cats[pos].astype(int))
    m.calibration.categories_from_subcategories = raised
    for name, read in READINGS.items():
        P = {n: read(c, s) for n, (c, s, _) in S.items()}
        Yv = S["validation"][2]
        best = (-1.0, None)
        for kind in LABEL_RULES:
            f1 = cross_validated_macro_f1(P["validation"], Yv, CATEGORIES, kind)
            if f1 > best[0] + 1e-9:
                best = (f1, kind)
        cuts, rule = fit_label_rule(P["validation"], Yv, CATEGORIES, best[1])
        row[name] = {"validation_cv": best[0], "rule": rule,
                     **{n: present_macro_f1(S[n][2], label_mask(P[n], CATEGORIES, cuts, rule).astype(int)) for n in sets}}
        print(Path(md).name, name, json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row[name].items()}), flush=True)
    print(Path(md).name, "product", json.dumps(row["product"], default=lambda v: round(v, 3)), flush=True)
    rows.append(row)
Path(__file__).with_suffix(".json").write_text(json.dumps(rows, indent=1, default=float) + "\n")
