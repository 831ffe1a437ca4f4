"""Notifications (issue 12, item 6) through apprise's real ``json://`` target, received by a local
HTTP endpoint: the night's digest after a run (accepted, queued with the review link, failures), and
the reason when a run fails."""

import datetime as dt

import pytest

from capture_server import CaptureServer
from doubles import keyword_steps
from trust_tagger.config import load_settings
from trust_tagger.delivery.notify import notify
from trust_tagger.ingest.records import MalformedRecord
from trust_tagger.ingest.sources import FeedItem
from trust_tagger.nightly import run as N
from trust_tagger.store.store import Store

WINDOW = (dt.date(2026, 2, 1), dt.date(2026, 2, 7))


@pytest.fixture
def inbox():
    with CaptureServer() as server:
        yield server


@pytest.fixture
def settings(tmp_path, list_copy, inbox):
    return load_settings(list_dir=list_copy, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                         reports_dir=tmp_path / "reports", review_url="https://review.example.org/",
                         notify_urls=[f"json://{inbox.address}/night"])


def test_a_completed_night_sends_its_digest(settings, inbox, monkeypatch):
    store = Store(settings.resolved_db_url)
    real_fetch = N.fetch

    def fetch_with_a_broken_record(store, settings, source, since, until):
        from trust_tagger.nightly import steps as S

        result = real_fetch(store, settings, source, since, until)
        broken = S.ingest(store, [FeedItem("feed.jsonl:7", MalformedRecord("not JSON"))], source, set())
        result.malformed, result.malformed_reasons = broken.malformed, broken.malformed_reasons
        return result

    monkeypatch.setattr(N, "fetch", fetch_with_a_broken_record)
    result = N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps())
    (message,) = inbox.messages
    counts = result["counts"]
    assert message["path"] == "/night" and message["type"] == "success"
    assert message["title"] == f"trust-tagger 2026-02-07: {counts['accepted']} accepted, {counts['queued']} queued, 1 malformed"
    body = message["message"]
    assert body == result["digest"].rstrip("\n")  # apprise strips the final newline
    assert "## Accepted: added to the list" in body and "## Queued for review" in body
    assert "https://review.example.org/queue" in body and "https://review.example.org/paper/arxiv:" in body
    assert "Failures: 1 malformed record(s) skipped, e.g. feed.jsonl:7: not JSON" in body
    for paper in store.papers(status="accepted"):
        assert paper.title in body


def test_a_failed_night_notifies_the_reason(settings, inbox):
    store = Store(settings.resolved_db_url)
    with pytest.raises(RuntimeError, match="classify_route exploded"):
        N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps("classify_route"))
    (message,) = inbox.messages
    assert message["type"] == "failure"
    assert message["title"] == "trust-tagger nightly FAILED: classify_route exploded"
    assert "RuntimeError: classify_route exploded" in message["message"] and "2026-02-01 .. 2026-02-07" in message["message"]


def test_a_bad_url_or_a_dead_target_never_fails_the_night(settings, tmp_path):
    settings.notify_urls = ["notascheme://nothing", "json://127.0.0.1:9/"]  # port 9: nothing listens
    result = notify(settings.notify_urls, "t", "b")
    assert (result.sent, result.targets, result.bad_urls) == (False, 1, ["notascheme://nothing"])
    store = Store(settings.resolved_db_url)
    run = N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps())
    assert store.runs()[-1].status == "completed" and run["counts"]["fetched"] > 0


def test_urls_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRUST_TAGGER_NOTIFY_URLS", "json://a.example/x, mailto://u:p@example.org  slack://T/B/C")
    assert load_settings().notify_urls == ["json://a.example/x", "mailto://u:p@example.org", "slack://T/B/C"]
