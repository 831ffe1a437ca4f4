"""Retraining cost and label-audit quality, written to the ``## Retraining`` section of RESULTS.md.

1. One full retrain (``trust_tagger.retrain.retrain``, force) on the full label set, in a child process so
   its peak RSS is measured alone: wall time, candidate training time, peak memory, and the decision.
   It runs in a scratch copy (labels, models, store, reports) so the project's registry is untouched;
   when ``models/`` has a current model it is copied in, so the retrain also scores it, as a weekly run does.
2. The label audit on planted errors: in a copy of the labels, flip N relevance labels and swap N
   category labels (annotation-sourced papers, several seeds), run the audit's model checks, and
   count how many planted errors it flags (recall) and what share of its flags are planted (precision;
   a lower bound, since the real labels hold real errors too).

Usage: python benchmarks/bench_retrain.py [--skip-train] [--epochs N] [--seeds 5] [--flips 20]
Only this file's own section of RESULTS.md is replaced; other sections are left as they are.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import replace_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Retraining"

CHILD = """
import json, sys, time
from trust_tagger.config import load_settings
from trust_tagger.retrain.loop import retrain
t = time.perf_counter()
r = retrain(load_settings(), force=True, epochs=json.loads(sys.argv[1]))
print("RESULT " + json.dumps({"wall": time.perf_counter() - t, "verdict": r.verdict, "candidate": r.candidate,
      "previous": r.previous, "reasons": r.decision.reasons if r.decision else [r.skipped],
      "counts": r.data["counts"], "report": r.report_dir,
      "cand": {k: r.candidate_metrics.get(k) for k in ("relevance_ap", "category_macro_f1", "relevance_ece")},
      "cur": {k: (r.current_metrics or {}).get(k) for k in ("relevance_ap", "category_macro_f1", "relevance_ece")}}))
