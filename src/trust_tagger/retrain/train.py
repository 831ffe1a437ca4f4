"""One call from labels to a registered model version: what ``trust-tagger train`` and the retrain flow run.

Build the dataset (list + annotations + decisions), fine-tune on the train split, early-stop,
blend, calibrate and choose thresholds on validation, score the frozen test split, save the folder
(with manifest) and register it. The first model becomes current; later ones are registered and
left for promotion (``promote_if_better`` style policies belong to the caller), unless asked.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from trust_tagger.files import atomic_write_json


@dataclass
class TrainResult:
    version: str
    path: Path
    metrics: dict  # {"validation": {...}, "test": {...}}
    seconds: float
    registered: bool
    current: bool
    dataset_counts: dict
    missing_abstract: list[str]


def later_list_keys(settings, later_list: Path | None, pool: dict | None = None) -> set[str]:
    """Keys of papers added in a later list snapshot: excluded from training so the check stays fair."""
    if later_list is None or not Path(later_list).exists():
        return set()
    from trust_tagger.retrain import dataset as D

    old = D.list_labels(settings.path(settings.list_dir), pool)
    new = D.list_labels(Path(later_list), pool)
    return {k for k in new if k not in old}


def train_version(settings, *, base_model: str | None = None, output: Path | None = None,
                  epochs: int | None = None, max_length: int | None = None, holdout_list: Path | None = None,
                  register_model: bool = True, make_current: bool | None = None,
                  progress: Callable[[str, int, int], None] | None = None,
                  log: Callable[[str], None] = print, config_overrides: dict | None = None,
                  exclude_keys: Iterable[str] = (), refit: bool | None = None) -> TrainResult:
    """Train, evaluate on the frozen test split, save to ``output`` (default models/vN) and register.

    ``refit`` (default: ``settings.refit``; temporal protocol only): once the first model is scored,
    fit the same recipe again on train + the temporal holdout and ship that one. The holdout months are the newest labels, the ones
    most like next month's feed; validation stays out, so early stopping, calibration and thresholds
    are chosen as before, and the frozen test split stays out for the gate. The first model's validation
    and holdout figures are kept as ``metrics["pre_refit"]``: the refit model has no honest holdout figure of its own."""
    from trust_tagger.model import registry as registry
    from trust_tagger.model.artifacts import write_manifest
    from trust_tagger.model.config import TrainConfig
    from trust_tagger.model.tagger import TrustTagger
    from trust_tagger.retrain import dataset as D

    t0 = time.time()
    pool = D.load_pool(settings.path(settings.snapshot_path))
    excluded = set(exclude_keys) | later_list_keys(settings, holdout_list, pool)
    ds = D.build_dataset(settings.path(settings.list_dir), settings.path(settings.labeled_dir), pool,
                         exclude_keys=excluded)
    train, val, test, holdout, protocol = training_splits(ds, settings)
    log(f"dataset: {len(ds.examples)} labeled papers; {protocol} protocol: train {len(train)}, validation "
        f"{len(val)}, holdout {len(holdout)}, frozen test {len(test)}; {len(ds.missing_abstract)} labeled entries "
        f"have no abstract in the pool and are left out; hash {ds.data_hash[:12]}")
    cfg = TrainConfig(base_model=base_model or settings.base_model, **(config_overrides or {}))
    if epochs is not None:
        cfg.epochs = epochs
    if max_length is not None:
        cfg.max_length = max_length
    model = TrustTagger(cfg).fit(train, val, progress=progress, log=log)
    refit = bool(settings.refit if refit is None else refit) and bool(holdout)
    # A model that is refit next is not the one the gate will see: its frozen-test pass is skipped.
    metrics = _scored(model, protocol, val, holdout, [] if refit else test)
    trained_on = train
    if refit:
        from trust_tagger.model.finetune import release_memory

        # The holdout is every dense paper of its months, the frozen test split's ones too: those stay out.
        added = [e for e in holdout if e.split != "test"]
        log(f"refit: the same recipe on train + temporal holdout ({len(train)} + {len(added)} papers); "
            f"validation and frozen test stay out")
        pre = metrics
        del model
        release_memory()
        trained_on = train + added
        model = TrustTagger(cfg).fit(trained_on, val, progress=progress, log=log)
        metrics = _scored(model, protocol, val, [], test)
        metrics["pre_refit"] = pre
        metrics["refit"] = {"train": len(trained_on), "added_from_holdout": len(added)}
    version = output.name if output is not None and registry._VERSION_RE.match(Path(output).name) else None
    if output is None:
        version = registry.next_version(settings)
        output = settings.path(settings.model_dir) / version
    output = Path(output)
    version = version or output.name
    extra = {
        "version": version,
        "created": registry.now_iso(),
        "training_data_hash": ds.data_hash,
        "label_counts": ds.counts(),
        "missing_abstract": ds.missing_abstract,
        "excluded_keys": sorted(excluded),
        "train_keys": sorted(e.key for e in trained_on + val),
        "protocol": protocol,
        "base_model": cfg.base_model,
    }
    model.save(output, extra=extra)
    metrics["train_seconds"] = round(time.time() - t0, 1)
    atomic_write_json(output / "metrics.json", metrics)
    write_manifest(output)  # metrics.json came after save(): refresh the manifest
    registered = current = False
    if register_model:
        entry = registry.register(output, settings, version=version, make_current=make_current)
        registered, current = True, bool(registry.show(entry["id"], settings).get("current"))
    return TrainResult(version, output, metrics, round(time.time() - t0, 1), registered, current, ds.counts(),
                       ds.missing_abstract)


def _scored(model, protocol: str, val, holdout, test) -> dict:
    from trust_tagger.retrain.evaluate import compute_metrics

    out = {"protocol": protocol, "validation": compute_metrics(model.predict_proba(val), val, model.thresholds)}
    if holdout:
        out["holdout"] = compute_metrics(model.predict_proba(holdout), holdout, model.thresholds)
    out["test"] = compute_metrics(model.predict_proba(test), test, model.thresholds) if test else {}
    return out


def training_splits(ds, settings) -> tuple[list, list, list, list, str]:
    """(train, validation, frozen test, temporal holdout, protocol name).

    The temporal protocol (``retrain.dataset.temporal_split``) when the labels hold dense months to
    validate on: epochs, blend, calibration and thresholds are chosen on the dense validation month,
    the months after it are only reported. Without dense labels (a list with annotations only) the
    hashed split's validation part is used, as before. The frozen hashed test split stays out of
    training either way: the promotion gate compares models on it.
    """
    from trust_tagger.retrain import dataset as D

    test = ds.split("test")
    ts = D.temporal_split(ds.examples, settings.temporal_validation_from, settings.temporal_holdout_from)
    if ts.validation:
        return ts.train, ts.validation, test, ts.holdout, "temporal"
    return ds.split("train"), ds.split("validation"), test, [], "hashed"


def summary_lines(result: TrainResult) -> list[str]:
    t = result.metrics.get("test", {})
    r = t.get("routing", {})
    lines = []
    refit = result.metrics.get("refit")
    h = result.metrics.get("pre_refit", {}).get("holdout") if refit else result.metrics.get("holdout")
    if h:
        cr = h.get("core_routing", {})
        lines.append(("before the refit, " if refit else "") + f"temporal holdout ({h['n']} papers, {h['n_relevant']} relevant, {h.get('n_core')} core): "
                     f"relevance AP {h.get('relevance_ap', float('nan')):.3f}, core AP {h.get('core_ap', float('nan')):.3f}, "
                     f"category macro-F1 {h.get('category_macro_f1', float('nan')):.3f}; merge_policy=core auto-decides "
                     f"{cr.get('auto_share', float('nan')):.2f}, merge precision {cr.get('merge_precision_core', float('nan')):.2f} "
                     f"core / {cr.get('merge_precision_relevant', float('nan')):.2f} relevant, "
                     f"core auto-rejected {cr.get('core_auto_rejected', float('nan')):.2f}, filing {cr.get('filing', float('nan')):.2f} "
                     f"({cr.get('n_merged', 0)} merged; all {h.get('n_filing_all_core', 0)} core papers as if merged: "
                     f"{h.get('filing_all_core', float('nan')):.2f})")
    if refit:
        lines.append(f"refit on train + temporal holdout ({refit['train']} papers, {refit['added_from_holdout']} of "
                     f"them from the holdout): the shipped model has no holdout figure of its own")
    return lines + [
        f"model {result.version} saved to {result.path} ({result.seconds:.0f} s)"
        + (" and registered as current" if result.current else " and registered" if result.registered else ""),
        f"frozen test: relevance AP {t.get('relevance_ap', float('nan')):.3f}, ROC-AUC "
        f"{t.get('relevance_roc_auc', float('nan')):.3f}, category macro-F1 {t.get('category_macro_f1', float('nan')):.3f}, "
        f"ECE {t.get('relevance_ece', float('nan')):.3f}, auto-decided {r.get('auto_share_with_subcategory_rule', float('nan')):.2f} "
        f"(accept precision {r.get('precision', float('nan')):.3f}, reject NPV {r.get('npv', float('nan')):.3f})",
    ]


def metrics_json(result: TrainResult) -> str:
    return json.dumps(result.metrics, indent=2, default=float)
