"""Does training on the newest labels help on the papers after them? The question behind ``train --refit``.

The shipped refit adds the whole temporal holdout (dense 2026-04..06) to training, so it has no later
labels to be scored on. This replays the same step one half-month earlier: model A is the default
recipe (train < 2026-03, validation dense 2026-03); model B is the same recipe with the dense papers of
2026-04-01..15 added to training (the frozen test split's ones left out, as the refit does). Both are
scored on the dense papers from 2026-04-16 on, which neither saw, with their own validation-chosen
thresholds. Run from the repo root: ``python benchmarks/experiments/refit_recent.py [OUT.json]``
(two default fine-tunes, ~16 min on 2 cores).
"""
import json
import sys
import time
from pathlib import Path

root = Path.cwd()
sys.path.insert(0, str(root / "src"))
sys.path.insert(0, str(root / "benchmarks"))

from bench_classifier import _data  # noqa: E402

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.model.config import TrainConfig  # noqa: E402
from trust_tagger.model.finetune import release_memory  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402

CUT = "2026-04-16"
KEYS = ("n", "n_relevant", "n_core", "relevance_ap", "core_ap", "category_macro_f1", "subcategory_macro_f1")

settings = load_settings()
train, val, holdout, test, later, added, pool, protocol = _data(settings)
assert protocol == "temporal", protocol
early = [e for e in holdout if e.date < CUT and e.split != "test"]
late = [e for e in holdout if e.date >= CUT]
out = {"cut": CUT, "train": len(train), "added": len(early), "validation": len(val), "scored_on": len(late)}
for name, exs in (("A: train", train), ("B: train + dense 2026-04-01..15", train + early)):
    t0 = time.time()
    model = TrustTagger(TrainConfig(base_model=settings.base_model)).fit(exs, val, log=print)
    m = compute_metrics(model.predict_proba(late), late, model.thresholds)
    cr = m.get("core_routing", {})
    out[name] = {**{k: m.get(k) for k in KEYS},
                 **{k: cr.get(k) for k in ("auto_share", "merge_precision_core", "core_auto_rejected", "filing")},
                 "best_epoch": model.info.get("best_epoch"), "seconds": round(time.time() - t0)}
    print(name, json.dumps(out[name]))
    del model
    release_memory()
text = json.dumps(out, indent=1, default=float)
print(text)
if len(sys.argv) > 1:
    Path(sys.argv[1]).write_text(text + "\n")
