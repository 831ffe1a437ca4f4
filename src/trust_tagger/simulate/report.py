"""The simulation's report: ``report.md`` (the table, the week table, the update comparison, a
maintainer's week), ``summary.json``, ``weeks-<variant>.json/.csv``, ``replay-<variant>.json`` (every
paper's trace) and two PNGs: recall against papers reviewed, and the weekly core AP and backlog."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from trust_tagger.files import atomic_write_bytes, atomic_write_json, atomic_write_text
from trust_tagger.simulate.metrics import Screened, recall_curve

SECONDS_PER_PAPER = 15  # a maintainer reading a title and abstract and choosing files (issue 11's figure)
WEEK_COLUMNS = ["week", "start", "end", "papers_in", "merged", "merged_core", "merged_adjacent", "merged_out_of_scope",
                "queued", "reviewed", "backlog", "relevant_rejected_unseen", "core_rejected_unseen", "model_version",
                "update", "core_ap_next_week", "core_next_week"]


def _f(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value) -> str:
    return "—" if value is None or value != value else f"{100 * value:.1f} %"


def figures_table(figures: dict) -> list[str]:
    lines = ["| variant | core recall | relevant recall (+ digest) | merges | false merges (adjacent / out of scope) "
             "| reviews (per week, max) | WSS@95 | reviews to 95 % core recall | core papers auto-rejected | "
             "backlog at end (core) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    first = [n for n in ("loop", "frozen") if n in figures]  # summary.json stores its keys sorted
    for name, f in [(n, figures[n]) for n in first] + [(n, f) for n, f in figures.items() if n not in first]:
        digest = f" ({_f(f['relevant_recall_digest'])})" if f.get("relevant_recall_digest") is not None else ""
        false = (f"{f['false_merges']} = {_pct(f['false_merge_share'])} ({f['false_merges_adjacent']} / "
                 f"{f['false_merges_out_of_scope']})" if f["merges"] else "—")
        k95 = f["reviews_to_95"]
        k95_text = "never" if k95 is None else f"{k95}" + ("" if f["reached_95_in_replay"] else " (after the replay)")
        per_week = f"{f['reviews']} ({f['reviews_per_week']:.1f}, {f['reviews_max_week']})" if f["reviews_max_week"] \
            else f"{f['reviews']} ({f['reviews_per_week']:.1f})"
        lines.append(f"| {name} | {_f(f['core_recall'])} | {_f(f['relevant_recall'])}{digest} | {f['merges']} | {false} "
                     f"| {per_week} | {_f(f['wss95'])} | {k95_text} | {f['core_missed_unseen']} | "
                     f"{f['backlog_end']} ({f['core_in_backlog_end']}) |")
    return lines


def week_markdown(rows: list[dict]) -> list[str]:
    lines = ["| week | dates | in | merged (core / adjacent / out) | queued | reviewed | backlog | "
             "rejected unseen: relevant (core) | model | update after review | core AP next week (core papers) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['week']} | {r['start'][5:]}..{r['end'][5:]} | {r['papers_in']} | {r['merged']} "
                     f"({r['merged_core']} / {r['merged_adjacent']} / {r['merged_out_of_scope']}) | {r['queued']} | "
                     f"{r['reviewed']} | {r['backlog']} | {r['relevant_rejected_unseen']} ({r['core_rejected_unseen']}) "
                     f"| {r['model_version']} | {r['update'] or '—'} | {_f(r['core_ap_next_week'])} "
                     f"({r['core_next_week']}) |")
    return lines


def updates_markdown(updates: list[dict]) -> list[str]:
    comps = [u for u in updates if u.get("comparison")]
    lines = []
    if updates:
        kinds = {}
        for u in updates:
            kinds.setdefault(u["kind"], []).append(u)
        lines += ["| update | runs | promoted | median seconds |", "|---|---|---|---|"]
        for kind, us in kinds.items():
            secs = sorted(u["seconds"] for u in us)
            lines.append(f"| {kind} | {len(us)} | {sum(u['verdict'] == 'promoted' for u in us)} | "
                         f"{secs[len(secs) // 2]:.0f} |")
        lines.append("")
    if comps:
        lines += ["At each full retrain, the next 4 weeks' core AP of the model before it, of a heads update on the "
                  "same labels (scored, not used) and of the full retrain's candidate:", "",
                  "| after week | papers (core) | before | heads update | full retrain | heads' share of the gain "
                  "| heads seconds | full seconds |", "|---|---|---|---|---|---|---|---|"]
        for u in comps:
            c = u["comparison"]
            lines.append(f"| {u['week'] + 1} | {c['papers']} ({c['core']}) | {_f(c.get('before'))} | {_f(c.get('heads'))} "
                         f"| {_f(c.get('full'))} | {_f(c.get('heads_share_of_full_gain'), 2)} | "
                         f"{_f(c.get('heads_seconds'), 1)} | {u['seconds']:.0f} |")
    return lines


def monthly_markdown(monthly: dict) -> list[str]:
    months = sorted({m for v in monthly.values() for m in v})
    lines = ["| variant | " + " | ".join(months) + " |", "|---|" + "---|" * len(months)]
    for name, per in monthly.items():
        lines.append(f"| {name} | " + " | ".join(_f(per.get(m)) for m in months) + " |")
    return lines


def maintainer_week(figures: dict, weeks: int) -> list[str]:
    f = figures["loop"]
    per_week = f["reviews"] / weeks if weeks else 0
    lines = [f"A maintainer's week with the loop: {per_week:.1f} papers reviewed on average (at most "
             f"{f['reviews_max_week']}), about {per_week * SECONDS_PER_PAPER / 60:.1f} minutes at "
             f"{SECONDS_PER_PAPER} s a paper; the list receives {f['merges'] / weeks:.1f} papers a week, "
             f"{f['false_merges'] / weeks:.2f} of them false merges to delete."]
    total = f["papers"]
    lines.append(f"Screening every feed paper by hand instead: {total / weeks:.0f} papers a week, "
                 f"{total / weeks * SECONDS_PER_PAPER / 60:.0f} minutes.")
    return lines


def write_report(out: Path, result: dict, week_tables: dict[str, list[dict]], logs: dict[str, list[Screened]],
                 runs: dict[str, dict]) -> None:
    out = Path(out)
    atomic_write_json(out / "summary.json", result)
    for name, rows in week_tables.items():
        atomic_write_json(out / f"weeks-{name}.json", rows)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=WEEK_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(out / f"weeks-{name}.csv", buf.getvalue())
    for name, run in runs.items():
        atomic_write_text(out / f"replay-{name}.json", json.dumps(run, ensure_ascii=False) + "\n")
    targets = next(iter(result["figures"].values()))["targets"] if result["figures"] else 0
    atomic_write_bytes(out / "recall.png", recall_plot(logs, targets, result))
    atomic_write_bytes(out / "weekly.png", weekly_plot(week_tables))
    atomic_write_text(out / "report.md", markdown(result, week_tables))


def markdown(result: dict, week_tables: dict[str, list[dict]]) -> str:
    cfg = result["config"]
    f_loop = result["figures"]["loop"]
    lines = [f"# Simulation {result['id']}", "",
             f"Replay {cfg['since']} .. {cfg['until']} ({result['weeks']} weeks, {result['window_papers']} feed papers, "
             f"{100 * result['oracle_coverage']:.0f} % labeled), merge_policy `{result['policy']}`, review budget "
             f"{cfg['review_budget']} a week, full retrain `{cfg['retrain']}`, weekly update `{cfg['update']}`. "
             f"Pool: {f_loop['papers']} papers the loop classified ({f_loop['targets']} targets, "
             f"{f_loop['relevant']} relevant).", "",
             f"Wall time {result['seconds']['total'] / 60:.1f} min (start model {result['seconds']['start_model']:.0f} s"
             f"{'' if result['start_model']['trained'] else ', reused'}; "
             + ", ".join(f"{k} {v:.0f} s" for k, v in result["seconds"].items()
                         if k not in ("total", "start_model")) + f"), CPU {result['cpu_seconds'] / 60:.1f} min, "
             f"1-min load average {result['load_average']['start']:.1f} at the start and "
             f"{result['load_average']['end']:.1f} at the end (2 cores), peak RSS {result['peak_rss_mb']:.0f} MB.", "",
             "## Results", ""]
    lines += figures_table(result["figures"])
    lines += ["", "![recall against papers reviewed](recall.png)", "",
              "Core recall and relevant recall at the end of the replay; WSS@95 and 'reviews to 95 %' count the "
              "papers a human read (a paper the loop merged on its own costs nothing, its false merges are their own "
              "column) and complete each replay with the unseen papers in score order (see `summary.py`). "
              "The tf-idf baselines are ASReview's default recipe (tf-idf, naive Bayes, max sampling, retrained after "
              "every label) on the same pool and prior labels; 'whole pool' screens the four months from day one.", ""]
    al = [(n, f) for n, f in result["figures"].items() if f.get("recall_at_loop_reviews") is not None]
    if al:
        lines += [f"Recall of core papers after the loop's {f_loop['reviews']} reviews: loop {_f(f_loop['core_recall'])}, "
                  + ", ".join(f"{n} {_f(f['recall_at_loop_reviews'])}" for n, f in al) + ".", ""]
    lines += ["## A maintainer's week", ""] + maintainer_week(result["figures"], result["weeks"]) + [""]
    lines += ["## Core AP by month (each paper scored by the model current the night it arrived)", ""]
    lines += monthly_markdown(result["monthly_core_ap"]) + [""]
    if result["updates"].get("loop"):
        lines += ["## Updates", ""] + updates_markdown(result["updates"]["loop"]) + [""]
    for name, rows in week_tables.items():
        lines += [f"## Week by week: {name}", ""] + week_markdown(rows) + [""]
    return "\n".join(lines) + "\n"


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return buf.getvalue()


def recall_plot(logs: dict[str, list[Screened]], targets: int, result: dict) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    n = result["figures"]["loop"]["papers"]
    zoom = max([f["reviews"] for f in result["figures"].values() if f["name"] in ("loop", "frozen")] + [1]) * 2
    for ax, xmax in ((axes[0], n), (axes[1], zoom)):
        for name, log in logs.items():
            x, y = recall_curve(log, targets)
            ax.step(x, y, where="post", label=name)
        ax.plot([0, n], [0, 1], ls=":", color="grey", label="random order")
        ax.axhline(0.95, ls="--", lw=0.8, color="black")
        ax.set_xlim(0, xmax)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("papers reviewed by a maintainer")
        ax.set_ylabel("recall of core papers")
        ax.grid(alpha=0.3)
    axes[0].set_title(f"whole pool ({n} papers; after the replay: unseen papers in score order)")
    axes[1].set_title("the replay's range")
    axes[1].legend(loc="lower right", fontsize=8)
    data = _png(fig)
    plt.close(fig)
    return data


def weekly_plot(week_tables: dict[str, list[dict]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for name, rows in week_tables.items():
        weeks = [r["week"] for r in rows]
        axes[0].plot(weeks, [r["core_ap_next_week"] if r["core_ap_next_week"] is not None else float("nan")
                             for r in rows], marker="o", label=name)
        axes[1].plot(weeks, [r["backlog"] for r in rows], marker="o", label=name)
    axes[0].set_title("core AP of the current model on the next week's papers")
    axes[0].set_xlabel("week")
    axes[0].set_ylim(0, 1)
    axes[1].set_title("review backlog after the weekly review")
    axes[1].set_xlabel("week")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    data = _png(fig)
    plt.close(fig)
    return data
