"""One replay of the loop: night by night through the real nightly path, a weekly oracle review of the
queue's head, and the scheduled update through the real ``retrain()`` and its promotion gate.

Nothing here decides, routes, merges or trains by itself: ``run_nightly`` ingests the snapshot's
papers of the night, classifies them with the registry's current model, routes, merges into the
scratch list and writes its report; ``Oracle.review`` decides through ``review.decide``;
``retrain`` exports the decisions, builds the dataset, trains (or refits heads), gates and
promotes. The replay only watches: it records, per paper, what the model said and what happened to
it, and per week what came in, went out and waited.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from trust_tagger.config import Settings
from trust_tagger.simulate.oracle import Oracle
from trust_tagger.store.store import Store

SCHEDULES = ("weekly", "monthly", "never")  # --retrain: when the full fine-tune runs
UPDATES = ("heads", "full")  # --update: heads = a cheap refit every week between full retrains; full = none


def weeks(since: dt.date, until: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Seven-day blocks from ``since``; the last one ends at ``until``."""
    if since > until:
        raise ValueError(f"empty window: since {since} is after until {until}")
    out, start = [], since
    while start <= until:
        end = min(start + dt.timedelta(days=6), until)
        out.append((start, end))
        start = end + dt.timedelta(days=1)
    return out


def scheduled_update(start: dt.date, end: dt.date, retrain: str, update: str) -> str | None:
    """What runs after the review of the week [start, end]: ``full``, ``heads`` or nothing.

    ``monthly``: the full fine-tune runs after the week in which a new month begins (the week whose
    next day lies in another month than its first day), so each month boundary triggers it once.
    """
    if retrain not in SCHEDULES:
        raise ValueError(f"unknown retrain schedule {retrain!r}; use one of {', '.join(SCHEDULES)}")
    if update not in UPDATES:
        raise ValueError(f"unknown update {update!r}; use one of {', '.join(UPDATES)}")
    nxt = end + dt.timedelta(days=1)
    if retrain == "weekly" or (retrain == "monthly" and (nxt.year, nxt.month) != (start.year, start.month)):
        return "full"
    return "heads" if update == "heads" else None


@dataclass
class PaperTrace:
    """What happened to one feed paper during a replay."""

    key: str
    date: str
    week: int
    label: int | None  # the oracle's relevance
    model_version: str | None = None  # the model that first classified it
    core: float | None = None
    relevance: float | None = None
    decision: str | None = None  # the model's routing: accept / review / reject (None: on the list already)
    reviewed_week: int | None = None
    review_action: str | None = None
    status: str = "new"
    merged: bool = False
    adjacent: bool = False  # shown in a digest's adjacent section (rejected, P(relevant) >= 0.5)


@dataclass
class UpdateRecord:
    week: int
    kind: str
    verdict: str
    candidate: str | None
    current: str | None
    seconds: float
    reasons: list[str] = field(default_factory=list)
    comparison: dict | None = None  # at a full retrain: next month's core AP of before / heads / full


@dataclass
class WeekRecord:
    week: int
    start: str
    end: str
    papers_in: int = 0
    auto_accepted: int = 0
    queued: int = 0
    auto_rejected: int = 0
    adjacent_flagged: int = 0
    reviewed: int = 0
    review_actions: dict = field(default_factory=dict)
    backlog: int = 0
    merged_keys: list[str] = field(default_factory=list)
    model_version: str = ""  # current when the week's papers were classified
    update: str | None = None
    seconds: float = 0.0


@dataclass
class ReplayRun:
    name: str
    schedule: dict
    papers: dict[str, PaperTrace]
    weeks: list[WeekRecord]
    updates: list[UpdateRecord]
    review_order: list[str]  # keys in the order the oracle took them
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"name": self.name, "schedule": self.schedule, "seconds": self.seconds,
                "weeks": [asdict(w) for w in self.weeks], "updates": [asdict(u) for u in self.updates],
                "review_order": self.review_order, "papers": [asdict(p) for p in self.papers.values()]}


