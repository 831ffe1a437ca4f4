"""From what a replay recorded to the figures the report shows: the screening log of each variant,
the per-week table and the end-of-replay figures (recall, false merges, reviews, WSS@95, core AP).

Definitions (the report repeats them):
* the *pool* is every feed paper of the window the loop classified (papers already on the list
  at the start are not part of the task) and the oracle has a label for; N is its size;
* a *target* is what the list should get: a core paper under ``merge_policy=core``;
* core recall = targets on the list at the end of the replay / targets in the pool;
* relevant recall = relevant papers (relevance >= 1) merged or seen by the reviewer / relevant
  papers in the pool ("+ digest" also counts adjacent papers listed in a nightly digest);
* a false merge is a paper the model merged on its own that is not a target;
* WSS@95 completes each log with the papers nobody screened during the replay, in the order of
  the scores they were given, so that every variant reaches recall 1 (see ``metrics``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from trust_tagger.simulate.metrics import Screened, average_precision, recall_at, reviews_to_recall, wss
from trust_tagger.simulate.replay import PaperTrace, ReplayRun

RECALL = 0.95


def pool_of(run: ReplayRun) -> list[PaperTrace]:
    """The papers the loop had to decide on and the oracle can judge, in date order."""
    return sorted((p for p in run.papers.values() if p.label is not None and p.decision is not None),
                  key=lambda p: (p.date, p.key))


def is_target(label: int | None, policy: str) -> bool:
    return label is not None and (label == 2 if policy == "core" else label >= 1)


def screening_log(run: ReplayRun, policy: str) -> list[Screened]:
    """Week by week: the papers merged unseen (cost 0), then the papers reviewed (cost 1), then the tail.

    The tail is every pool paper nobody saw during the replay (in the backlog, or auto-rejected),
    ordered by the policy's score the loop gave it: what a maintainer finishing the job would read.
    """
    pool = {p.key: p for p in pool_of(run)}
    log: list[Screened] = []
    seen: set[str] = set()
    by_week: dict[int, list[str]] = {}
    for key in run.review_order:
        if key in pool:
            by_week.setdefault(pool[key].reviewed_week, []).append(key)
    for week in run.weeks:
        for key in week.merged_keys:
            p = pool.get(key)
            if p is not None and p.review_action is None and key not in seen:
                log.append(Screened(key, 0, is_target(p.label, policy), "merge"))
                seen.add(key)
        for key in by_week.get(week.week, []):
            if key not in seen:
                log.append(Screened(key, 1, is_target(pool[key].label, policy), "review"))
                seen.add(key)

    def score(p: PaperTrace) -> float:
        s = p.core if policy == "core" else p.relevance
        return -1.0 if s is None else float(s)

    rest = sorted((p for k, p in pool.items() if k not in seen), key=lambda p: (-score(p), p.date, p.key))
    log += [Screened(p.key, 1, is_target(p.label, policy), "tail") for p in rest]
    return log


@dataclass
class Figures:
    """One row of the results table."""

    name: str
    papers: int
    targets: int
    relevant: int
    core_recall: float
    relevant_recall: float
    relevant_recall_digest: float | None
    merges: int
    false_merges: int
    false_merges_adjacent: int
    false_merges_out_of_scope: int
    reviews: int
    reviews_per_week: float
    reviews_max_week: int
    wss95: float | None
    reviews_to_95: int | None
    reached_95_in_replay: bool
    core_missed_unseen: int
    relevant_missed_unseen: int
    backlog_end: int
    core_in_backlog_end: int
    recall_at_loop_reviews: float | None = None

    @property
    def false_merge_share(self) -> float | None:
        return self.false_merges / self.merges if self.merges else None


def _replay_part(log: list[Screened]) -> list[Screened]:
    return [s for s in log if s.how != "tail"]


def loop_figures(run: ReplayRun, policy: str) -> Figures:
    pool = pool_of(run)
    log = screening_log(run, policy)
    n_t = sum(is_target(p.label, policy) for p in pool)
    relevant = [p for p in pool if (p.label or 0) >= 1]
    merged = [p for p in pool if p.merged]
    auto = [p for p in merged if p.review_action is None]
    false = [p for p in auto if not is_target(p.label, policy)]
    unseen_rejected = [p for p in pool if p.decision == "reject" and p.review_action is None]
    backlog = [p for p in pool if p.status == "review"]
    within = _replay_part(log)
    k95 = reviews_to_recall(log, n_t, RECALL)
    reviews = [w.reviewed for w in run.weeks]
    seen_rel = [p for p in relevant if p.merged or p.review_action is not None]
    return Figures(
        name=run.name, papers=len(pool), targets=n_t, relevant=len(relevant),
        core_recall=sum(s.target for s in within) / n_t if n_t else float("nan"),
        relevant_recall=len(seen_rel) / len(relevant) if relevant else float("nan"),
        relevant_recall_digest=(len(seen_rel) + sum(p.adjacent for p in relevant if p not in seen_rel))
        / len(relevant) if relevant else None,
        merges=len(merged), false_merges=len(false),
        false_merges_adjacent=sum(p.label == 1 for p in false), false_merges_out_of_scope=sum(p.label == 0 for p in false),
        reviews=sum(reviews), reviews_per_week=float(np.mean(reviews)) if reviews else 0.0,
        reviews_max_week=max(reviews, default=0), wss95=wss(log, n_t, len(pool), RECALL), reviews_to_95=k95,
        reached_95_in_replay=reviews_to_recall(within, n_t, RECALL) is not None,
        core_missed_unseen=sum(is_target(p.label, "core") for p in unseen_rejected),
        relevant_missed_unseen=sum((p.label or 0) >= 1 for p in unseen_rejected),
        backlog_end=run.weeks[-1].backlog if run.weeks else 0, core_in_backlog_end=sum(is_target(p.label, "core") for p in backlog))


def baseline_figures(name: str, log: list[Screened], pool: list[PaperTrace], policy: str, weeks: int,
                     loop_reviews: int | None = None) -> Figures:
    """Figures of a screening baseline: it merges nothing unseen, every paper it finds was reviewed."""
    n_t = sum(is_target(p.label, policy) for p in pool)
    labels = {p.key: p.label for p in pool}
    within = _replay_part(log)
    relevant = sum((p.label or 0) >= 1 for p in pool)
    reviews = len(within)
    return Figures(
        name=name, papers=len(pool), targets=n_t, relevant=relevant,
        core_recall=sum(s.target for s in within) / n_t if n_t else float("nan"),
        relevant_recall=sum((labels.get(s.key) or 0) >= 1 for s in within) / relevant if relevant else float("nan"),
        relevant_recall_digest=None, merges=sum(s.target for s in within), false_merges=0, false_merges_adjacent=0,
        false_merges_out_of_scope=0, reviews=reviews, reviews_per_week=reviews / weeks if weeks else 0.0,
        reviews_max_week=0, wss95=wss(log, n_t, len(pool), RECALL), reviews_to_95=reviews_to_recall(log, n_t, RECALL),
        reached_95_in_replay=reviews_to_recall(within, n_t, RECALL) is not None, core_missed_unseen=0,
        relevant_missed_unseen=0, backlog_end=0, core_in_backlog_end=0,
        recall_at_loop_reviews=recall_at(log, n_t, loop_reviews) if loop_reviews is not None else None)


def week_table(run: ReplayRun, policy: str) -> list[dict]:
    """One row per week: what came in, what was merged (by label), queued, reviewed, waiting, missed."""
    papers = run.papers
    rows = []
    for i, w in enumerate(run.weeks):
        mine = [p for p in papers.values() if p.week == w.week]
        merged = Counter(_label_name(papers[k].label) for k in w.merged_keys if k in papers)
        rejected_unseen = [p for p in mine if p.decision == "reject" and p.review_action is None]
        nxt = run.weeks[i + 1] if i + 1 < len(run.weeks) else None
        ap, n_core = None, 0
        if nxt is not None:
            scored = [p for p in papers.values() if p.week == nxt.week and p.core is not None and p.label is not None]
            n_core = sum(p.label == 2 for p in scored)
            value = average_precision([p.core for p in scored], [p.label == 2 for p in scored])
            ap = None if value != value else round(value, 4)
        rows.append({
            "week": w.week + 1, "start": w.start, "end": w.end, "papers_in": w.papers_in,
            "merged": len(w.merged_keys), "merged_core": merged.get("core", 0),
            "merged_adjacent": merged.get("adjacent", 0), "merged_out_of_scope": merged.get("out of scope", 0),
            "auto_accepted": w.auto_accepted, "queued": w.queued, "reviewed": w.reviewed,
            "review_actions": dict(w.review_actions), "backlog": w.backlog,
            "relevant_rejected_unseen": sum((p.label or 0) >= 1 for p in rejected_unseen),
            "core_rejected_unseen": sum(p.label == 2 for p in rejected_unseen),
            "model_version": w.model_version, "update": w.update or "",
            "core_ap_next_week": ap, "core_next_week": n_core, "seconds": w.seconds,
        })
    return rows


def _label_name(label: int | None) -> str:
    return {2: "core", 1: "adjacent", 0: "out of scope"}.get(label, "unlabeled")


def monthly_core_ap(run: ReplayRun) -> dict[str, float | None]:
    """Core AP of the papers of each month as the loop scored them (each by the model current that night)."""
    out = {}
    months = sorted({p.date[:7] for p in run.papers.values()})
    for m in months:
        ps = [p for p in run.papers.values() if p.date[:7] == m and p.core is not None and p.label is not None]
        value = average_precision([p.core for p in ps], [p.label == 2 for p in ps])
        out[m] = None if value != value else round(value, 4)
    return out