"""


def bench_retrain(epochs: int | None) -> dict:
    """One forced retrain in a scratch project; wall time and peak RSS of the child process."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-retrain-"))
    shutil.copytree(ROOT / "data" / "labeled", scratch / "labeled")
    if (ROOT / "models" / "registry.json").exists():
        shutil.copytree(ROOT / "models", scratch / "models", ignore=shutil.ignore_patterns(".registry.lock"))
    env = dict(os.environ, TRUST_TAGGER_LABELED_DIR=str(scratch / "labeled"),
               TRUST_TAGGER_MODEL_DIR=str(scratch / "models"), TRUST_TAGGER_REPORTS_DIR=str(scratch / "reports"),
               TRUST_TAGGER_DB_URL=f"sqlite:///{scratch / 'store.db'}", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    load_before = os.getloadavg()[0]  # other jobs on the box slow the retrain down
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(epochs)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"retrain failed:\n{proc.stderr[-4000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["process_wall"] = wall
    out["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    out["peak_rss_mb"] = usage.ru_maxrss / 1024
    out["load_before"] = load_before
    report = json.loads((Path(out["report"]) / "report.json").read_text())
    versions = scratch / "models"
    metrics = json.loads((versions / out["candidate"] / "metrics.json").read_text()) if out["candidate"] else {}
    out["train_seconds"] = metrics.get("train_seconds")
    out["seconds"] = report["seconds"]
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def plant(examples, n_rel: int, n_cat: int, seed: int):
    """A copy with n_rel relevance flips (half each way) and n_cat category swaps on annotation labels."""
    from trust_tagger.taxonomy import CATEGORIES

    rng = random.Random(seed)
    ex = list(examples)
    ann = [i for i, e in enumerate(ex) if e.source == "annotation"]
    pos = [i for i in ann if ex[i].relevant]
    neg = [i for i in ann if not ex[i].relevant]
    rel_pick = rng.sample(pos, n_rel // 2) + rng.sample(neg, n_rel - n_rel // 2)
    cat_pick = rng.sample([i for i in pos if i not in rel_pick and ex[i].categories], n_cat)
    for i in rel_pick:
        e = ex[i]
        if e.relevant:
            ex[i] = dataclasses.replace(e, relevance=0, categories=[], subcategories=[])
        else:
            c = rng.choice(CATEGORIES)
            ex[i] = dataclasses.replace(e, relevance=2, categories=[c], subcategories=[f"{c}/general"])
    for i in cat_pick:
        c = rng.choice([c for c in CATEGORIES if c not in ex[i].categories])
        ex[i] = dataclasses.replace(ex[i], categories=[c], subcategories=[f"{c}/general"])
    return ex, {ex[i].key for i in rel_pick}, {ex[i].key for i in cat_pick}


def bench_audit(seeds: int, flips: int) -> dict:
    from trust_tagger.config import load_settings
    from trust_tagger.retrain.dataset import build_from_settings
    from trust_tagger.retrain.label_audit import audit_labels

    ds = build_from_settings(load_settings())
    rows = []
    for seed in range(seeds):
        ex, rel_keys, cat_keys = plant(ds.examples, flips, flips, seed)
        t = time.perf_counter()
        suspects = audit_labels(ex)
        seconds = time.perf_counter() - t
        row = {"seconds": seconds}
        for kind, planted in (("relevance", rel_keys), ("category", cat_keys)):
            flagged = {s.key for s in suspects if s.kind == kind}
            ranked = [s.key for s in suspects if s.kind == kind][:len(planted)]
            row[kind] = {"recall": len(flagged & planted) / len(planted),
                         "precision": len(flagged & planted) / max(1, len(flagged)), "flagged": len(flagged),
                         "precision_at_n": len(set(ranked) & planted) / len(planted)}
        rows.append(row)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    return {"n_examples": len(ds.examples), "hash": ds.data_hash, "seeds": seeds, "flips": flips,
            "seconds": mean([r["seconds"] for r in rows]),
            **{kind: {m: mean([r[kind][m] for r in rows]) for m in ("recall", "precision", "flagged", "precision_at_n")}
               for kind in ("relevance", "category")},
            "min_recall": {kind: min(r[kind]["recall"] for r in rows) for kind in ("relevance", "category")}}


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def section(train: dict, audit: dict, argv: list[str]) -> str:
    cpu = f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
    lines = [SECTION, "", f"Command: `{' '.join(['python benchmarks/bench_retrain.py', *argv])}`",
             f"({time.strftime('%Y-%m-%d')}, CPU only: {cpu}). Data: labels from `data/awesome-list` (2026-01-19) + "
             "`data/labeled/annotations.jsonl` (+ review decisions), text from `data/raw/arxiv-audio-papers.jsonl.gz`.", ""]
    c = train["counts"]
    lines += ["### Retrain wall time and peak memory", "",
              f"Full label set: {c['total']} papers (train {c['train']['n']}, validation {c['validation']['n']}, "
              f"frozen test {c['test']['n']}). One forced `retrain` (candidate training + scoring the current "
              f"model `{train['previous']}` on the frozen test split + gate), default training settings"
              f"{'' if train.get('epochs') is None else ', epochs ' + str(train['epochs'])}.", "",
              "| figure | value |", "|---|---|",
              f"| retrain wall time (library call) | {train['seconds']:.0f} s |",
              f"| of which candidate training + test scoring | {train['train_seconds']:.0f} s |",
              f"| process wall time (incl. Python start, imports) | {train['process_wall']:.0f} s |",
              f"| process CPU time (user + sys) | {train['cpu_seconds']:.0f} s |",
              f"| 1-min load average before the run (other jobs on the 2 cores) | {train['load_before']:.2f} |",
              f"| peak RSS of the retrain process | {train['peak_rss_mb']:.0f} MiB |",
              f"| decision | {train['verdict']} (candidate {train['candidate']}) |",
              f"| candidate test AP / macro-F1 / ECE | {_fmt(train['cand']['relevance_ap'])} / "
              f"{_fmt(train['cand']['category_macro_f1'])} / {_fmt(train['cand']['relevance_ece'])} |",
              f"| current test AP / macro-F1 / ECE | {_fmt(train['cur']['relevance_ap'])} / "
              f"{_fmt(train['cur']['category_macro_f1'])} / {_fmt(train['cur']['relevance_ece'])} |", "",
              "Gate reasons: " + "; ".join(train["reasons"]), ""]
    a = audit
    lines += ["### Label audit on planted errors", "",
              f"{a['n_examples']} labeled papers (dataset hash `{a['hash'][:12]}`); per seed, {a['flips']} relevance "
              f"flips (half relevant->0, half 0->relevant with a random category) and {a['flips']} category swaps "
              f"planted on annotation labels; {a['seeds']} seeds; 5-fold out-of-fold tf-idf + LR, cleanlab "
              f"`find_label_issues` (prune_by_noise_rate). Precision counts only planted errors as right, so it is a "
              f"lower bound (the audit also flags real label errors).", "",
              "| check | recall (min over seeds) | precision | flagged per run | precision of the top N |",
              "|---|---|---|---|---|"]
    for kind in ("relevance", "category"):
        k = a[kind]
        lines.append(f"| {kind} | {k['recall']:.2f} ({a['min_recall'][kind]:.2f}) | {k['precision']:.2f} | "
                     f"{k['flagged']:.0f} | {k['precision_at_n']:.2f} |")
    lines += ["", f"Audit time: {a['seconds']:.1f} s per run (all model checks).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-train", action="store_true", help="only the label-audit measurement, printed, not written")
    parser.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs (default: training default)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--flips", type=int, default=20)
    args = parser.parse_args()
    train = None
    if not args.skip_train:
        train = bench_retrain(args.epochs)
        train["epochs"] = args.epochs
        print(json.dumps(train, indent=1))
    audit = bench_audit(args.seeds, args.flips)
    print(json.dumps(audit, indent=1))
    if train is None:
        return
    replace_section(RESULTS, SECTION, section(train, audit, sys.argv[1:]))
    print(f"written to {RESULTS} ({SECTION})")


if __name__ == "__main__":
    main()