class CurrentClassifier:
    """The registry's current model, loaded once per version (a load verifies ~90 MB of files)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.version: str | None = None
        self.classifier = None

    def get(self):
        from trust_tagger.model import registry
        from trust_tagger.nightly.classifier import load_classifier

        version = registry.current(self.settings)
        if version != self.version or self.classifier is None:
            self.classifier = load_classifier(self.settings)
            self.version = version
        return self.classifier


def replay(name: str, settings: Settings, oracle: Oracle, since: dt.date, until: dt.date, *, review_budget: int,
           retrain: str, update: str, base_model: str | None = None, overrides: dict | None = None,
           compare_updates: bool = True, pool: dict[str, dict] | None = None,
           advance: Callable[[str], None] = lambda s: None, log: Callable[[str], None] = lambda s: None) -> ReplayRun:
    """Replay [since, until] in ``settings``' scratch project (its registry already holds the start model).

    ``advance(description)`` is called once a night (progress); ``log`` gets one line per week and update.
    """
    from trust_tagger.listfile.index import load_list_index
    from trust_tagger.model import registry
    from trust_tagger.nightly import steps as S
    from trust_tagger.nightly.run import run_nightly
    from trust_tagger.retrain.loop import retrain as run_retrain
    from trust_tagger.review.queue import load_queue
    from trust_tagger.routing import is_adjacent

    t0 = time.perf_counter()
    store = Store(settings.resolved_db_url)
    index = load_list_index(settings.path(settings.list_dir))
    current = CurrentClassifier(settings)
    blocks = weeks(since, until)
    papers: dict[str, PaperTrace] = {}
    week_rows: list[WeekRecord] = []
    updates: list[UpdateRecord] = []
    review_order: list[str] = []
    merged_before: set[str] = set()
    for wi, (ws, we) in enumerate(blocks):
        tw = time.perf_counter()
        row = WeekRecord(wi, ws.isoformat(), we.isoformat(), model_version=str(registry.current(settings)))
        day = ws
        while day <= we:
            counts = run_nightly(settings, store, source="snapshot", since=day, until=day,
                                 classifier=current.get())["counts"]
            row.auto_accepted += counts["accepted"]
            row.queued += counts["queued"]
            row.auto_rejected += counts["rejected"]
            advance(f"{name}: {day} (week {wi + 1}/{len(blocks)}, model {current.version})")
            day += dt.timedelta(days=1)
        for paper in store.papers():
            if not (ws.isoformat() <= paper.date <= we.isoformat()) or paper.key in papers:
                continue
            pred = store.latest_prediction(paper.key)
            trace = PaperTrace(paper.key, paper.date, wi, oracle.relevance(paper.key))
            if pred is not None:
                trace.model_version, trace.core, trace.relevance = pred.model_version, pred.core, pred.relevance
                trace.decision = pred.decision
                trace.adjacent = paper.status == "rejected" and is_adjacent(
                    {"policy": pred.policy, "decision": pred.decision, "relevance": pred.relevance})
            papers[paper.key] = trace
            row.papers_in += 1
            row.adjacent_flagged += trace.adjacent
        merged_now = _merged(store)
        row.merged_keys = sorted(merged_now - merged_before)
        merged_before = merged_now
        reviewed = oracle.review(store, review_budget, index)
        for item in reviewed:
            trace = papers.get(item.key)
            if trace is not None and trace.reviewed_week is None:
                trace.reviewed_week, trace.review_action = wi, item.action
                review_order.append(item.key)
            row.review_actions[item.action] = row.review_actions.get(item.action, 0) + 1
        row.reviewed = len(reviewed)
        row.backlog = len(load_queue(store))
        kind = scheduled_update(ws, we, retrain, update) if wi < len(blocks) - 1 else None
        if kind is not None:
            comparison = None
            if kind == "full" and compare_updates and pool is not None:
                comparison = _before_full(settings, store, pool, oracle, we, until)
            res = run_retrain(settings, store, update=kind, base_model=base_model,
                              config_overrides=(overrides or None) if kind == "full" else None, log=lambda s: None)
            if comparison is not None:
                _after_full(settings, comparison, res.candidate)
            updates.append(UpdateRecord(wi, kind, res.verdict, res.candidate, res.current, res.seconds,
                                        list(res.decision.reasons) if res.decision else [res.skipped or ""],
                                        comparison))
            row.update = f"{kind}: {res.verdict}" + (f" {res.candidate}" if res.candidate else "")
            registry.prune(3, settings)  # weekly versions are ~90 MB each; the current one is always kept
        row.seconds = round(time.perf_counter() - tw, 1)
        week_rows.append(row)
        log(f"{name} week {wi + 1}/{len(blocks)} {ws}..{we}: {row.papers_in} in, {row.auto_accepted} accepted, "
            f"{row.queued} queued, {row.reviewed} reviewed, backlog {row.backlog}"
            + (f"; {row.update}" if row.update else "") + f" ({row.seconds:.0f} s)")
    # The last week's review decisions reach the list the way every other week's do: by the merge step.
    S.merge_accepted(store, settings)
    merged = _merged(store)
    if week_rows:
        week_rows[-1].merged_keys = sorted(set(week_rows[-1].merged_keys) | (merged - merged_before))
    for paper in store.papers(keys=list(papers)):
        trace = papers[paper.key]
        trace.status = paper.status
        trace.merged = paper.key in merged
    return ReplayRun(name, {"retrain": retrain, "update": update, "review_budget": review_budget}, papers,
                     week_rows, updates, review_order, round(time.perf_counter() - t0, 1))


def _merged(store: Store) -> set[str]:
    """Papers our merges put on the list (accepted and written), not those that were there before."""
    return {r.key for r in store.papers(status="accepted") if r.merged_at is not None}


# -- the cheap update against the full retrain, at each full retrain ------------------------------------
COMPARE_DAYS = 28  # "next month": the four weeks after the retrain


def _next_papers(pool: dict[str, dict], oracle: Oracle, after: dt.date, until: dt.date) -> list[dict]:
    """Pool records dated in (after, min(after + COMPARE_DAYS, until)] that the oracle has a label for."""
    lo, hi = after.isoformat(), min(after + dt.timedelta(days=COMPARE_DAYS), until).isoformat()
    return [dict(rec, key=key) for key, rec in sorted(pool.items())
            if lo < str(rec.get("date") or "")[:10] <= hi and oracle.relevance(key) is not None]


def _before_full(settings: Settings, store: Store, pool, oracle: Oracle, week_end: dt.date, until: dt.date) -> dict:
    """Next month's core AP of the current model and of a heads update on the labels the retrain will see.

    The heads update is computed here on the same dataset (decisions exported the same way the
    retrain exports them) and scored, never registered: it is the counterfactual "what if this week
    had been a cheap update", paired with the full retrain on the same labels and the same papers.
    """
    from trust_tagger.model import registry
    from trust_tagger.model import update as U
    from trust_tagger.retrain.loop import build, gather_labels

    nxt = _next_papers(pool, oracle, week_end, until)
    gather_labels(store, settings)
    ds = build(settings)
    before = registry.load_current(settings)
    y = [oracle.relevance(r["key"]) == 2 for r in nxt]
    out = {"papers": len(nxt), "core": int(sum(y)), "before_version": str(before.version), "targets": y,
           "records": nxt}
    out["before"] = _core_ap(U.predict_proba(before, nxt).core, y)
    t0 = time.perf_counter()
    heads = U.update_heads(registry.load_current(settings), ds.split("train"), ds.split("validation"))
    out["heads_seconds"] = round(time.perf_counter() - t0, 1)
    out["heads"] = _core_ap(U.predict_proba(heads, nxt).core, y)
    return out


def _after_full(settings: Settings, comparison: dict, candidate: str | None) -> None:
    from trust_tagger.model import registry
    from trust_tagger.model import update as U
    from trust_tagger.model.tagger import TrustTagger

    records, y = comparison.pop("records"), comparison.pop("targets")
    if candidate is None:
        comparison["full"] = None
        return
    model = TrustTagger.load(registry.model_path(candidate, settings))
    comparison["full_version"] = candidate
    comparison["full"] = _core_ap(U.predict_proba(model, records).core, y)
    gain_full = (comparison["full"] or 0) - (comparison["before"] or 0)
    gain_heads = (comparison["heads"] or 0) - (comparison["before"] or 0)
    comparison["heads_share_of_full_gain"] = round(gain_heads / gain_full, 3) if gain_full > 1e-9 else None


def _core_ap(scores, targets) -> float | None:
    from trust_tagger.simulate.metrics import average_precision

    ap = average_precision(scores, targets)
    return None if ap != ap else round(ap, 4)
