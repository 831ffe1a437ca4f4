"""How good a model is, in the terms the maintainers care about, written as a report with plots.

Figures (all measured on labeled papers the model never trained on):
* relevance: average precision (AP), ROC-AUC, ECE, relevance-class accuracy;
* categories on relevant papers: per-category precision/recall/F1 and macro-F1 over categories
  present in the evaluated set (a category with no positives there has no defined recall);
* routing at the feed prior: precision of auto-accepts, NPV of auto-rejects, share auto-decided;
* the confusions worth a look: confident mistakes, listed with their titles.
The frozen test split is the headline; papers the maintainers added to the list after 2026-01-19
(the "later papers" check) are the closest stand-in for the unseen future feed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trust_tagger.model.calibration import ece, reliability_curve, top_label_ece
from trust_tagger.model.contracts import Scores
from trust_tagger.model.heads import class_known, label_matrix
from trust_tagger.routing import Thresholds, filed_mask, label_mask, present_macro_f1, prior_weight, weighted_rates
from trust_tagger.taxonomy import CATEGORIES, SUBCATEGORIES


def compute_metrics(scores: Scores, examples, thresholds: Thresholds | None = None) -> dict:
    """All headline figures for one labeled set (see module docstring)."""
    from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score

    th = thresholds or Thresholds()
    rel, cls, exact, cats, subs = label_matrix(examples)
    out: dict = {"n": len(examples), "n_relevant": int(rel.sum())}
    both = 0 < rel.sum() < len(rel)
    out["relevance_ap"] = float(average_precision_score(rel, scores.relevance)) if both else float("nan")
    out["relevance_roc_auc"] = float(roc_auc_score(rel, scores.relevance)) if both else float("nan")
    out["relevance_ece"] = ece(scores.relevance, rel)
    out["relevance_base_rate"] = float(rel.mean()) if len(rel) else float("nan")
    if exact.any():
        pred_cls = scores.relevance_class[exact].argmax(1)
        out["relevance_class_accuracy"] = float((pred_cls == cls[exact]).mean())
        out["relevance_class_ece"] = top_label_ece(scores.relevance_class[exact], cls[exact])
    pos = rel > 0
    if pos.any():
        cp = label_mask(scores.categories[pos], CATEGORIES, th.categories, th.category_rule).astype(int)
        sp = label_mask(scores.subcategories[pos], SUBCATEGORIES, th.subcategories, th.subcategory_rule).astype(int)
        yc, ys = cats[pos].astype(int), subs[pos].astype(int)
        out["category_macro_f1"] = present_macro_f1(yc, cp)
        out["subcategory_macro_f1"] = present_macro_f1(ys, sp)
        out["category_ece"] = ece(scores.categories[pos], yc)
        p, r, f, s = precision_recall_fscore_support(yc, cp, average=None, zero_division=0)
        out["per_category"] = {c: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]),
                                   "support": int(s[j])} for j, c in enumerate(CATEGORIES)}
    w = prior_weight(rel.mean() if len(rel) else 0.5, th.feed_prior)
    out["routing"] = weighted_rates(scores.relevance, rel, th.accept, th.reject, w)
    out["routing"]["feed_prior"] = th.feed_prior
    # Accept also needs a subcategory: count the accepts that would drop to review for lack of one.
    sub_ok = filed_mask(scores.subcategories, SUBCATEGORIES, th).any(1)
    acc = (scores.relevance >= th.accept) & sub_ok
    rej = scores.relevance <= th.reject
    wts = np.where(rel > 0, 1.0, w)
    out["routing"]["auto_share_with_subcategory_rule"] = float(wts[acc | rej].sum() / wts.sum()) if len(rel) else 0
    out["routing"]["unweighted_auto_share"] = float((acc | rej).mean()) if len(rel) else 0
    out.update(core_metrics(scores, examples, th))
    return out


def filed_matrix(scores: Scores, th: Thresholds) -> np.ndarray:
    """The subcategory files each paper would be merged into (``routing.filed_mask``, the nightly's rule)."""
    return filed_mask(scores.subcategories, SUBCATEGORIES, th)


def core_metrics(scores: Scores, examples, th: Thresholds) -> dict:
    """The maintainers' own taste: core AP, and what ``merge_policy = core`` would do on these papers.

    Computed on papers whose class is known (annotated, or relevance 0); at the set's own prior, which
    is the feed's natural prior on the dense temporal sets. Filing = share of merged papers whose
    files are all among the labels' subcategories (no line in a wrong file), and ``filing_exact`` =
    whose files equal them.

    Only a few papers are merged (10 on the temporal holdout), so one paper moves ``filing`` by 0.10:
    it read 0.80 to 1.00 across models of one recipe. ``filing_all_core`` files every labeled core
    paper as if it were merged: the share whose most likely subcategory, the file a merge writes
    (``routing.filed_subcategories``), is among the labels'. That is 29 papers on the holdout, 0.03 a
    paper, and it needs no thresholds. ``filing_all_relevant`` does the same for every relevant paper.
    """
    from sklearn.metrics import average_precision_score

    rel, cls, exact, cats, subs = label_matrix(examples)
    known = class_known(rel, exact)
    y = (cls == 2) & known
    out: dict = {"n_core": int(y.sum())}
    if known.any() and 0 < y[known].sum() < known.sum():
        out["core_ap"] = float(average_precision_score(y[known], scores.core[known]))
        out["core_ece"] = ece(scores.core[known], y[known])
    else:
        out["core_ap"] = out["core_ece"] = float("nan")
    for name, group in (("core", y), ("relevant", rel > 0)):
        rows = np.where(group & (subs.sum(1) > 0))[0]
        top = scores.subcategories[rows].argmax(1)
        out[f"filing_all_{name}"] = float(subs[rows, top].mean()) if len(rows) else float("nan")
        out[f"n_filing_all_{name}"] = int(len(rows))
    if th.core_accept is None or th.core_reject is None:
        return out
    filed = filed_matrix(scores, th)
    acc = (scores.core >= th.core_accept) & filed.any(1) & known
    rej = (scores.core <= th.core_reject) & known
    n = max(1, int(known.sum()))
    routing = {"accept_share": float(acc.sum() / n), "reject_share": float(rej.sum() / n),
               "auto_share": float((acc | rej).sum() / n), "n_merged": int(acc.sum()),
               "merge_precision_core": float(y[acc].mean()) if acc.any() else float("nan"),
               "merge_precision_relevant": float(rel[acc].mean()) if acc.any() else float("nan"),
               "core_auto_rejected": float((y & rej).sum() / y.sum()) if y.any() else float("nan"),
               "adjacent_rejected": int((rej & (rel > 0) & ~y).sum())}
    merged = np.where(acc & (rel > 0))[0]
    if len(merged):
        ok = [set(np.where(filed[i])[0]) <= set(np.where(subs[i] > 0)[0]) for i in merged]
        same = [set(np.where(filed[i])[0]) == set(np.where(subs[i] > 0)[0]) for i in merged]
        routing.update({"filing": float(np.mean(ok)), "filing_exact": float(np.mean(same))})
    out["core_routing"] = routing
    return out


def confusions(scores: Scores, examples, k: int = 10) -> list[dict]:
    """The most confident relevance mistakes, both ways: where labels or model most need a look."""
    rel = np.array([e.relevance >= 1 for e in examples])
    err = np.abs(scores.relevance - rel)
    order = np.argsort(-err)[:k]
    return [{"arxiv_id": examples[i].arxiv_id, "title": examples[i].title, "label": int(examples[i].relevance),
             "p_relevant": float(scores.relevance[i]), "label_categories": examples[i].categories}
            for i in order if err[i] > 0.5]


# ------------------------------------------------------------------------- plots
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_pr(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    """Precision-recall curves of relevance, one line per named (p, y) pair."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, (p, y) in curves.items():
        if 0 < np.sum(y) < len(y):
            prec, rec, _ = precision_recall_curve(y, p)
            ax.plot(rec, prec, label=f"{name} (AP {average_precision_score(y, p):.3f})")
    ax.axhline(0.95, color="grey", ls=":", lw=1)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(title)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(p: np.ndarray, y: np.ndarray, path: Path, title: str) -> None:
    plt = _plt()
    mp, obs, cnt = reliability_curve(p, y)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot([0, 1], [0, 1], color="grey", ls=":")
    ax.plot(mp, obs, marker="o")
    for x, yv, c in zip(mp, obs, cnt):
        ax.annotate(str(c), (x, yv), fontsize=7, textcoords="offset points", xytext=(3, -9))
    ax.set_xlabel("predicted P(relevant)")
    ax.set_ylabel("observed rate")
    ax.set_title(f"{title} (ECE {ece(p, y):.3f})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_categories(per_category: dict, path: Path, title: str) -> None:
    plt = _plt()
    names = list(per_category)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for i, m in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (i - 1) * 0.27, [per_category[n][m] for n in names], width=0.27, label=m)
    ax.set_xticks(x, [f"{n}\n(n={per_category[n]['support']})" for n in names], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8, ncols=3, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------- report
def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def metrics_table(rows: dict[str, dict]) -> str:
    keys = [("relevance_ap", "rel. AP"), ("relevance_roc_auc", "ROC-AUC"), ("relevance_ece", "ECE"),
            ("core_ap", "core AP"), ("category_macro_f1", "cat. macro-F1"), ("subcategory_macro_f1", "subcat. macro-F1"),
            ("filing_all_core", "filing, all core")]
    head = "| set | n (relevant) | " + " | ".join(k[1] for k in keys) + " | auto-decided | accept prec. | reject NPV |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, m in rows.items():
        r = m.get("routing", {})
        lines.append(f"| {name} | {m['n']} ({m['n_relevant']}) | " + " | ".join(_fmt(m.get(k[0], float('nan'))) for k in keys)
                     + f" | {_fmt(r.get('auto_share_with_subcategory_rule', float('nan')))} | "
                       f"{_fmt(r.get('precision', float('nan')))} | {_fmt(r.get('npv', float('nan')))} |")
    return "\n".join(lines)


def evaluate_model(model, settings, out_dir: Path | None = None, later_list: Path | None = None) -> dict:
    """Score the model on the frozen test split (and the later-papers check), write report + plots."""
    from trust_tagger.files import atomic_write_text
    from trust_tagger.retrain import dataset as D

    version = getattr(model, "version", None) or getattr(model, "meta", {}).get("version") or "unversioned"
    out_dir = Path(out_dir) if out_dir else settings.path(settings.reports_dir) / f"eval-{version}"
    out_dir.mkdir(parents=True, exist_ok=True)
    pool = D.load_pool(settings.path(settings.snapshot_path))
    ds = D.build_dataset(settings.path(settings.list_dir), settings.path(settings.labeled_dir), pool)
    sets = {"test": ds.split("test")}
    trained_on = set(getattr(model, "meta", {}).get("train_keys", []))
    later_note = ""
    if later_list is not None and Path(later_list).exists():
        later = D.later_papers(settings.path(settings.list_dir), Path(later_list), pool, settings.path(settings.labeled_dir))
        seen = [e for e in later if e.key in trained_on]
        sets["later"] = [e for e in later if e.key not in trained_on]
        later_note = (f"Later papers: {len(later)} papers added to the list after the training snapshot and present "
                      f"in the pool; {len(seen)} of them were in this model's training/validation data and are left out.")
    results, scores = {}, {}
    for name, exs in sets.items():
        if exs:
            scores[name] = model.predict_proba(exs)
            results[name] = compute_metrics(scores[name], exs, model.thresholds)
            results[name]["confusions"] = confusions(scores[name], exs)
    plots = []
    for name, exs in sets.items():
        if name not in scores:
            continue
        y = np.array([e.relevance >= 1 for e in exs]).astype(int)
        plot_pr({name: (scores[name].relevance, y)}, out_dir / f"pr_{name}.png", f"relevance PR - {name}")
        plot_reliability(scores[name].relevance, y, out_dir / f"reliability_{name}.png", f"reliability - {name}")
        if "per_category" in results[name]:
            plot_categories(results[name]["per_category"], out_dir / f"categories_{name}.png", f"categories - {name}")
        plots += [f"pr_{name}.png", f"reliability_{name}.png", f"categories_{name}.png"]
    th = model.thresholds
    lines = [f"# Evaluation of model {version}", "",
             f"Data: `{settings.snapshot_path}` pool, labels from `{settings.list_dir}` + `{settings.labeled_dir}`"
             f" (dataset hash `{ds.data_hash[:16]}`); frozen test split = sha256 bucket of the paper key.",
             later_note, "",
             f"Routing thresholds (chosen on validation at feed prior {th.feed_prior}): accept P >= {th.accept:.3f}, "
             f"reject P <= {th.reject:.3f}; targets precision {th.precision_target}, NPV {th.npv_target}.", "",
             metrics_table(results), "",
             "auto-decided = share of a feed (test negatives re-weighted to the feed prior) accepted or rejected "
             "without review, accepts requiring a subcategory; precision/NPV are feed-weighted.", ""]
    for name in results:
        lines += [f"## {name}", "", f"![PR]({'pr_' + name}.png) ![reliability]({'reliability_' + name}.png)", "",
                  f"![categories]({'categories_' + name}.png)", "", "| category | precision | recall | F1 | support |",
                  "|---|---|---|---|---|"]
        for c, m in results[name].get("per_category", {}).items():
            lines.append(f"| {c} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
        lines += ["", "Confusions worth a look (most confident relevance mistakes):", ""]
        for c in results[name]["confusions"]:
            lines.append(f"- `{c['arxiv_id']}` label {c['label']} {c['label_categories']}, P(relevant) "
                         f"{c['p_relevant']:.2f}: {c['title']}")
        lines.append("")
    atomic_write_text(out_dir / "report.md", "\n".join(lines) + "\n")
    atomic_write_text(out_dir / "metrics.json", json.dumps(results, indent=2, default=float) + "\n")
    return {"dir": str(out_dir), "results": results, "plots": plots}
