"""Measured, not shipped: what would a two-seed ensemble buy, at twice the fine-tuning and inference cost?

    python benchmarks/experiments/seed_ensemble.py MODEL_A MODEL_B

Two saved models of the default recipe fitted on the classifier benchmark's protocol (``bench_classifier._data``;
seeds 13 / 14 here). The ensemble averages the two nets' logits, keeps model A's tf-idf member (the same fit:
same papers, same C), and reruns the steps after the fine-tune as ``TrustTagger.fit`` does
(``_set_core_blend``: floor, calibration, thresholds on validation). Each model alone goes through the same
steps, so all three rows are computed alike. Writes ``seed_ensemble.json`` next to this script.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src")); sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_classifier import _data  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model.encoder import set_offline_defaults  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402

set_offline_defaults()
train, val, holdout, test, later, *_ = _data(load_settings())
sets = {"validation": val, "holdout": holdout, "test": test, "later": later}
A, B = TrustTagger.load(sys.argv[1]), TrustTagger.load(sys.argv[2])
pa = {n: A._member_logits(e) for n, e in sets.items()}
pb = {n: B._member_logits(e) for n, e in sets.items()}


def avg(p, q):
    out = dict(p)
    out["net"] = {k: (p["net"][k] + q["net"][k]) / 2 for k in p["net"]}
    return out


KEYS = ("relevance_ap", "core_ap", "category_macro_f1", "subcategory_macro_f1")


def report(m, parts, label):
    m._set_core_blend(parts["validation"], val)
    row = {}
    for n, e in sets.items():
        r = compute_metrics(m._scores_from_raw(m._blend(parts[n])), e, m.thresholds)
        row[n] = {k: round(float(r[k]), 3) for k in KEYS}
        cr = r.get("core_routing", {})
        row[n]["auto"] = round(float(cr.get("auto_share", float("nan"))), 3)
    print(label, json.dumps(row), flush=True)
    return row


out = {"models": sys.argv[1:3]}
out.update( {"A": report(A, pa, "A"), "B": report(B, pb, "B")})
ens = {n: avg(pa[n], pb[n]) for n in sets}
out["A+B"] = report(A, ens, "A+B")
Path(__file__).with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
