"""The cheap candidate: the current model with its heads, tf-idf member and calibration refitted on
today's labels (``model.update``), registered as a new version for the promotion gate.

The same dataset (list + annotations + decisions, the same frozen hashed split) and the same
figures as :func:`trust_tagger.retrain.train.train_version`, so ``retrain(update="heads")`` gates a
heads update exactly like a fine-tuned candidate. Seconds instead of minutes: the encoder's
embeddings of papers it already saw come from the process's :class:`EmbeddingCache`.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from trust_tagger.retrain.train import TrainResult


def update_version(settings, *, register_model: bool = True, make_current: bool | None = False,
                   cache=None, log: Callable[[str], None] = print, exclude_keys: Iterable[str] = ()) -> TrainResult:
    """Refit the current model's heads on the labels as they are now; save (and register) it as vN+1."""
    from trust_tagger.files import atomic_write_json
    from trust_tagger.model import registry as registry
    from trust_tagger.model import update as U
    from trust_tagger.model.artifacts import write_manifest
    from trust_tagger.retrain import dataset as D
    from trust_tagger.retrain.evaluate import compute_metrics

    t0 = time.time()
    parent = registry.current(settings)
    if parent is None:
        raise registry.RegistryError("a heads update refits the current model, and there is none: "
                                     "train one first (`trust-tagger train`)")
    excluded = set(exclude_keys)
    ds = D.build_dataset(settings.path(settings.list_dir), settings.path(settings.labeled_dir),
                         D.load_pool(settings.path(settings.snapshot_path)), exclude_keys=excluded)
    train, val, test = ds.split("train"), ds.split("validation"), ds.split("test")
    model = registry.load_current(settings)
    U.update_heads(model, train, val, cache=cache, log=log)
    metrics = {"validation": compute_metrics(U.predict_proba(model, val, cache), val, model.thresholds)}
    metrics["test"] = compute_metrics(U.predict_proba(model, test, cache), test, model.thresholds) if test else {}
    version = registry.next_version(settings)
    output = settings.path(settings.model_dir) / version
    extra = {
        "version": version, "created": registry.now_iso(), "training_data_hash": ds.data_hash,
        "label_counts": ds.counts(), "missing_abstract": ds.missing_abstract, "excluded_keys": sorted(excluded),
        "train_keys": sorted(e.key for e in train + val), "base_model": model.config.base_model,
        "update": {"kind": "heads", "from": parent},
    }
    model.save(output, extra=extra)
    metrics["train_seconds"] = round(time.time() - t0, 1)
    atomic_write_json(output / "metrics.json", metrics)
    write_manifest(output)
    registered = current = False
    if register_model:
        entry = registry.register(output, settings, version=version, parent=parent, make_current=make_current)
        registered, current = True, bool(registry.show(entry["id"], settings).get("current"))
    return TrainResult(version, output, metrics, round(time.time() - t0, 1), registered, current, ds.counts(),
                       ds.missing_abstract)
