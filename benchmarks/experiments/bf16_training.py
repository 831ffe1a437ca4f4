"""Does fine-tuning in bfloat16 autocast (CPUs with native bf16) buy epochs inside the time budget, and
do the extra epochs help on the temporal holdout? Model A: the default recipe (float32 forward passes);
model B: the same with ``train_bf16=True``; C: B without the 420 s guard's single epoch (epochs by
early stopping on validation, at most 3); D: bf16, one epoch (shipped); E: D at learning rate 5e-5;
F: D at 320 tokens; D14 / E14: D / E with seed 14
(E_again in the JSON: E run a second time). Recipes are compared on validation (dense 2026-03) first. Run from the repo root:
``python benchmarks/experiments/bf16_training.py [OUT.json] [A,B,C]`` (~8 min a model on 2 cores).
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
from trust_tagger.model.encoder import pick_device, set_offline_defaults  # noqa: E402
from trust_tagger.model.finetune import release_memory  # noqa: E402
from trust_tagger.model.tagger import TrustTagger  # noqa: E402
from trust_tagger.retrain.evaluate import compute_metrics  # noqa: E402

KEYS = ("n", "relevance_ap", "core_ap", "category_macro_f1", "subcategory_macro_f1")
ROUTING = ("auto_share", "merge_precision_core", "merge_precision_relevant", "core_auto_rejected", "filing")
# Every field a recipe varies is spelled out, so a rerun under later defaults runs the same recipe.
BEFORE = {"train_bf16": False, "epochs": 3, "lr": 3e-5}
RECIPES = {"A": BEFORE, "B": BEFORE | {"train_bf16": True},
           "C": BEFORE | {"train_bf16": True, "max_train_seconds": 900.0},
           "D": BEFORE | {"train_bf16": True, "epochs": 1}, "E": BEFORE | {"train_bf16": True, "epochs": 1, "lr": 5e-5},
           "F": BEFORE | {"train_bf16": True, "epochs": 1, "max_length": 320},
           "D14": BEFORE | {"train_bf16": True, "epochs": 1, "seed": 14},
           "E14": BEFORE | {"train_bf16": True, "epochs": 1, "lr": 5e-5, "seed": 14}}

set_offline_defaults()
pick_device()
settings = load_settings()
train, val, holdout, test, later, added, pool, protocol = _data(settings)
assert protocol == "temporal", protocol
out_path = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/experiments/bf16_training.json")
which = (sys.argv[2] if len(sys.argv) > 2 else "A,B,C").split(",")
out = json.loads(out_path.read_text()) if out_path.exists() else {}
for name in which:
    t0 = time.time()
    model = TrustTagger(TrainConfig(base_model=settings.base_model, **RECIPES[name])).fit(train, val, log=print)
    res = {"recipe": RECIPES[name], "train_seconds": round(time.time() - t0, 1), "history": model.history,
           "best_epoch": model.info.get("best_epoch"), "stopped_for_time": model.info.get("stopped_for_time")}
    for part, exs in (("validation", val), ("holdout", holdout), ("later", later)):
        m = compute_metrics(model.predict_proba(exs), exs, model.thresholds)
        res[part] = {k: m.get(k) for k in KEYS} | {k: m.get("core_routing", {}).get(k) for k in ROUTING}
    out[name] = res
    print(name, json.dumps(res, default=float), flush=True)
    out_path.write_text(json.dumps(out, indent=2, default=float))
    del model
    release_memory()
