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


def core_policy_classify(records):
    """The keyword double under merge_policy=core: deepfake detectors are relevant, not core."""
    from trust_tagger.routing import Thresholds, route

    th = Thresholds(core_accept=0.8, core_reject=0.2, subcategories={"safety/jailbreak": 0.5,
                                                                     "safety/deepfake": 0.5})
    out = []
    for pred in keyword_classify(records):
        jail = pred["relevance"] > 0.9
        spoof = pred["relevance"] == 0.5
        pred = {**pred, "relevance": 0.95 if spoof else pred["relevance"], "core": 0.9 if jail else 0.05,
                "policy": "core"}
        pred["decision"] = route(pred, th, "core")
        out.append(pred)
    return out


def test_core_policy_leaves_adjacent_papers_off_the_list_and_reports_them(store, settings):
    from trust_tagger.nightly.report import finish_report, run_counts

    items = list(records_for("snapshot", settings, *WINDOW))
    fetched = pipeline.ingest(store, items, "snapshot", parse_list(settings.list_dir).keys())
    routed = pipeline.classify_and_route(store, fetched.keys, core_policy_classify, "kw-core", lambda p: p["core"])
    merged = pipeline.merge_accepted(store, settings)
    spoof = [r for r in store.papers(keys=fetched.keys) if "spoof" in (r.title + r.abstract).lower()
             or "deepfake" in (r.title + r.abstract).lower()]
    assert spoof and routed.adjacent == len(spoof) and routed.accepted >= 1
    assert not any("deepfake.md" in f for f, _ in merged.added)  # adjacent papers are not merged
    counts = run_counts(fetched, routed, merged, "snapshot", *WINDOW, 1.0)
    report = finish_report(store, settings, "test-run", counts, fetched.keys)
    assert counts["adjacent"] == len(spoof)
    assert f"Adjacent papers left out by merge_policy=core ({len(spoof)})" in report["markdown"]
    digest = (settings.path(settings.reports_dir) / "test-run" / "digest.md").read_text()
    assert f"## Adjacent: relevant, not core to the list ({len(spoof)})" in digest and spoof[0].title[:30] in digest
# -- the list is the truth of what is merged (issue 10, items 1, 3, 4) ----------------------------------------
def _accept(store, arxiv_id, labels, title=None):
    raw = {"arxiv_id": arxiv_id, "title": title or f"Jailbreaking audio LLMs, take {arxiv_id}",
           "abstract": "jailbreak", "date": "2026-02-03"}
    pipeline.ingest(store, [raw], "snapshot", set())
    store.set_status(f"arxiv:{arxiv_id}", "accepted", labels=labels, relevance=2, decided_by="model:kw-test")
    return f"arxiv:{arxiv_id}"


def _lines(settings, file, arxiv_id):
    return (settings.list_dir / file).read_text().count(f"arxiv.org/abs/{arxiv_id})")


def test_a_merge_killed_between_files_converges_and_the_store_says_so(store, settings, monkeypatch):
    from trust_tagger.listfile import merge as M

    key = _accept(store, "2602.99991", ["safety/jailbreak", "security/attack"])
    real_write, writes = M.atomic_write_text, []

    def killed(path, text):
        if writes:
            raise KeyboardInterrupt("killed after the first file")
        writes.append(path)
        real_write(path, text)

    monkeypatch.setattr(M, "atomic_write_text", killed)
    with pytest.raises(KeyboardInterrupt):
        pipeline.merge_accepted(store, settings)
    monkeypatch.undo()
    files = ("papers/safety/jailbreak.md", "papers/security/attack.md")
    assert sum(_lines(settings, f, "2602.99991") for f in files) == 1
    assert store.get_paper(key).merged_at is None

    dry = pipeline.merge_accepted(store, settings, dry_run=True)
    assert len(dry.added) == 1  # the dry run names the missing line
    pipeline.merge_accepted(store, settings)
    assert [_lines(settings, f, "2602.99991") for f in files] == [1, 1]
    row = store.get_paper(key)
    assert row.merged_at is not None and row.merged_files == sorted(files)


def test_merge_restores_lines_after_the_checkout_is_reset(store, settings):
    from conftest import ROOT

    _accept(store, "2602.99991", ["safety/jailbreak"])
    pipeline.merge_accepted(store, settings)
    jail = settings.list_dir / "papers/safety/jailbreak.md"
    merged = jail.read_bytes()
    jail.write_bytes((ROOT / "data/awesome-list/papers/safety/jailbreak.md").read_bytes())  # `git checkout .`
    again = pipeline.merge_accepted(store, settings)
    assert [f for f, _ in again.added] == ["papers/safety/jailbreak.md"] and jail.read_bytes() == merged
    row = store.get_paper("arxiv:2602.99991")
    assert not pipeline.merge_accepted(store, settings).added
    assert store.get_paper(row.key).updated_at == row.updated_at  # a paper already in place is not rewritten


def test_same_title_papers_are_both_merged_and_an_unwritable_one_is_not_marked(store, settings):
    first = _accept(store, "2602.99991", ["safety/jailbreak"], title="Audio Jailbreaks: A Survey")
    second = _accept(store, "2602.99992", ["safety/jailbreak"], title="Audio Jailbreaks: A Survey")
    hostile = _accept(store, "2602.99993", ["safety/jailbreak"], title="<script>alert(1)</script>")
    result = pipeline.merge_accepted(store, settings)
    assert _lines(settings, "papers/safety/jailbreak.md", "2602.99991") == 1
    assert _lines(settings, "papers/safety/jailbreak.md", "2602.99992") == 1
    assert [k for k, _ in result.skipped] == [hostile]
    assert store.get_paper(first).merged_at and store.get_paper(second).merged_at
    assert store.get_paper(hostile).merged_at is None  # reported, never recorded as merged


def test_a_list_dir_that_is_not_a_list_is_refused_before_anything_is_written(store, settings, tmp_path):
    from trust_tagger.config import load_settings
    from trust_tagger.listfile.guard import NotAListError

    key = _accept(store, "2602.99991", ["safety/jailbreak"])
    typo = load_settings(list_dir=tmp_path / "awesome-lsit", db_url=store.url)
    with pytest.raises(NotAListError):
        pipeline.merge_accepted(store, typo)
    assert not (tmp_path / "awesome-lsit").exists() and store.get_paper(key).merged_at is None
