"""The nightly steps without Prefect, on a real snapshot window and a copy of the real list.

The classifier here is a transparent keyword double so routing outcomes are known in advance;
the real model is exercised by the flow test and the classifier's own tests."""

import datetime as dt

import pytest

from doubles import keyword_classify
from trust_tagger.config import load_settings
from trust_tagger.ingest.records import MalformedRecord
from trust_tagger.ingest.sources import records_for
from trust_tagger.listfile.parse import parse_list
from trust_tagger.nightly import steps as pipeline

WINDOW = (dt.date(2026, 2, 1), dt.date(2026, 2, 7))  # holds two jailbreak papers


@pytest.fixture
def settings(tmp_path, list_copy):
    return load_settings(list_dir=list_copy, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                         reports_dir=tmp_path / "reports")


def run_once(store, settings, extra=()):
    items = list(records_for("snapshot", settings, *WINDOW)) + list(extra)
    fetched = pipeline.ingest(store, items, "snapshot", parse_list(settings.list_dir).keys())
    routed = pipeline.classify_and_route(store, fetched.keys, keyword_classify, "kw-test", lambda p: p["relevance"])
    merged = pipeline.merge_accepted(store, settings)
    return fetched, routed, merged


def snapshot_bytes(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.md"))}


def test_window_end_to_end_and_rerun_changes_nothing(store, settings):
    bad = [MalformedRecord("broken line"), {"arxiv_id": "", "title": "x", "abstract": "y", "date": "2026-01-06"}]
    fetched, routed, merged = run_once(store, settings, bad)
    assert fetched.malformed == 2 and fetched.fetched == fetched.new + fetched.duplicates + fetched.updated + 2
    assert routed.classified == len(fetched.keys)
    assert routed.accepted + routed.queued + routed.rejected == routed.classified
    assert routed.accepted > 0 and merged.added
    listed = parse_list(settings.list_dir)
    for row in store.papers(status="accepted"):
        assert row.key in listed.keys()
        assert "papers/safety/jailbreak.md" in listed.files_for(row.key)
    before = snapshot_bytes(settings.list_dir)
    n_papers, n_preds = len(store.papers()), len(store.papers(status="accepted"))

    fetched2, routed2, merged2 = run_once(store, settings)
    assert fetched2.new == 0 and fetched2.duplicates == fetched.new
    assert routed2.classified == 0 and not merged2.added
    assert snapshot_bytes(settings.list_dir) == before
    assert len(store.papers()) == n_papers and len(store.papers(status="accepted")) == n_preds


def test_papers_already_on_the_list_are_not_classified(store, settings):
    listed = parse_list(settings.list_dir)
    on_list = next(e for e in listed.entries if e.key.startswith("arxiv:"))
    raw = {"arxiv_id": on_list.key.split(":", 1)[1] + "v2", "title": on_list.title,
           "abstract": "An abstract.", "date": "2026-01-06"}
    fetched = pipeline.ingest(store, [raw], "snapshot", listed.keys())
    assert fetched.already_listed == 1 and fetched.keys == []
    assert store.get_paper(on_list.key).status == "listed"


def test_accept_without_a_subcategory_goes_to_review(store, settings):
    raw = {"arxiv_id": "2601.99999", "title": "Jailbreak", "abstract": "jailbreak", "date": "2026-01-06"}
    fetched = pipeline.ingest(store, [raw], "snapshot", set())

    def no_subcategory(records):
        return [{**p, "targets": []} for p in keyword_classify(records)]

    routed = pipeline.classify_and_route(store, fetched.keys, no_subcategory, "kw-test", lambda p: 0.0)
    assert (routed.accepted, routed.queued) == (0, 1)
    assert store.get_paper("arxiv:2601.99999").status == "review"


def test_reviewer_decisions_are_never_overwritten_by_the_model(store, settings):
    raw = {"arxiv_id": "2601.99998", "title": "Jailbreak", "abstract": "jailbreak", "date": "2026-01-06"}
    pipeline.ingest(store, [raw], "snapshot", set())
    store.set_status("arxiv:2601.99998", "rejected", decided_by="reviewer:ann")
    routed = pipeline.classify_and_route(store, ["arxiv:2601.99998"], keyword_classify, "kw-test2", lambda p: 0.0)
    assert routed.classified == 0 and store.get_paper("arxiv:2601.99998").status == "rejected"


def test_window_defaults_to_the_day_after_the_watermark(store):
    assert pipeline.resolve_window(store, "snapshot", None, None, today=dt.date(2026, 3, 10)) == (
        dt.date(2026, 3, 9), dt.date(2026, 3, 10))
    store.set_meta("watermark:snapshot", "2026-03-05")
    assert pipeline.resolve_window(store, "snapshot", None, dt.date(2026, 3, 10)) == (
        dt.date(2026, 3, 6), dt.date(2026, 3, 10))
    assert pipeline.resolve_window(store, "snapshot", None, dt.date(2026, 3, 10), overlap_days=3) == (
        dt.date(2026, 3, 3), dt.date(2026, 3, 10))
    with pytest.raises(ValueError):
        pipeline.resolve_window(store, "snapshot", dt.date(2026, 3, 11), dt.date(2026, 3, 10))


def test_maintainer_correction_after_merge_fixes_the_list(store, settings):
    raws = [{"arxiv_id": f"2602.9999{i}", "title": f"Jailbreaking audio LLMs, part {i}", "abstract": "jailbreak",
             "date": "2026-02-03"} for i in (1, 2)]
    fetched = pipeline.ingest(store, raws, "snapshot", set())
    pipeline.classify_and_route(store, fetched.keys, keyword_classify, "kw-test", lambda p: 0.0)
    pipeline.merge_accepted(store, settings)
    jail = settings.list_dir / "papers/safety/jailbreak.md"
    deep = settings.list_dir / "papers/safety/deepfake.md"
    assert "2602.99991" in jail.read_text() and "2602.99992" in jail.read_text()
    original_deepfake = deep.read_text()

    store.set_status("arxiv:2602.99991", "rejected", labels=[], decided_by="reviewer:ann")
    store.set_status("arxiv:2602.99992", "accepted", labels=["safety/deepfake"], decided_by="reviewer:bob")
    result = pipeline.merge_accepted(store, settings)
    assert {f for f, _ in result.removed} == {"papers/safety/jailbreak.md"} and len(result.removed) == 2
    assert "2602.9999" not in jail.read_text()
    assert "2602.99992" in deep.read_text() and "2602.99991" not in deep.read_text()
    assert deep.read_text().replace(next(l for _, l in result.added) + "\n", "") == original_deepfake

    again = pipeline.merge_accepted(store, settings)
    assert not again.added and not again.removed and not again.changed_files
