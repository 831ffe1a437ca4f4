"""The run lifecycle of ``run_nightly`` without Prefect: the watermark moves only after a complete run,
and a failed run is recorded with its error and leaves the watermark where it was."""

import datetime as dt

import pytest

from arxiv_server import ArxivStubServer, Fault, paper
from doubles import keyword_classify, keyword_steps
from poisoned_lines import POISON
from trust_tagger.config import load_settings
from trust_tagger.nightly import run as N
from trust_tagger.nightly import steps as S
from trust_tagger.store.store import Store

SINCE, UNTIL = dt.date(2026, 2, 1), dt.date(2026, 2, 7)


@pytest.fixture
def settings(tmp_path, list_copy):
    return load_settings(list_dir=list_copy, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                         reports_dir=tmp_path / "reports")


def runs(store):
    return [(r.status, dict(r.counts or {})) for r in store.runs()]


def test_a_complete_run_moves_the_watermark_and_writes_the_report(settings):
    store = Store(settings.resolved_db_url)
    result = N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=keyword_steps())
    assert result["counts"]["fetched"] > 0 and result["counts"]["accepted"] >= 1
    assert store.get_meta(S.WATERMARK.format(source="snapshot")) == UNTIL.isoformat()
    assert [status for status, _ in runs(store)] == ["completed"]


@pytest.mark.parametrize("step", ["fetch", "classify_route", "merge", "report"])
def test_a_failed_step_is_recorded_and_the_watermark_stays(settings, step):
    store = Store(settings.resolved_db_url)
    store.set_meta(S.WATERMARK.format(source="snapshot"), "2026-01-31")
    with pytest.raises(RuntimeError, match="exploded"):
        N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=keyword_steps(fail_at=step))
    assert store.get_meta(S.WATERMARK.format(source="snapshot")) == "2026-01-31"
    (status, counts), = runs(store)
    assert status == "failed" and "exploded" in counts["error"]


def test_a_list_dir_that_is_not_a_list_stops_the_run_before_it_starts(settings, tmp_path):
    from trust_tagger.listfile.guard import NotAListError

    settings.list_dir = tmp_path / "no-such-list"
    store = Store(settings.resolved_db_url)
    with pytest.raises(NotAListError, match="--init"):
        N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=keyword_steps())
    assert runs(store) == [] and store.papers() == [] and not settings.list_dir.exists()
    result = N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=keyword_steps(),
                           init_list=True)
    assert result["counts"]["merged"] >= 1 and (settings.list_dir / "papers/safety/jailbreak.md").exists()


def test_a_list_file_that_is_not_utf8_fails_the_run_naming_it(settings):
    from trust_tagger.listfile.parse import ListEncodingError

    (settings.list_dir / "papers/privacy/general.md").write_bytes(b"- 2025/01/01 caf\xe9\n")
    store = Store(settings.resolved_db_url)
    with pytest.raises(ListEncodingError, match=r"papers/privacy/general\.md:1"):
        N.run_nightly(settings, store, since=SINCE, until=UNTIL, run_step=keyword_steps())
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
# -- the arXiv source: the watermark moves only for a window fetched completely (issue 10, 11) -----


JUNE = (dt.date(2025, 6, 1), dt.date(2025, 6, 30))


def arxiv_settings(settings, server, **extra):
    from dataclasses import replace

    return replace(settings, arxiv_base_url=server.url, arxiv_delay_seconds=0.0, arxiv_backoff_seconds=0.001,
                   arxiv_page_size=10, **extra)


def arxiv_run(settings, store, **kwargs):
    return N.run_nightly(settings, store, source="arxiv", since=JUNE[0], until=JUNE[1],
                         run_step=keyword_steps(), **kwargs)


def test_total_too_high_completes_the_run_but_keeps_the_watermark(settings):
    """30 papers behind totalResults=45: every paper is stored and classified, the report warns, and
    the watermark stays so the next night reads the window again (it used to fail every night)."""
    store = Store(settings.resolved_db_url)
    store.set_meta(S.WATERMARK.format(source="arxiv"), "2025-05-31")
    with ArxivStubServer([paper(n) for n in range(30)], total=45) as server:
        result = arxiv_run(arxiv_settings(settings, server), store)
    counts = result["counts"]
    assert (counts["new"], counts["classified"]) == (30, 30) and counts["complete"] is False
    assert "totalResults=45" in counts["warnings"][0] and "Warnings" in result["markdown"]
    assert store.get_meta(S.WATERMARK.format(source="arxiv")) == "2025-05-31"
    assert [status for status, _ in runs(store)] == ["incomplete"]


