"""Refit only the blend's members on the newest labels: does it help on the papers after them?

    python benchmarks/experiments/refit_members.py MODEL_DIR [MODEL_DIR ...]

``train --refit`` fine-tunes again on train + holdout (twice ``train``'s time) and gained 0.010 relevance AP
within noise on the half-month after (``refit_recent.json``). The members are the cheap part: the tf-idf LR
fits in seconds and the neighbour index is the net's embeddings. A model that keeps its fine-tuned net but
whose members have read the newest labels learns the month's new names (models, benchmarks) where drift
hurts. Replayed half a month early, as ``refit_recent.py``: on saved benchmark-protocol models (the net
fitted on train < 2026-03), the members are fitted as ``fit`` does (A), then again on more labels:

- B: train + validation (2026-03) + dense 2026-04-01..15, calibration and thresholds kept from A;
- C: as B, then blend, calibration and thresholds chosen again on validation (which the members now read);
- D: train + dense 2026-04-01..15, validation left unseen, calibration and thresholds chosen again on it.

Scored on the dense papers from 2026-04-16 on, which no variant saw (frozen-test papers left out of every
addition, later-list papers too).
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src")); sys.path.insert(0, str(ROOT / "benchmarks"))
from _shipped import fit_shipped_members, recalibrate  # noqa: E402
from bench_classifier import _data  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model.encoder import set_offline_defaults  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402

CUT = "2026-04-16"
KEYS = ("relevance_ap", "core_ap", "category_macro_f1", "relevance_ece", "core_ece")
ROUTING = ("auto_share", "n_merged", "merge_precision_core", "core_auto_rejected")

set_offline_defaults()
train, val, holdout, test, later, added, pool, _ = _data(load_settings())
later_keys = {e.key for e in later}
early = [e for e in holdout if e.date < CUT and e.split != "test" and e.key not in later_keys]
late = [e for e in holdout if e.date >= CUT]
val_in = [e for e in val if e.split != "test" and e.key not in later_keys]
sets = {"late_holdout": late, "later": later}


def figures(m):
    out = {}
    for n, ex in sets.items():
        r = compute_metrics(m.predict_proba(ex), ex, m.thresholds)
        out[n] = {**{k: r.get(k) for k in KEYS}, **{k: r["core_routing"].get(k) for k in ROUTING}}
    return out


rows = []
for md in sys.argv[1:]:
    m = fit_shipped_members(TrustTagger.load(md), train, val)
    row = {"model": md, "train": len(train), "validation_added": len(val_in), "early_added": len(early),
           "scored": {n: len(v) for n, v in sets.items()}, "A": figures(m)}
    m._fit_members(train + val_in + early)
    row["B"] = figures(m)
    recalibrate(m, val)
    row["C"] = figures(m)
    m._fit_members(train + early)
    recalibrate(m, val)
    row["D"] = figures(m)
    rows.append(row)
    for v in "ABCD":
        for n in sets:
            print(Path(md).name, v, f"{n:12s}", " ".join(f"{k} {row[v][n][k]:.3f}" if isinstance(row[v][n][k], float)
                                                      else f"{k} {row[v][n][k]}" for k in KEYS + ROUTING), flush=True)
Path(__file__).with_suffix(".json").write_text(json.dumps(rows, indent=1, default=float) + "\n")
