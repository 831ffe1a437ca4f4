"""One nightly run as a library function: window → fetch → classify and route → merge → report.

Like :func:`trust_tagger.retrain.loop.retrain`, the composition lives here once and every step goes
through ``run_step``: the Prefect flow (``flows/nightly.py``) passes a runner that makes each step a
task, ``trust-tagger nightly --no-prefect`` passes none. So the run lifecycle — a failure is recorded
on the run row and re-raised, the watermark moves only after the report is written — is the same
with or without Prefect, and is tested without it (Prefect's temporary server costs ~7.5 s a run).

Delivery is part of the run: in ``pr`` merge mode the night's lines become a pull request (checked
before anything is fetched, published between the list write and the bookkeeping), and the digest,
or the reason the run failed, goes to the configured apprise URLs (``delivery/``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from trust_tagger.config import Settings
from trust_tagger.delivery.notify import notify
from trust_tagger.delivery.publish import Publisher
from trust_tagger.ingest.records import FeedStatus
from trust_tagger.ingest.sources import feed_for
from trust_tagger.listfile.merge import MergeResult
from trust_tagger.listfile.parse import parse_list
from trust_tagger.nightly import report as R
from trust_tagger.nightly import steps as S
from trust_tagger.store.store import Store

StepRunner = Callable[..., Any]
log = logging.getLogger(__name__)


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


def prepare_delivery(settings: Settings, mode: str, branch: str) -> Publisher | None:
    """Check the list checkout, token and repository a git/pr delivery needs, before any work."""
    return Publisher.prepare(settings, mode, branch)


def merge(store: Store, settings: Settings, publisher: Publisher | None = None, keys: list[str] = (),
          counts_so_far: dict | None = None):
    """Write the accepted papers into the list; with a publisher, commit them (and open the pull
    request, the digest as its body) before the store records them as merged."""
    if publisher is None:
        return S.merge_accepted(store, settings)

    def publish(result, written_keys):
        counts = {**(counts_so_far or {}), "merged": len({line for _, line in result.added})}
        body = R.digest_text(store, settings, counts, keys, written_keys)
        publisher(result.changed_files, counts["merged"], body)

    # A pull request holds its lines until the maintainers merge it: a paper it proposed is not
    # proposed again by the next night (the base branch does not have it yet).
    return S.merge_accepted(store, settings, publish=publish, proposed_once=publisher.mode == "pr")


def report(store: Store, settings: Settings, run_id: str, counts: dict, keys: list[str]) -> dict:
    return R.finish_report(store, settings, run_id, counts, keys)


def run_nightly(settings: Settings, store: Store | None = None, *, source: str | None = None,
                since: dt.date | None = None, until: dt.date | None = None,
                run_step: StepRunner = _call, merge_mode: str | None = None, scheduled: bool = False,
                say: Callable[[str], None] = log.info, init_list: bool = False, classifier=None) -> dict:
    """Run one window and return ``finish_report``'s result (``dir``, ``markdown``, ``counts``, ``digest``).

    ``source`` None: the ``source`` setting (``Settings.run_source``: arXiv for a ``scheduled`` run).
    ``merge_mode`` None: the ``merge_mode`` setting; ``"git"`` commits on a branch without a pull request.
    ``say`` gets one line per step (the flow passes its run logger, so the counts reach Prefect).
    ``classifier`` (a loaded :class:`~trust_tagger.nightly.classifier.Classifier`) replaces loading the
    registry's current model for this run.

    The list folder is checked first (``init_list`` starts a new one): a mistyped ``--list-dir`` stops
    the run before anything is fetched or recorded. On any later failure the run row is marked failed
    with the error, the failure is notified, and the exception propagates (with a note saying the
    watermark did not move, which the CLI prints); the watermark is left where it was, so the next
    night re-reads the window. A run whose source could not confirm it served the whole window
    (``counts["complete"]`` False, the reasons in ``counts["warnings"]``) completes — the papers it did
    get are classified and merged — but leaves the watermark too (run status ``incomplete``).
    """
    from trust_tagger.listfile.guard import init_list as start_list
    from trust_tagger.listfile.guard import require_list

    list_dir = settings.path(settings.list_dir)
    if init_list:
        start_list(list_dir)
    require_list(list_dir)
    store = store or Store(settings.resolved_db_url)
    source = source or settings.run_source(scheduled)
    since, until = S.resolve_window(store, source, since, until, overlap_days=settings.window_overlap_days)
    run_id = R.new_run_id(source)
    timer = R.Timer()
    store.start_run(run_id, source, since.isoformat(), until.isoformat())
    say(f"run {run_id}: {source} window {since} .. {until}")
    try:
        publisher = run_step(prepare_delivery, settings, merge_mode or settings.merge_mode,
                             f"trust-tagger/nightly-{run_id}")
        fetched = run_step(fetch, store, settings, source, since, until)
        say(f"fetched {fetched.fetched}: {fetched.new} new, {fetched.updated} updated, {fetched.duplicates} "
            f"duplicates, {fetched.malformed} malformed, {fetched.already_listed} already listed")
        routed = run_step(classify_route, store, settings, fetched.keys,
                          **({"classifier": classifier} if classifier is not None else {}))
        say(f"classified {routed.classified} with model {routed.model_version}: {routed.accepted} accepted, "
            f"{routed.queued} queued, {routed.rejected} rejected ({routed.adjacent} of them adjacent)")
        so_far = R.run_counts(fetched, routed, MergeResult(), source, since, until, timer.seconds)
        merged = run_step(merge, store, settings, publisher, fetched.keys, so_far)
        delivery = dict(publisher.done) if publisher is not None else {}
        counts = R.run_counts(fetched, routed, merged, source, since, until, timer.seconds, delivery)
        say(f"merged {counts['merged']} line(s) into {len(merged.changed_files)} list file(s)"
            + (f"; pull request {delivery['pull_request']}" if delivery.get("pull_request") else ""))
        result = run_step(report, store, settings, run_id, counts, fetched.keys)
    except BaseException as exc:
        store.finish_run(run_id, "failed", {"error": repr(exc)})
        mark = store.get_meta(S.WATERMARK.format(source=source))
        where = f"the watermark stays at {mark}" if mark else "no watermark was set"
        exc.add_note(f"run {run_id} failed; {where}, so the next run re-reads {since}..{until}")
        notify_failure(settings, run_id, source, since, until, exc)
        raise
    if fetched.complete:
        store.set_meta(S.WATERMARK.format(source=source), until.isoformat())
    else:
        say(f"window not confirmed complete ({'; '.join(fetched.warnings)}): the watermark stays")
    store.finish_run(run_id, "completed" if fetched.complete else "incomplete", counts)
    say(f"report written to {result['dir']}")
    notify_digest(settings, result)
    return result


def notify_digest(settings: Settings, result: dict):
    c = result["counts"]
    title = (f"trust-tagger {c['until']}: {c['accepted']} accepted, {c['queued']} queued"
             + (f", {c['malformed']} malformed" if c.get("malformed") else ""))
    try:
        return notify(settings.notify_urls, title, result["digest"], "success")
    except Exception:  # the night is complete and recorded: a messaging problem must not fail it
        log.exception("could not send the nightly digest")
        return None


def notify_failure(settings: Settings, run_id: str, source: str, since: dt.date, until: dt.date,
                   exc: BaseException):
    reason = " ".join(str(exc).split()) or type(exc).__name__
    body = (f"The nightly run `{run_id}` ({source}, {since} .. {until}) failed: {type(exc).__name__}: {reason}\n\n"
            "The watermark did not move: the next run reads the same window again.")
    try:
        return notify(settings.notify_urls, f"trust-tagger nightly FAILED: {reason[:120]}", body, "failure")
    except Exception:  # never hide the run's own error behind a notification problem
        log.exception("could not send the failure notification")
        return None
