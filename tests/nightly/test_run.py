"""The run lifecycle of ``run_nightly`` without Prefect: the watermark moves only after a complete run,
and a failed run is recorded with its error and leaves the watermark where it was."""

import datetime as dt

import pytest
from test_steps import keyword_classify

from trust_tagger.config import load_settings
from trust_tagger.nightly import run as N
from trust_tagger.nightly import steps as S
from trust_tagger.store.store import Store

SINCE, UNTIL = dt.date(2026, 2, 1), dt.date(2026, 2, 7)


@pytest.fixture
def settings(tmp_path, list_copy):
    return load_settings(list_dir=list_copy, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                         reports_dir=tmp_path / "reports")


def with_keyword_classifier(fail_at=None):
    """A step runner that swaps the model for the keyword double and can make one step fail."""
    def run_step(fn, *args, **kwargs):
        if fn.__name__ == fail_at:
            raise RuntimeError(f"{fn.__name__} exploded")
        if fn is N.classify_route:
            store, _settings, keys = args
            return S.classify_and_route(store, keys, keyword_classify, "kw-test", lambda p: p["relevance"])
        return fn(*args, **kwargs)
    return run_step


def runs(store):
    return [(r.status, dict(r.counts or {})) for r in store.runs()]


def test_a_complete_run_moves_the_watermark_and_writes_the_report(settings):
    store = Store(settings.resolved_db_url)
    result = N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=with_keyword_classifier())
    assert result["counts"]["fetched"] > 0 and result["counts"]["accepted"] >= 1
    assert store.get_meta(S.WATERMARK.format(source="snapshot")) == UNTIL.isoformat()
    assert [status for status, _ in runs(store)] == ["completed"]


@pytest.mark.parametrize("step", ["fetch", "classify_route", "merge", "report"])
def test_a_failed_step_is_recorded_and_the_watermark_stays(settings, step):
    store = Store(settings.resolved_db_url)
    store.set_meta(S.WATERMARK.format(source="snapshot"), "2026-01-31")
    with pytest.raises(RuntimeError, match="exploded"):
        N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=with_keyword_classifier(fail_at=step))
    assert store.get_meta(S.WATERMARK.format(source="snapshot")) == "2026-01-31"
    (status, counts), = runs(store)
    assert status == "failed" and "exploded" in counts["error"]


def test_a_list_dir_that_is_not_a_list_stops_the_run_before_it_starts(settings, tmp_path):
    from trust_tagger.listfile.guard import NotAListError

    settings.list_dir = tmp_path / "no-such-list"
    store = Store(settings.resolved_db_url)
    with pytest.raises(NotAListError, match="--init"):
        N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=with_keyword_classifier())
    assert runs(store) == [] and store.papers() == [] and not settings.list_dir.exists()
    result = N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=with_keyword_classifier(),
                           init_list=True)
    assert result["counts"]["merged"] >= 1 and (settings.list_dir / "papers/safety/jailbreak.md").exists()


def test_a_list_file_that_is_not_utf8_fails_the_run_naming_it(settings):
    from trust_tagger.listfile.parse import ListEncodingError

    (settings.list_dir / "papers/privacy/general.md").write_bytes(b"- 2025/01/01 caf\xe9\n")
    store = Store(settings.resolved_db_url)
    with pytest.raises(ListEncodingError, match=r"papers/privacy/general\.md:1"):
        N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=with_keyword_classifier())
    (status, counts), = runs(store)
    assert status == "failed" and "papers/privacy/general.md:1" in counts["error"]
    assert store.get_meta(S.WATERMARK.format(source="snapshot")) is None
    assert store.papers(status="accepted") and all(r.merged_at is None for r in store.papers(status="accepted"))
def test_a_loaded_classifier_is_used_instead_of_the_registry(settings):
    """A process running night after night (simulate) hands over the model it loaded once; the registry
    here is empty, so loading one would fail."""
    from types import SimpleNamespace

    store = Store(settings.resolved_db_url)
    clf = SimpleNamespace(classify=keyword_classify, version="kw-test", review_priority=lambda p: p["relevance"])
    result = N.run_nightly(settings, store, since=SINCE, until=UNTIL, classifier=clf)
    assert result["counts"]["classified"] > 0 and result["counts"]["model_version"] == "kw-test"
    assert {store.latest_prediction(r.key).model_version for r in store.papers(status="accepted")} == {"kw-test"}
