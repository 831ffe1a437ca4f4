"""Fine-tuned tagger vs baselines, side by side on the same data and machine, temporal holdout first.

    python benchmarks/bench_classifier.py [--model DIR] [--models fine_tuned,tfidf_lr,...] [--out benchmarks/RESULTS.md]

Data (the temporal protocol, ``retrain.train.training_splits``): labels = the 2026-01-19 list +
``data/labeled/annotations*.jsonl`` (+ decisions). Validation = dense labels of 2026-03 (every feed paper of
the month), holdout = dense labels from 2026-04-01, never used for a choice; train = everything older, minus
the frozen hashed test split (kept for the promotion gate) and minus every paper the maintainers added to the
list between 2026-01-19 and 2026-06-10 (``tests/fixtures/awesome-list-2026-06-10``): those are the "later
papers" check and the maintainers'-taste check (where their own ``papers/`` additions of Feb-June rank in
their month's feed by core score). All models get the same calibration and thresholds procedure
(``model.heads.calibrate``) on the same validation papers. Each model runs in its own subprocess so its peak
RSS and speed are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _results import replace_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
LATER_LIST = ROOT / "tests" / "fixtures" / "awesome-list-2026-06-10"
MODELS = ("fine_tuned", "tfidf_lr", "frozen_emb_lr", "keyword_rules")


def _data(settings):
    """(train, validation, holdout, frozen test, later papers, maintainers' papers/ additions, pool)."""
    from trust_tagger.retrain import dataset as D
    from trust_tagger.retrain.train import later_list_keys, training_splits

    pool = D.load_pool(settings.path(settings.snapshot_path))
    later = D.later_papers(settings.path(settings.list_dir), LATER_LIST, pool, settings.path(settings.labeled_dir))
    later_keys = later_list_keys(settings, LATER_LIST, pool) | {e.key for e in later}
    ds = D.build_dataset(settings.path(settings.list_dir), settings.path(settings.labeled_dir), pool)
    train, val, test, holdout, protocol = training_splits(ds, settings)
    train = [e for e in train if e.key not in later_keys]  # the later papers must be news to every model
    old = D.list_labels(settings.path(settings.list_dir), pool)
    new = D.list_labels(LATER_LIST, pool)
    added = sorted(k for k, lab in new.items() if k not in old and lab.relevance >= 1 and k in pool
                   and str(pool[k].get("date", "")) >= "2026-02-01")
    return train, val, holdout, test, later, added, pool, protocol


class Calibrated:
    """A baseline with the tagger's calibration + threshold procedure, so routing is compared fairly."""

    def __init__(self, model):
        self.model = model

    def fit(self, train, val):
        from trust_tagger.model.heads import calibrate, raw_from_scores

        self.model.fit(train)
        self.cal, self.thresholds = calibrate(raw_from_scores(self.model.predict_proba(val)), val)
        return self

    def predict_proba(self, records, progress=None):
        from trust_tagger.model.heads import calibrated_scores, raw_from_scores

        return calibrated_scores(self.cal, raw_from_scores(self.model.predict_proba(records)))


def _ranks(model, added: list[str], pool: dict) -> list[dict]:
    """Rank of each maintainer addition by core score among all pool papers of its month."""
    from trust_tagger.model.predict import validate_record

    out = []
    months = sorted({str(pool[k]["date"])[:7] for k in added})
    for month in months:
        keys = [k for k, r in pool.items() if str(r.get("date", ""))[:7] == month]
        recs = [validate_record(pool[k]) for k in keys]
        core = model.predict_proba(recs).core
        order = {keys[i]: r + 1 for r, i in enumerate(np.argsort(-core, kind="stable"))}
        for k in added:
            if str(pool[k]["date"])[:7] == month:
                out.append({"key": k, "title": pool[k]["title"][:70], "month": month, "rank": order[k],
                            "feed": len(keys), "core": float(core[keys.index(k)])})
    return out


def run_one(name: str, model_dir: str | None, out_json: str, overrides: dict | None = None) -> None:
    """Train (or load) one model, score every evaluation set, write figures as JSON. ``overrides``:
    TrainConfig fields of the fine-tuned model (a recipe under test)."""
    from trust_tagger.config import load_settings
    from trust_tagger.model.baselines import FrozenEmbeddingLR, KeywordRules, TfidfLR
    from trust_tagger.model.encoder import pick_device, set_offline_defaults
    from trust_tagger.model.predict import validate_record
    from trust_tagger.retrain.evaluate import compute_metrics

    set_offline_defaults()
    pick_device()
    settings = load_settings()
    train, val, holdout, test, later, added, pool, protocol = _data(settings)
    t0 = time.perf_counter()
    res_info: dict = {}
    if name == "fine_tuned":
        from trust_tagger.model.config import TrainConfig
        from trust_tagger.model.tagger import TrustTagger

        if model_dir:
            model = TrustTagger.load(model_dir)
            train_s = json.loads((Path(model_dir) / "metrics.json").read_text()).get("train_seconds")
            leak = set(model.meta.get("train_keys", [])) & ({e.key for e in test + holdout + later} | set(added))
            if leak:
                raise SystemExit(f"{model_dir} trained on {len(leak)} evaluation papers: train it with this script")
        else:
            model = TrustTagger(TrainConfig(**(overrides or {}))).fit(train, val)
            res_info = {"config_overrides": overrides or {}, "history": model.history,
                        "fine_tune": {k: model.info.get(k) for k in ("best_epoch", "stopped_for_time",
                                                                     "frozen_layers", "fine_tune_seconds")}}
            train_s = time.perf_counter() - t0
    else:
        base = {"tfidf_lr": TfidfLR, "frozen_emb_lr": FrozenEmbeddingLR, "keyword_rules": KeywordRules}[name]()
        model = Calibrated(base).fit(train, val)
        train_s = time.perf_counter() - t0
    res = {"name": name, "protocol": protocol, "train_seconds": round(float(train_s), 1) if train_s else None,
           "train_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    res.update(res_info)
    for part, exs in (("holdout", holdout), ("validation", val), ("test", test), ("later", later)):
        res[part] = compute_metrics(model.predict_proba(exs), exs, model.thresholds)
    res["maintainer_ranks"] = _ranks(model, added, pool)
    rng = np.random.default_rng(0)
    keys = sorted(pool)
    sample = [validate_record(pool[keys[i]]) for i in sorted(rng.choice(len(keys), 1000, replace=False))]
    load_before = os.getloadavg()[0]
    t1 = time.perf_counter()
    model.predict_proba(sample)
    res["speed"] = {"n": len(sample), "papers_per_second": len(sample) / (time.perf_counter() - t1),
                    "load_avg_before": load_before}
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out_json).write_text(json.dumps(res, indent=2, default=float))


def _f(v, nd=3):
    return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{nd}f}"


