"""Backfill as a library function (issue 12, item 8), without Prefect or Dask: chunks of a month of
the snapshot, classified by the keyword double through the same routing as a night; a killed
backfill resumes without redoing finished chunks and converges on the same store; real futures
(a thread pool) give the same result; the list and the nightly watermark are left alone."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from doubles import keyword_classify
from trust_tagger.config import load_settings
from trust_tagger.nightly import backfill as B
from trust_tagger.store.store import Store

SINCE, UNTIL = dt.date(2026, 2, 1), dt.date(2026, 2, 28)
MODEL = ("no-model-folder", "kw-test")


def keyword_chunk(calls):
    def classify(model_dir, version, records, threads):
        calls.append(len(records))
        return {"predictions": [{**p, "priority": p["relevance"]} for p in keyword_classify(records)],
                **B.worker_stats()}
    return classify


@pytest.fixture
def settings(tmp_path, list_copy):
    return load_settings(list_dir=list_copy, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                         reports_dir=tmp_path / "reports")


def states(store):
    return {p.key: (p.status, tuple(p.labels)) for p in store.papers()}


def list_bytes(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.md"))}


def test_chunk_windows_cover_the_range_once():
    windows = B.chunk_windows(dt.date(2026, 1, 1), dt.date(2026, 1, 17), 7)
    assert windows == [(dt.date(2026, 1, 1), dt.date(2026, 1, 7)), (dt.date(2026, 1, 8), dt.date(2026, 1, 14)),
                       (dt.date(2026, 1, 15), dt.date(2026, 1, 17))]
    with pytest.raises(ValueError):
        B.chunk_windows(dt.date(2026, 1, 2), dt.date(2026, 1, 1), 7)


def test_backfill_routes_every_chunk_and_merges_nothing(settings, list_copy):
    store = Store(settings.resolved_db_url)
    before = list_bytes(list_copy)
    calls = []
    result = B.run_backfill(settings, store, SINCE, UNTIL, chunk_days=7, model=MODEL, classify=keyword_chunk(calls))
    assert (result.chunks, result.skipped_chunks, len(calls)) == (4, 0, 4)
    (worker,) = result.workers.values()  # in-process: this process did every chunk
    assert worker["chunks"] == 4 and worker["papers"] == result.classified and worker["peak_rss_mb"] > 0
    assert result.classified == sum(calls) == result.accepted + result.queued + result.rejected > 100
    assert result.accepted >= 2 and result.queued >= 1
    assert len(store.papers(status="accepted")) == result.accepted
    assert len(store.papers(status="review")) == result.queued  # queued for the maintainers, as a night does
    assert list_bytes(list_copy) == before  # merging is the usual merge's job
    assert store.get_meta("watermark:snapshot") is None
    assert [(r.kind, r.status) for r in store.runs()] == [("backfill", "completed")]

    again = B.run_backfill(settings, store, SINCE, UNTIL, chunk_days=7, model=MODEL, classify=keyword_chunk(calls))
    assert (again.skipped_chunks, again.classified, len(calls)) == (4, 0, 4)


def test_a_killed_backfill_resumes_and_converges(settings, tmp_path):
    clean = Store(f"sqlite:///{tmp_path / 'clean.sqlite'}")
    B.run_backfill(settings, clean, SINCE, UNTIL, chunk_days=7, model=MODEL, classify=keyword_chunk([]))

    store = Store(settings.resolved_db_url)
    calls = []
    healthy = keyword_chunk(calls)

    def dies_on_the_third_chunk(model_dir, version, records, threads):
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return healthy(model_dir, version, records, threads)

    with pytest.raises(KeyboardInterrupt):
        B.run_backfill(settings, store, SINCE, UNTIL, chunk_days=7, model=MODEL, classify=dies_on_the_third_chunk,
                       max_in_flight=0)
    assert store.runs()[-1].status == "failed"
    resumed = B.run_backfill(settings, store, SINCE, UNTIL, chunk_days=7, model=MODEL, classify=healthy)
    assert resumed.skipped_chunks == 2 and len(calls) == 4
    assert states(store) == states(clean)


def test_real_futures_give_the_same_store(settings, tmp_path):
    inline = Store(f"sqlite:///{tmp_path / 'inline.sqlite'}")
    B.run_backfill(settings, inline, SINCE, UNTIL, chunk_days=5, model=MODEL, classify=keyword_chunk([]))
    store = Store(settings.resolved_db_url)
    with ThreadPoolExecutor(max_workers=2) as pool:
        result = B.run_backfill(settings, store, SINCE, UNTIL, chunk_days=5, model=MODEL,
                                classify=keyword_chunk([]), submit=pool.submit)
    assert result.chunks == 6 and states(store) == states(inline)


def test_backfill_needs_a_model(settings):
    from trust_tagger.model.registry import RegistryError

    settings.model_dir = settings.root / "no-such-models"
    with pytest.raises(RegistryError, match="trust-tagger train"):
        B.run_backfill(settings, Store(settings.resolved_db_url), SINCE, UNTIL)
