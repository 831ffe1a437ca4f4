"""The nightly Prefect flow. Each task is a thin wrapper over a ``trust_tagger.pipeline`` function;
the flow only threads the results and publishes the report as a Prefect artifact."""

from __future__ import annotations

import datetime as dt

from trust_tagger.prefect_env import configure

configure()

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from flows.retrain import retrain_if_due  # noqa: E402
from trust_tagger import pipeline  # noqa: E402
from trust_tagger.awesome_list import parse_list  # noqa: E402
from trust_tagger.classifier_api import load_classifier  # noqa: E402
from trust_tagger.config import Settings, load_settings  # noqa: E402
from trust_tagger.sources import records_for  # noqa: E402
from trust_tagger.store import Store  # noqa: E402


@task(cache_policy=NO_CACHE, retries=0)
def fetch(store: Store, settings: Settings, source: str, since: dt.date, until: dt.date) -> pipeline.FetchResult:
    listed = parse_list(settings.path(settings.list_dir)).keys()
    return pipeline.ingest(store, records_for(source, settings, since, until), source, listed)


@task(cache_policy=NO_CACHE)
def classify_route(store: Store, settings: Settings, keys: list[str]) -> pipeline.RouteResult:
    clf = load_classifier(settings)
    return pipeline.classify_and_route(store, keys, clf.classify, clf.version, clf.review_priority)


@task(cache_policy=NO_CACHE)
def merge(store: Store, settings: Settings):
    return pipeline.merge_accepted(store, settings)


@task(cache_policy=NO_CACHE)
def report(store: Store, settings: Settings, run_id: str, counts: dict, keys: list[str]) -> dict:
    return pipeline.finish_report(store, settings, run_id, counts, keys)


@flow(name="trust-tagger-nightly", log_prints=True)
def nightly(source: str = "snapshot", since: dt.date | None = None, until: dt.date | None = None,
            list_dir: str | None = None, db: str | None = None) -> dict:
    """Fetch a window of papers, decide on each, merge the accepted ones, and report."""
    settings = load_settings(list_dir=list_dir, db_url=db)
    store = Store(settings.resolved_db_url)
    since, until = pipeline.resolve_window(store, source, since, until,
                                           overlap_days=settings.window_overlap_days)
    run_id = pipeline.new_run_id(source)
    timer = pipeline.Timer()
    store.start_run(run_id, source, since.isoformat(), until.isoformat())
    try:
        fetched = fetch(store, settings, source, since, until)
        routed = classify_route(store, settings, fetched.keys)
        merged = merge(store, settings)
    except BaseException as exc:
        store.finish_run(run_id, "failed", {"error": repr(exc)})
        raise
    counts = pipeline.run_counts(fetched, routed, merged, source, since, until, timer.seconds)
    result = report(store, settings, run_id, counts, fetched.keys)
    store.set_meta(pipeline.WATERMARK.format(source=source), until.isoformat())
    store.finish_run(run_id, "completed", counts)
    create_markdown_artifact(markdown=result["markdown"], key="trust-tagger-nightly-report",
                             description=f"nightly run {run_id}")
    get_run_logger().info("report written to %s", result["dir"])
    retrain_if_due(settings, store)  # enough new review decisions: retrain now, behind the promotion gate
    return result


if __name__ == "__main__":
    nightly()