SECTION = "## Classifier"
TARGETS = [("relevance AP", "relevance_ap", ">= 0.92"), ("core AP", "core_ap", ">= 0.80"),
           ("category macro-F1 (relevant)", "category_macro_f1", ">= 0.85")]


def _table(results, part, title, note=""):
    lines = [f"### {title}", ""] + ([note, ""] if note else [])
    lines += ["| model | n (relevant / core) | rel. AP | core AP | cat. macro-F1 | rel. ECE | core ECE | "
              "core policy: auto-decided | merged | merge prec. core / relevant | core auto-rejected | filing | "
              "filing, all core / relevant papers |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        t = r[part]
        c = t.get("core_routing", {})
        lines.append(
            f"| {r['name']} | {t['n']} ({t['n_relevant']} / {t.get('n_core')}) | {_f(t['relevance_ap'])} | "
            f"{_f(t.get('core_ap'))} | {_f(t.get('category_macro_f1'))} | {_f(t['relevance_ece'])} | "
            f"{_f(t.get('core_ece'))} | {_f(c.get('auto_share'), 2)} | {c.get('n_merged', 'n/a')} | "
            f"{_f(c.get('merge_precision_core'), 2)} / {_f(c.get('merge_precision_relevant'), 2)} | "
            f"{_f(c.get('core_auto_rejected'), 2)} | {_f(c.get('filing'), 2)} | "
            f"{_f(t.get('filing_all_core'), 2)} / {_f(t.get('filing_all_relevant'), 2)} |")
    return lines


def write_results(results: list[dict], out: Path, command: str) -> None:
    ft = next((r for r in results if r["name"] == "fine_tuned"), results[0])
    lines = [SECTION, "", f"Command: `{command}`", "",
             "Machine: this 2-core CPU box (no GPU); other jobs may share the cores (the 1-min load average before "
             "each speed measurement is in the speed table), so times are indicative.", "",
             f"Protocol: {ft['protocol']} (see the script's docstring). Every model: the same train papers, the same "
             "calibration + thresholds procedure on the same validation papers (`model.heads.calibrate`: relevance "
             "thresholds at feed prior 0.175, core thresholds for `merge_policy = core` at the dense month's natural "
             "prior: merge precision >= 0.90, no validation core paper auto-rejected).", "",
             "### Targets (temporal holdout, fine-tuned model)", "", "| figure | measured | target |", "|---|---|---|"]
    h = ft["holdout"]
    for label, key, target in TARGETS:
        lines.append(f"| {label} | {_f(h.get(key))} | {target} |")
    c = h.get("core_routing", {})
    lines += [f"| auto-decided under `core` | {_f(c.get('auto_share'), 2)} (merge precision core "
              f"{_f(c.get('merge_precision_core'), 2)}, relevant {_f(c.get('merge_precision_relevant'), 2)}, core papers "
              f"auto-rejected {_f(c.get('core_auto_rejected'), 2)}) | >= 0.85 at >= 0.90 / >= 0.97 / <= 0.01 |",
              f"| filing (merged papers whose file is among the labels' subcategories) | {_f(c.get('filing'), 2)} "
              f"({c.get('n_merged')} merged) | >= 0.90 |",
              f"| filing, every core paper as if merged (its top subcategory among the labels') | "
              f"{_f(h.get('filing_all_core'), 2)} ({h.get('n_filing_all_core')} core papers; every relevant one: "
              f"{_f(h.get('filing_all_relevant'), 2)} of {h.get('n_filing_all_relevant')}) | (>= 0.90) |",
              f"| train wall time / peak RSS | {_f(ft['train_seconds'], 0)} s / {_f(ft['train_peak_rss_mb'], 0)} MB | "
              "<= 600 s / <= 2048 MB |",
              f"| inference | {_f(ft['speed']['papers_per_second'], 1)} papers/s (load avg "
              f"{_f(ft['speed']['load_avg_before'], 1)}) | >= 30 papers/s |", ""]
    lines += _table(results, "holdout", "Temporal holdout (dense labels from 2026-04-01, natural prior)")
    lines += [""] + _table(results, "validation", "Temporal validation (dense 2026-03: every choice was made here)")
    lines += [""] + _table(results, "test", "Frozen hashed test split (the promotion gate's set)",
                           "Enriched by the sampled annotations (relevant share above the feed's); core-policy "
                           "figures are at that share, not the feed's.")
    lines += [""] + _table(results, "later", "Later papers (added by the maintainers 2026-01-19 .. 2026-06-10)",
                           "Labels from the later list (papers/ = core, collections/ = 0), annotations overriding.")
    lines += ["", "### Where the maintainers' own papers/ additions of 2026-02..06 rank in their month's feed",
              "", "By core score among every pool paper listed that month (held out of training). "
              "Rank 1 = first paper a maintainer would see.", "",
              "| model | " + " | ".join(f"{m['month']} #{i + 1}" for i, m in enumerate(ft["maintainer_ranks"])) +
              " | median rank |", "|---|" + "---|" * (len(ft["maintainer_ranks"]) + 1)]
    for r in results:
        ranks = [m["rank"] for m in r["maintainer_ranks"]]
        feeds = [m["feed"] for m in r["maintainer_ranks"]]
        lines.append(f"| {r['name']} | " + " | ".join(f"{k} / {n}" for k, n in zip(ranks, feeds)) +
                     f" | {np.median(ranks) if ranks else 'n/a'} |")
    lines += ["", "Papers: " + "; ".join(f"{m['month']} {m['title']}" for m in ft["maintainer_ranks"]), "",
              "### Speed and memory", "", "| model | train s | train peak RSS MB | papers/s (1,000 pool papers) | "
              "1-min load avg before | peak RSS MB |", "|---|---|---|---|---|---|"]
    for r in results:
        sp = r["speed"]
        lines.append(f"| {r['name']} | {_f(r['train_seconds'], 0)} | {_f(r['train_peak_rss_mb'], 0)} | "
                     f"{_f(sp['papers_per_second'], 1)} | {_f(sp['load_avg_before'], 2)} | {_f(r['peak_rss_mb'], 0)} |")
    extra = ROOT / "benchmarks" / "classifier_notes.md"
    if extra.exists():
        lines += ["", extra.read_text().rstrip("\n")]
    replace_section(out, SECTION, "\n".join(lines).rstrip("\n") + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="Use this trained tagger folder instead of training one (must exclude "
                                    "the evaluation papers).")
    ap.add_argument("--only", choices=MODELS, help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--work", help="Keep each model's JSON here (default: a temporary folder).")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                    help="A TrainConfig field of the fine-tuned model, e.g. --set train_layers=2 (repeatable).")
    args = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    if args.only:
        run_one(args.only, args.model, args.json, overrides)
        return
    import tempfile

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-classifier-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.models.split(","):
        out_json = work / f"{name}.json"
        if not out_json.exists():
            cmd = [sys.executable, __file__, "--only", name, "--json", str(out_json)]
            if args.model:
                cmd += ["--model", args.model]
            cmd += [a for s in args.set for a in ("--set", s)]
            print(f"running {name} ...", flush=True)
            subprocess.run(cmd, check=True)
        results.append(json.loads(out_json.read_text()))
        print(name, json.dumps({k: round(results[-1][k].get("core_ap", float("nan")), 3)
                                for k in ("holdout", "validation", "test", "later")}), flush=True)
    write_results(results, Path(args.out), "python " + " ".join(sys.argv))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
