"""Measured before it shipped (heads.choose_label_decoding): how category / subcategory labels are read
off the probabilities, and how that choice is made on validation.

    python benchmarks/experiments/label_rules.py --fit /tmp/m13 --seed 13   # fit one (bench data), then measure it
    python benchmarks/experiments/label_rules.py /tmp/m13 /tmp/m14         # measure saved models

Models are fitted on the classifier benchmark's protocol (``bench_classifier._data``: later list papers out of
training). For every keyword share w and rule kind (per-label cuts; top label + labels within a ratio of it;
top label + one global cut; per-label cuts with the top label as fallback) the script reports the macro-F1
on validation in-sample, cross-validated on validation (5-fold x 10, the rule's parameters refitted in each
fold), on the temporal holdout and on the later list papers; then what ``heads.calibrate`` as it is now
chooses and scores. Writes ``label_rules.json`` next to this script.
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
from trust_tagger.model.heads import KEYWORD_WEIGHTS, label_matrix  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402
from trust_tagger.routing import choose_label_thresholds, present_macro_f1  # noqa: E402
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES  # noqa: E402


def decode(P, kind, a, cuts):
    top = np.zeros(P.shape, dtype=int)
    top[np.arange(len(P)), P.argmax(1)] = 1
    if kind == "per_label":
        return (P >= cuts).astype(int)
    if kind == "per_label|top":
        out = (P >= cuts).astype(int)
        none = out.sum(1) == 0
        out[none] = top[none]
        return out
    if kind == "top+global":
        return np.maximum(top, (P >= a).astype(int))
    if kind == "top_ratio":
        return np.maximum(top, (P >= a * P.max(1, keepdims=True)).astype(int))
    raise ValueError(kind)


GRID = {"per_label": [None], "per_label|top": [None], "top+global": list(np.round(np.linspace(.2, .9, 15), 2)),
        "top_ratio": list(np.round(np.linspace(.1, 1, 10), 1))}


def fit(kind, P, Y, names):
    cut = choose_label_thresholds(P, Y, names)
    cuts = np.array([cut[c] for c in names])
    return max((present_macro_f1(Y, decode(P, kind, a, cuts)), -(a or 0), a) for a in GRID[kind])[2], cuts


def cv(kind, P, Y, names, reps=10):
    from sklearn.model_selection import KFold

    f = []
    for rep in range(reps):
        pred = np.zeros_like(Y)
        for tr, te in KFold(5, shuffle=True, random_state=rep).split(P):
            a, cuts = fit(kind, P[tr], Y[tr], names)
            pred[te] = decode(P[te], kind, a, cuts)
        f.append(present_macro_f1(Y, pred))
    return float(np.mean(f))


def measure(model_dir: str, sets: dict) -> dict:
    m = TrustTagger.load(model_dir)
    parts = {n: m._member_logits(exs) for n, exs in sets.items()}
    cal = m.calibration
    out = {"model": model_dir, "saved": {}, "grid": [], "calibrate_now": {}}
    for n, exs in sets.items():  # the model as saved (its own, older choice)
        r = compute_metrics(m._scores_from_raw(m._blend(parts[n])), exs, m.thresholds)
        out["saved"][n] = {k: round(r[k], 3) for k in ("category_macro_f1", "subcategory_macro_f1")}
    out["saved"]["keyword_weights"] = [cal.category_keyword_weight, cal.subcategory_keyword_weight]
    for group, names in (("categories", CATEGORIES), ("subcategories", SUBCATEGORIES)):
        data = {}
        for n, exs in sets.items():
            raw = m._blend(parts[n])
            rel, _, _, cats, subs = label_matrix(exs)
            pos = rel > 0
            if group == "categories":
                data[n] = (cal.categories(raw.categories)[pos], raw.category_hits[pos], cats[pos].astype(int))
            else:
                data[n] = (cal.subcategories(raw.subcategories)[pos], raw.subcategory_hits[pos], subs[pos].astype(int))
        for w in KEYWORD_WEIGHTS:
            mix = lambda d: (1 - w) * d[0] + w * d[1]  # noqa: E731
            V = data["validation"]
            for kind in GRID:
                a, cuts = fit(kind, mix(V), V[2], names)
                row = {"group": group, "w": w, "kind": kind, "param": a,
                       "in_sample": round(present_macro_f1(V[2], decode(mix(V), kind, a, cuts)), 3),
                       "cv": round(cv(kind, mix(V), V[2], names), 3)}
                for n in ("holdout", "later"):
                    row[n] = round(present_macro_f1(data[n][2], decode(mix(data[n]), kind, a, cuts)), 3)
                out["grid"].append(row)
                print(json.dumps(row), flush=True)
    m._set_core_blend(parts["validation"], sets["validation"])  # heads.calibrate as it is now
    for n, exs in sets.items():
        r = compute_metrics(m._scores_from_raw(m._blend(parts[n])), exs, m.thresholds)
        out["calibrate_now"][n] = {k: round(r[k], 3) for k in ("category_macro_f1", "subcategory_macro_f1",
                                                                "relevance_ap", "core_ap")}
        out["calibrate_now"][n]["filing"] = r.get("core_routing", {}).get("filing")
    out["calibrate_now"]["rules"] = [m.thresholds.category_rule, m.thresholds.subcategory_rule]
    out["calibrate_now"]["keyword_weights"] = [m.calibration.category_keyword_weight,
                                               m.calibration.subcategory_keyword_weight]
    print(json.dumps({k: out[k] for k in ("saved", "calibrate_now")}), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*")
    ap.add_argument("--fit", help="fit the default recipe on the benchmark's training papers, save it here")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    set_offline_defaults()
    train, val, holdout, test, later, added, pool, protocol = _data(load_settings())
    if args.fit:
        from trust_tagger.model.config import TrainConfig

        TrustTagger(TrainConfig(seed=args.seed)).fit(train, val, log=print).save(args.fit)
        args.models.append(args.fit)
    sets = {"validation": val, "holdout": holdout, "later": later}
    path = Path(__file__).with_suffix(".json")
    done = json.loads(path.read_text()) if path.exists() else {}
    for d in args.models:
        done[d] = measure(d, sets)
        path.write_text(json.dumps(done, indent=1))


if __name__ == "__main__":
    main()
