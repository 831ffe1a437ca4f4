"""``trust-tagger simulate`` as a library function: start model → replays → baselines → report.

The replays are the loop as configured and, for comparison, the same loop with every update off
(the start model frozen); the baselines are ASReview's tf-idf active learning with the loop's
weekly review budget and on the whole pool at once. Everything is written to
``<reports_dir>/simulate-<id>/``; the scratch projects live in ``work/`` there (removed at the end
unless kept) and nothing of the real project is touched.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trust_tagger.config import Settings
from trust_tagger.simulate.workspace import SimulationError

DEFAULT_BUDGET = 15
# The simulation's fine-tune (start model and every full retrain): one epoch, a time guard far off, and only
# the top two transformer blocks trained. A step of the top-two recipe is 2.4x cheaper (10.7 vs 25.3 s,
# batch 16 x 256 tokens, load ~3.5) and scored the same within noise on the temporal holdout
# (benchmarks/classifier_notes.md: rel. AP 0.893 / 0.893, core AP 0.828 / 0.818-0.822), which is what lets a
# start model and three monthly retrains fit the replay's 30 minutes. The guard stays off: on a shared box a
# 240 s guard stopped the start model's fine-tune after 84 s, so figures would follow the load.
FINE_TUNE = {"epochs": 1, "max_train_seconds": 1800.0, "train_layers": 2}


def fine_tune_recipe(epochs: int = FINE_TUNE["epochs"], max_train_seconds: float = FINE_TUNE["max_train_seconds"],
                     train_layers: int | None = FINE_TUNE["train_layers"]) -> dict:
    """``TrainConfig`` overrides of the simulation's fine-tunes (``FINE_TUNE`` unless given).

    ``train_layers`` 0 or None trains every block (the product's ``train`` default). Gradient
    checkpointing is off with frozen blocks: they keep no activations, and the top-two recipe peaked at
    1,080 MB without it."""
    out = {"epochs": epochs, "max_train_seconds": max_train_seconds, "train_layers": train_layers or None}
    if out["train_layers"]:
        out["gradient_checkpointing"] = False
    return out


@dataclass
class SimulationConfig:
    since: dt.date
    until: dt.date
    review_budget: int = DEFAULT_BUDGET
    retrain: str = "monthly"  # when the full fine-tune runs: weekly | monthly | never
    update: str = "heads"  # between full retrains: heads (a cheap refit every week) | full (nothing)
    base_model: str | None = None
    overrides: dict = field(default_factory=dict)  # TrainConfig fields for the start model and full retrains
    start_model: Path | None = None
    compare: bool = True  # also the frozen start model and the tf-idf active-learning baselines
    compare_updates: bool = True  # at each full retrain, also score a heads update on the same labels
    baseline_classifier: str = "nb"
    work_dir: Path | None = None
    keep_work: bool = False
    sim_id: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, (Path, dt.date)) else v) for k, v in d.items()}


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_seconds() -> float:
    """User + system CPU time of this process: on a shared box, the figure the other jobs do not inflate
    as much as wall time (they take cores away, not cycles from this process's own work)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def simulate(settings: Settings, cfg: SimulationConfig, *, advance: Callable[[str], None] = lambda s: None,
             log: Callable[[str], None] = lambda s: None) -> dict:
    """Run the whole simulation and write its report; returns the summary (``summary.json``'s content).

    BLAS runs single-threaded throughout: the logistic regressions of the heads and the tf-idf member
    fitted 14x faster that way on the shared 2-core box (tf-idf member 95 s -> 6.9 s at load 7-9),
    where two BLAS threads per process only fight the other processes for the cores.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _simulate(settings, cfg, advance, log)


def _simulate(settings: Settings, cfg: SimulationConfig, advance: Callable[[str], None],
              log: Callable[[str], None]) -> dict:
    from trust_tagger.model import registry
    from trust_tagger.retrain.dataset import annotation_files, build_dataset, load_pool
    from trust_tagger.simulate import baselines, report, summary
    from trust_tagger.simulate.oracle import Oracle
    from trust_tagger.simulate.replay import replay, scheduled_update, weeks
    from trust_tagger.simulate.workspace import start_model, start_settings, variant_settings

    t0, cpu0, load0 = time.perf_counter(), cpu_seconds(), os.getloadavg()[0]
    scheduled_update(cfg.since, cfg.since, cfg.retrain, cfg.update)  # validates both options
    if cfg.review_budget < 0:
        raise SimulationError(f"review budget must be >= 0, got {cfg.review_budget}")
    blocks = weeks(cfg.since, cfg.until)
    sim_id = cfg.sim_id or f"{dt.datetime.now():%Y%m%dT%H%M%S}"
    out = settings.path(settings.reports_dir) / f"simulate-{sim_id}"
    work = Path(cfg.work_dir) if cfg.work_dir else out / "work"
    policy = settings.merge_policy
    pool = load_pool(settings.path(settings.snapshot_path))
    window = [k for k, r in pool.items() if cfg.since.isoformat() <= str(r.get("date") or "")[:10] <= cfg.until.isoformat()]
    if not window:
        raise SimulationError(f"the snapshot has no papers dated {cfg.since}..{cfg.until}")
    oracle = Oracle.from_files(annotation_files(settings.path(settings.labeled_dir)), policy)
    coverage = sum(oracle.relevance(k) is not None for k in window) / len(window)
    log(f"{len(window)} feed papers in {cfg.since}..{cfg.until} ({len(blocks)} weeks), "
        f"{coverage:.0%} labeled for the oracle; merge_policy={policy}")

    start = start_model(settings, work, cfg.since, pool, base_model=cfg.base_model, overrides=cfg.overrides,
                        given=cfg.start_model, log=log)
    variants = [("loop", cfg.retrain, cfg.update)]
    if cfg.compare and (cfg.retrain, cfg.update) != ("never", "full"):
        variants.append(("frozen", "never", "full"))
    runs = {}
    for name, schedule, update in variants:
        vs = variant_settings(settings, work, name)
        registry.register(start.path, vs, version="v1", make_current=True)
        runs[name] = replay(name, vs, oracle, cfg.since, cfg.until, review_budget=cfg.review_budget,
                            retrain=schedule, update=update, base_model=cfg.base_model, overrides=cfg.overrides,
                            compare_updates=cfg.compare_updates, pool=pool, advance=advance, log=log)

    loop = runs["loop"]
    figures = {name: summary.loop_figures(run, policy) for name, run in runs.items()}
    logs = {name: summary.screening_log(run, policy) for name, run in runs.items()}
    pool_traces = summary.pool_of(loop)
    baseline_seconds = 0.0
    if cfg.compare:
        tb = time.perf_counter()
        ss = start_settings(settings, work)
        prior = build_dataset(ss.path(ss.list_dir), ss.path(ss.labeled_dir), pool).examples
        records = [dict(pool[p.key], key=p.key) for p in pool_traces]
        targets = [summary.is_target(p.label, policy) for p in pool_traces]
        prior_targets = [summary.is_target(e.relevance, policy) for e in prior]
        for name, budget in ((f"tfidf-AL, {cfg.review_budget}/week", cfg.review_budget),
                             ("tfidf-AL, whole pool", None)):
            log(f"baseline {name} ...")
            logs[name] = baselines.active_learning(records, targets, prior, prior_targets,
                                                   arrival=[p.week for p in pool_traces], weekly_budget=budget,
                                                   classifier=cfg.baseline_classifier)
            figures[name] = summary.baseline_figures(name, logs[name], pool_traces, policy, len(blocks),
                                                     loop_reviews=figures["loop"].reviews)
        baseline_seconds = round(time.perf_counter() - tb, 1)
    result = {
        "id": sim_id, "config": cfg.to_dict(), "policy": policy, "window_papers": len(window),
        "oracle_coverage": round(coverage, 4), "weeks": len(blocks),
        "start_model": {"path": str(start.path), "trained": start.trained, "seconds": start.seconds,
                        "data_hash": start.data_hash, "counts": start.counts},
        "figures": {name: {**asdict(f), "false_merge_share": f.false_merge_share} for name, f in figures.items()},
        "monthly_core_ap": {name: summary.monthly_core_ap(run) for name, run in runs.items()},
        "updates": {name: [asdict(u) for u in run.updates] for name, run in runs.items()},
        "seconds": {**{name: run.seconds for name, run in runs.items()}, "start_model": start.seconds,
                    "baselines": baseline_seconds},
    }
    result["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    result["cpu_seconds"] = round(cpu_seconds() - cpu0, 1)
    result["load_average"] = {"start": round(load0, 2), "end": round(os.getloadavg()[0], 2)}
    result["peak_rss_mb"] = peak_rss_mb()
    report.write_report(out, result, {name: summary.week_table(run, policy) for name, run in runs.items()}, logs,
                        {name: run.to_dict() for name, run in runs.items()})
    if not cfg.keep_work and cfg.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    result["dir"] = str(out)
    return result
