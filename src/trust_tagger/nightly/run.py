"""One nightly run as a library function: window → fetch → classify and route → merge → report.

Like :func:`trust_tagger.retrain.loop.retrain`, the composition lives here once and every step goes
through ``run_step``: the Prefect flow (``flows/nightly.py``) passes a runner that makes each step a
task, ``trust-tagger nightly --no-prefect`` passes none. So the run lifecycle — a failure is recorded
on the run row and re-raised, the watermark moves only after the report is written — is the same
with or without Prefect, and is tested without it (Prefect's temporary server costs ~7.5 s a run).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from trust_tagger.config import Settings
from trust_tagger.ingest.sources import FeedStatus, feed_for
from trust_tagger.listfile.parse import parse_list
from trust_tagger.nightly import report as R
from trust_tagger.nightly import steps as S
from trust_tagger.store.store import Store

StepRunner = Callable[..., Any]


def _call(fn: Callable, *args, **kwargs):
    return fn(*args, **kwargs)


def fetch(store: Store, settings: Settings, source: str, since: dt.date, until: dt.date) -> S.FetchResult:
    """Read the window from the source and store every valid record (bad ones counted, skipped).

    The result says whether the source served the window completely (``complete``) and what looked
    wrong on the way (``warnings``: a lying ``totalResults``, an empty weekday window)."""
    listed = parse_list(settings.path(settings.list_dir)).keys()
    status = FeedStatus()
    result = S.ingest(store, feed_for(source, settings, since, until, status), source, listed)
    result.complete, result.warnings = status.complete, list(status.warnings)
    return result


def classify_route(store: Store, settings: Settings, keys: list[str], classifier=None) -> S.RouteResult:
    """Score the window's undecided papers with the registry's current model and route them.

    ``classifier``: one already loaded by ``load_classifier`` (a process running many nights in a row,
    like ``simulate``, loads a model once per version instead of ~2 s a night)."""
    from trust_tagger.nightly.classifier import load_classifier

    clf = classifier or load_classifier(settings)
    return S.classify_and_route(store, keys, clf.classify, clf.version, clf.review_priority)


def merge(store: Store, settings: Settings):
    return S.merge_accepted(store, settings)


def report(store: Store, settings: Settings, run_id: str, counts: dict, keys: list[str]) -> dict:
    return R.finish_report(store, settings, run_id, counts, keys)


def run_nightly(settings: Settings, store: Store | None = None, *, source: str = "snapshot",
                since: dt.date | None = None, until: dt.date | None = None,
                run_step: StepRunner = _call, init_list: bool = False, classifier=None) -> dict:
    """Run one window and return ``finish_report``'s result (``dir``, ``markdown``, ``counts``).

    ``classifier`` (a loaded :class:`~trust_tagger.nightly.classifier.Classifier`) replaces loading the
    registry's current model for this run.

    The list folder is checked first (``init_list`` starts a new one): a mistyped ``--list-dir`` stops
    the run before anything is fetched or recorded. On any later failure the run row is marked failed
    with the error and the exception propagates (with a note saying the watermark did not move, which
    the CLI prints); the watermark is left where it was, so the next night re-reads the window. A run
    whose source could not confirm it served the whole window (``counts["complete"]`` False, the
    reasons in ``counts["warnings"]``) completes — the papers it did get are classified and merged —
    but leaves the watermark too.
    """
    from trust_tagger.listfile.guard import init_list as start_list
    from trust_tagger.listfile.guard import require_list

    list_dir = settings.path(settings.list_dir)
    if init_list:
        start_list(list_dir)
    require_list(list_dir)
    store = store or Store(settings.resolved_db_url)
    since, until = S.resolve_window(store, source, since, until, overlap_days=settings.window_overlap_days)
    run_id = R.new_run_id(source)
    timer = R.Timer()
    store.start_run(run_id, source, since.isoformat(), until.isoformat())
    try:
        fetched = run_step(fetch, store, settings, source, since, until)
        routed = run_step(classify_route, store, settings, fetched.keys,
                          **({"classifier": classifier} if classifier is not None else {}))
        merged = run_step(merge, store, settings)
        counts = R.run_counts(fetched, routed, merged, source, since, until, timer.seconds)
        result = run_step(report, store, settings, run_id, counts, fetched.keys)
    except BaseException as exc:
        store.finish_run(run_id, "failed", {"error": repr(exc)})
        mark = store.get_meta(S.WATERMARK.format(source=source))
        where = f"the watermark stays at {mark}" if mark else "no watermark was set"
        exc.add_note(f"run {run_id} failed; {where}, so the next run re-reads {since}..{until}")
        raise
    if fetched.complete:
        store.set_meta(S.WATERMARK.format(source=source), until.isoformat())
    store.finish_run(run_id, "completed" if fetched.complete else "incomplete", counts)
    return result