def test_a_transient_zero_first_page_loses_nothing_and_a_complete_window_moves_the_watermark(settings):
    store = Store(settings.resolved_db_url)
    with ArxivStubServer([paper(n) for n in range(12)]) as server:
        server.script(0, Fault.zero_results())
        counts = arxiv_run(arxiv_settings(settings, server), store)["counts"]
    assert counts["new"] == 12 and counts["complete"] is True and counts["warnings"] == []
    assert store.get_meta(S.WATERMARK.format(source="arxiv")) == JUNE[1].isoformat()


def test_zero_results_on_a_weekday_window_warn_and_keep_the_watermark(settings):
    store = Store(settings.resolved_db_url)
    with ArxivStubServer([paper(n) for n in range(12)]) as server:
        server.script(0, *[Fault.zero_results()] * 6)
        counts = arxiv_run(arxiv_settings(settings, server, arxiv_max_retries=2), store)["counts"]
    assert counts["fetched"] == 0 and counts["complete"] is False and "0 results" in counts["warnings"][0]
    assert store.get_meta(S.WATERMARK.format(source="arxiv")) is None


def test_a_retry_after_past_the_budget_fails_the_run_clearly_and_keeps_the_watermark(settings):
    store = Store(settings.resolved_db_url)
    store.set_meta(S.WATERMARK.format(source="arxiv"), "2025-05-31")
    from trust_tagger.ingest.arxiv import ArxivError

    with ArxivStubServer([paper(n) for n in range(12)]) as server:
        server.script(0, Fault.http(503, retry_after="86400"))
        with pytest.raises(ArxivError, match="arxiv_max_wait_seconds") as info:
            arxiv_run(arxiv_settings(settings, server, arxiv_max_wait_seconds=60.0), store)
    assert any("watermark stays at 2025-05-31" in note for note in info.value.__notes__)
    assert store.get_meta(S.WATERMARK.format(source="arxiv")) == "2025-05-31"
    assert [status for status, _ in runs(store)] == ["failed"]


# -- one record never kills a run (issue 9) --------------------------------------------------------

def write_poisoned_snapshot(path, good_lines):
    """The real window's lines with one poisoned line after each of the first good ones."""
    lines = []
    for i, line in enumerate(good_lines):
        lines.append(line.encode())
        if i < len(POISON):
            lines.append(POISON[i][1])
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_poisoned_snapshot_lines_are_each_skipped_with_their_line_and_reason(settings, tmp_path):
    """Through the whole run (``nightly --no-prefect``'s path): each poisoned line is skipped with its
    ``path:line`` and reason, every good line of the window is stored and the run completes."""
    import gzip
    from dataclasses import replace

    good = [line.rstrip("\n") for line in gzip.open(settings.path(settings.snapshot_path), "rt")
            if '"date": "2026-02-0' in line][:len(POISON) + 5]
    snapshot = write_poisoned_snapshot(tmp_path / "poisoned.jsonl", good)
    store = Store(settings.resolved_db_url)
    result = N.run_nightly(replace(settings, snapshot_path=snapshot), store, since=SINCE, until=UNTIL,
                           run_step=keyword_steps())
    counts = result["counts"]
    in_window = sum(1 for g in good if "2026-02-01" <= g.split('"date": "')[1][:10] <= "2026-02-07")
    assert counts["malformed"] == len(POISON)
    assert counts["new"] + counts["duplicates"] + counts["updated"] == in_window
    reasons = counts["malformed_reasons"]
    assert [r.split(":")[:2] for r in reasons] == [[str(snapshot), str(2 * i + 2)] for i in range(len(POISON))]
    for reason, (name, _, expected) in zip(reasons, POISON):
        assert expected in reason, (name, reason)
    assert store.get_meta(S.WATERMARK.format(source="snapshot")) == UNTIL.isoformat()
