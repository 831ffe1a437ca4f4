"""The shipped relevance members, routed: every figure of the benchmark with and without them.

    python benchmarks/experiments/relevance_members_routed.py MODEL_DIR [MODEL_DIR ...]

``relevance_members.py`` ranked the members by relevance AP alone. This fits them into saved models of the
benchmark protocol (``bench_classifier._data``) the way ``TrustTagger.fit`` does after its fine-tune
(``_fit_members`` with the default config's members and shares, ``_set_blend``, ``_set_core_blend``: blend,
large floor, calibration and thresholds on validation), so the core score, calibration and routing under
the new relevance logit are measured too. The fine-tune itself does not see the members, so a model trained
with them is this one.

The rule that keeps P(rel = 2) <= P(rel >= 1) is the product's unless ``CORE_RULE`` says otherwise
(``heads.calibrated_scores``): ``raise`` (the default, shipped in fd1fa89) leaves the core score built on
its own relevance logit as it is and raises P(relevant) to it; ``CORE_RULE=cap`` caps the core score by
P(relevant), as c5f6b6a / b0b2ee7 shipped. Written to ``relevance_members_routed_<rule>.json``.
Validation was split between the two; the loop replay decided (notes "Relevance members, shipped"). The
``raise`` JSON was written before the product took the rule, by a patch that also raised on the models
without the members: its "before" columns differ from the product's (which caps there) in the third
decimal.
"""
import dataclasses
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src")); sys.path.insert(0, str(ROOT / "benchmarks"))
from _shipped import fit_shipped_members  # noqa: E402
from bench_classifier import _data, _ranks  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model.encoder import set_offline_defaults  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402

KEYS = ("relevance_ap", "core_ap", "category_macro_f1", "relevance_ece", "core_ece", "filing_all_core")
ROUTING = ("auto_share", "n_merged", "merge_precision_core", "merge_precision_relevant", "core_auto_rejected",
           "filing")

RULE = os.environ.get("CORE_RULE", "raise")
if RULE == "cap":  # c5f6b6a / b0b2ee7: the core score capped by P(relevant) whatever it is built on
    import numpy as np

    import trust_tagger.model.heads as H
    import trust_tagger.model.tagger as T

    _product = H.calibrated_scores

    def _capped(cal, raw):
        s = _product(cal, raw)
        if s.core is None:
            return s
        p = cal.relevance(raw.relevance)
        q = cal.relevance_class(raw.relevance_class[:, 1:])
        return dataclasses.replace(s, relevance=p, core=np.minimum(cal.core(H.raw_core_logit(raw, cal.core_exponent)), p),
                                   relevance_class=np.column_stack([1 - p, p * q[:, 0], p * q[:, 1]]))

    H.calibrated_scores = T.calibrated_scores = _capped
elif RULE != "raise":
    raise SystemExit(f"CORE_RULE must be raise or cap, got {RULE!r}")
set_offline_defaults()
train, val, holdout, test, later, added, pool, _ = _data(load_settings())
sets = {"holdout": holdout, "validation": val, "test": test, "later": later}


def figures(m):
    out = {}
    for n, ex in sets.items():
        r = compute_metrics(m.predict_proba(ex), ex, m.thresholds)
        out[n] = {**{k: r.get(k) for k in KEYS}, **{k: r["core_routing"].get(k) for k in ROUTING}}
    ranks = [r["rank"] for r in _ranks(m, added, pool)]
    out["maintainer_ranks"] = ranks
    return out


rows = []
for md in sys.argv[1:]:
    m = TrustTagger.load(md)
    before = figures(m)
    fit_shipped_members(m, train, val)
    after = figures(m)
    rows.append({"model": md, "blend": m.blend, "before": before, "after": after})
    for n in sets:
        print(Path(md).name, f"{n:10s}", " | ".join(f"{k} {before[n][k]} -> {after[n][k]}" for k in
              ("relevance_ap", "core_ap", "auto_share", "n_merged", "merge_precision_core", "core_auto_rejected")),
              flush=True)
Path(__file__).with_name(f"{Path(__file__).stem}_{RULE}.json").write_text(json.dumps(rows, indent=1, default=float) + "\n")
