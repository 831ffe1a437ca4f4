"""Recency weighting, screened on the cheap member: does weighting training papers by age help the tf-idf
logistic regression (C 16, the blend's member) on validation (dense 2026-03)? Each paper weighs
``max(floor, 0.5 ** (age / half_life))`` (age in days before the newest training paper, mean 1), passed
as ``sample_weight`` to every head (``TfidfLR.fit`` -> ``FeatureLR.fit_features``); calibration and thresholds as shipped.
Run from the repo root: ``python benchmarks/experiments/recency_tfidf.py [OUT.json]`` (~1 min).
"""
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

root = Path.cwd()
sys.path.insert(0, str(root / "src"))
sys.path.insert(0, str(root / "benchmarks"))

from bench_classifier import _data  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model.baselines import TfidfLR  # noqa: E402
from trust_tagger.model.heads import calibrate, calibrated_scores, raw_from_scores  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402


def recency_weights(examples, half_life_days, floor=0.0):
    if not half_life_days:
        return None
    days = [date.fromisoformat(str(e.date)[:10]).toordinal() for e in examples]
    age = max(days) - np.array(days, dtype=float)
    w = np.maximum(float(floor), 0.5 ** (age / float(half_life_days)))
    return w / w.mean()


def weighted_tfidf_row(train, val, sets: dict, sample_weight) -> dict:
    """The blend's tf-idf member (C 16) fitted with ``sample_weight``, calibrated on ``val`` as shipped, and
    its relevance AP / core AP / category F1 on each of ``sets`` (name -> papers)."""
    predict = TfidfLR(C=16.0).fit(train, sample_weight=sample_weight).predict_proba
    cal, th = calibrate(raw_from_scores(predict(val)), val)
    row = {}
    for name, ex in sets.items():
        m = compute_metrics(calibrated_scores(cal, raw_from_scores(predict(ex))), ex, th)
        row[name] = {k: round(float(m[k]), 3) for k in ("relevance_ap", "core_ap", "category_macro_f1")}
    return row


def main() -> None:
    settings = load_settings()
    train, val, holdout, test, later, added, pool, protocol = _data(settings)
    assert protocol == "temporal", protocol
    sets = {"validation": val, "holdout": holdout, "later": later}
    out = {}
    for hl in (None, 30, 60, 120, 240, 480):
        for floor in ((0.0,) if hl is None else (0.0, 0.25)):
            row = weighted_tfidf_row(train, val, sets, recency_weights(train, hl, floor))
            out[f"half_life={hl},floor={floor}"] = row
            print(hl, floor, json.dumps(row), flush=True)
    Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/experiments/recency_tfidf.json").write_text(
        json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
