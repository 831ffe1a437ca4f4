"""The review queue without any front end: ordering, filters, every decision kind, audit, export."""

import json
import threading
from types import SimpleNamespace

import pytest

from review_fixtures import AUTO, PAPERS, THRESHOLDS, add_paper, key, prediction
from trust_tagger import review
from trust_tagger.review.queue import Conflict, QueueFilter, ReviewError, ReviewPaper


# -- priority and ordering ----------------------------------------------------------------------------
def test_priority_prefers_borderline_and_likely_relevant():
    p = {r: review.review_priority({"relevance": r}, THRESHOLDS) for r in (0.12, 0.3, 0.5, 0.7, 0.88)}
    assert all(0 <= v <= 1 for v in p.values())
    assert p[0.88] > p[0.7] > p[0.5] > p[0.12]  # borderline-accept, then coin-flips, then borderline-reject
    # the same relevance counts for more the nearer it is to a threshold
    near = review.review_priority({"relevance": 0.7}, (0.1, 0.75))
    far = review.review_priority({"relevance": 0.7}, (0.1, 0.98))
    assert near > far


def test_priority_accepts_every_threshold_shape():
    pred = {"relevance": 0.8}
    expected = review.review_priority(pred, (0.1, 0.9))
    assert review.review_priority(pred, (0.9, 0.1)) == expected
    assert review.review_priority(pred, {"reject": 0.1, "accept": 0.9}) == expected
    assert review.review_priority(pred, SimpleNamespace(reject=0.1, accept=0.9)) == expected
    with pytest.raises(TypeError):
        review.review_priority(pred, object())


def _fake(i: int, priority: float, state: str = "pending") -> ReviewPaper:
    return ReviewPaper(key=f"arxiv:2601.{i:05d}", arxiv_id=f"2601.{i:05d}", title=f"t{i}", authors=[], abstract="",
                       date="2026-01-01", link="", status="review", labels=[], relevance=None, decided_by=None,
                       merged=False, item_state=state, priority=priority,
                       prediction={"relevance": priority, "relevance_class": 1, "labels": []})


def test_order_mixes_a_stable_random_share_into_priority_order():
    papers = [_fake(i, i / 100) for i in range(60)] + [_fake(100 + i, 0.99, "deferred") for i in range(3)]
    ordered = review.order_queue(papers, random_share=0.1, seed="s")
    again = review.order_queue([_fake(i, i / 100) for i in range(60)], random_share=0.1, seed="s")
    assert [p.key for p in ordered[:60]] == [p.key for p in again]  # stable across page loads
    assert [p.rank for p in ordered] == list(range(1, 64))
    assert all(p.item_state == "deferred" for p in ordered[60:])  # deferred after every pending paper
    pending = ordered[:60]
    picks = [i for i, p in enumerate(pending) if p.random_pick]
    assert picks and all((i + 1) % 10 == 0 for i in picks[:3])  # every 10th slot while picks last
    rest = [p.priority for p in pending if not p.random_pick]
    assert rest == sorted(rest, reverse=True)
    # a random pick is taken regardless of priority: some come from the low end
    assert min(p.priority for p in pending if p.random_pick) < 0.3
    no_random = review.order_queue([_fake(i, i / 100) for i in range(20)], random_share=0)
    assert not any(p.random_pick for p in no_random)
    assert [p.priority for p in no_random] == sorted((p.priority for p in no_random), reverse=True)


def test_queue_order_and_filters(seeded):
    queue = review.load_queue(seeded, random_share=0)
    keys = [p.key for p in queue]
    assert set(keys) == {key(a) for a in PAPERS}  # auto-decided papers are not queued
    assert keys[0] == key("2601.00001")  # 0.86: borderline and relevant
    assert keys.index(key("2601.00003")) > keys.index(key("2601.00002"))
    first = queue[0]
    assert first.predicted_targets == ["safety/jailbreak"] and first.prediction["model_version"] == "m-test-1"

    safety = review.load_queue(seeded, QueueFilter(category="safety"))
    assert {p.key for p in safety} == {key("2601.00001"), key("2601.00002"), key("2601.00005")}
    since = review.load_queue(seeded, QueueFilter(since="2026-01-07"))
    assert {p.key for p in since} == {key("2601.00003"), key("2601.00004"), key("2601.00005")}
    window = review.load_queue(seeded, QueueFilter(since="2026-01-06", until="2026-01-07"))
    assert {p.key for p in window} == {key("2601.00002"), key("2601.00003")}
    relevant = review.load_queue(seeded, QueueFilter(relevant_only=True))
    assert key("2601.00003") not in {p.key for p in relevant} and len(relevant) == 4
    with pytest.raises(ReviewError):
        QueueFilter(since="last week")


def test_new_version_updates_the_item_instead_of_queueing_again(seeded):
    title, abstract, date, _ = PAPERS["2601.00002"]
    newer = prediction(0.6, 1, {"safety/deepfake": 0.75}, model_version="m-test-1")
    pred_id = add_paper(seeded, "2601.00002", title + " (v2)", abstract, date, newer, version=2)
    queue = review.load_queue(seeded)
    mine = [p for p in queue if p.key == key("2601.00002")]
    assert len(mine) == 1 and mine[0].prediction["id"] == pred_id and mine[0].title.endswith("(v2)")


# -- decisions ------------------------------------------------------------------------------------------
def test_accept_as_predicted(seeded, index):
    k = key("2601.00001")
    out = review.decide(seeded, k, "accept", "alice", revision=0, index=index)
    assert (out.status, out.relevance, out.subcategories, out.revision) == ("accepted", 2, ["safety/jailbreak"], 1)
    row = seeded.get_paper(k)
    assert (row.status, row.labels, row.decided_by, row.merged_at) == (
        "accepted", ["safety/jailbreak"], "reviewer:alice", None)
    assert k not in {p.key for p in review.load_queue(seeded)}
    assert [r.key for r in seeded.unmerged_accepted()].count(k) == 1  # the next merge picks it up


def test_edit_then_accept_and_edit_to_irrelevant(seeded, index):
    k = key("2601.00002")
    out = review.decide(seeded, k, "edit", "bob", revision=0, relevance=2, subcategories=["safety/deepfake"],
                        categories=["security"], note="also attacks detectors", audio_llm=False, index=index)
    assert out.subcategories == ["safety/deepfake", "security/general"] and out.status == "accepted"
    row = seeded.get_paper(k)
    assert row.labels == ["safety/deepfake", "security/general"] and row.relevance == 2
    out = review.decide(seeded, key("2601.00004"), "edit", "bob", revision=0, relevance=0,
                        subcategories=["privacy/general"], index=index)
    assert out.status == "rejected" and out.subcategories == []


@pytest.mark.parametrize("bad", [
    {"relevance": 2, "subcategories": ["safety/nonsense"]},
    {"relevance": 2, "categories": ["vibes"]},
    {"relevance": 2, "subcategories": []},
    {"relevance": 5, "subcategories": ["safety/general"]},
    {"subcategories": ["safety/general"]},
])
def test_edit_rejects_invalid_labels_and_writes_nothing(seeded, index, bad):
    k = key("2601.00002")
    with pytest.raises(ReviewError):
        review.decide(seeded, k, "edit", "bob", revision=0, index=index, **bad)
    assert seeded.get_paper(k).status == "review" and review.audit_log(seeded) == []


def test_reject_and_defer(seeded, index):
    out = review.decide(seeded, key("2601.00003"), "reject", "carol", revision=0, index=index)
    assert out.status == "rejected" and seeded.get_paper(key("2601.00003")).relevance == 0
    out = review.decide(seeded, key("2601.00001"), "defer", "carol", revision=0, index=index)
    assert out.status == "review" and out.revision == 1
    queue = review.load_queue(seeded, random_share=0)
    assert queue[-1].key == key("2601.00001") and queue[-1].item_state == "deferred"
    assert key("2601.00001") not in {p.key for p in review.load_queue(seeded, QueueFilter(include_deferred=False))}
    # a deferred paper can be decided later
    review.decide(seeded, key("2601.00001"), "accept", "dave", revision=1, index=index)
    assert seeded.get_paper(key("2601.00001")).status == "accepted"


def test_accept_needs_a_predicted_file(seeded, index):
    with pytest.raises(ReviewError, match="use edit"):
        review.decide(seeded, key("2601.00003"), "accept", "alice", revision=0, index=index)


def test_undo_corrects_auto_decisions(seeded, index):
    acc, rej = key("2601.00010"), key("2601.00011")
    seeded.mark_merged([acc])
    out = review.decide(seeded, acc, "undo", "erin", revision=0, index=index)  # flip: accepted -> rejected
    assert out.status == "rejected"
    row = seeded.get_paper(acc)
    assert (row.status, row.labels, row.relevance, row.merged_at) == ("rejected", [], 0, None)
    out = review.decide(seeded, rej, "undo", "erin", revision=0, relevance=2,
                        subcategories=["hallucination/general"], index=index)
    assert out.status == "accepted" and seeded.get_paper(rej).labels == ["hallucination/general"]
    with pytest.raises(Conflict):  # a second correction from the same (stale) page
        review.decide(seeded, rej, "undo", "frank", revision=0, index=index)
    review.decide(seeded, rej, "undo", "frank", revision=1, index=index)  # flip back from a fresh page
    assert seeded.get_paper(rej).status == "rejected"
    with pytest.raises(ReviewError, match="use undo"):
        review.decide(seeded, acc, "accept", "erin", revision=1, index=index)
    with pytest.raises(ReviewError, match="still waiting"):
        review.decide(seeded, key("2601.00001"), "undo", "erin", revision=0, index=index)
    assert [p.key for p in review.decided_papers(seeded, by_model_only=True)] == []
    assert {p.key for p in review.decided_papers(seeded, "rejected")} == {acc, rej}


def test_unknown_action_paper_and_reviewer(seeded, index):
    with pytest.raises(ReviewError):
        review.decide(seeded, key("2601.00001"), "approve", "alice", revision=0, index=index)
    with pytest.raises(ReviewError):
        review.decide(seeded, "arxiv:9999.99999", "accept", "alice", revision=0, index=index)
    with pytest.raises(ReviewError):
        review.decide(seeded, key("2601.00001"), "accept", " \x1b\t", revision=0, index=index)
    assert review.clean_reviewer("  ali\x1b[31mce  ") == "ali[31mce"


# -- conflicts ------------------------------------------------------------------------------------------
def test_stale_revision_is_a_conflict_naming_the_winner(seeded, index):
    k = key("2601.00002")
    review.decide(seeded, k, "reject", "alice", revision=0, index=index)
    with pytest.raises(Conflict) as err:
        review.decide(seeded, k, "accept", "bob", revision=0, index=index)
    assert err.value.by == "alice" and err.value.action == "reject" and "NOT saved" in str(err.value)
    assert seeded.get_paper(k).status == "rejected"
    assert [d["reviewer"] for d in review.audit_log(seeded, k)] == ["alice"]


def test_concurrent_decisions_exactly_one_wins(seeded, index):
    k = key("2601.00005")
    barrier = threading.Barrier(6)
    results: list[str] = []

    def attempt(name: str, action: str) -> None:
        barrier.wait()
        try:
            review.decide(seeded, k, action, name, revision=0, index=index)
            results.append("ok:" + name)
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=attempt, args=(f"r{i}", "accept" if i % 2 else "reject")) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.startswith("ok:") for r in results) == 1 and results.count("conflict") == 5
    log = review.audit_log(seeded, k)
    assert len(log) == 1 and "ok:" + log[0]["reviewer"] in results


def test_conflict_on_the_store_level_compare_and_set(seeded):
    """The store refuses a stale revision even when the caller skipped the friendly pre-check."""
    audit = {"action": "reject", "relevance": 0, "reviewer": "x", "model_version": None,
             "categories": [], "subcategories": [], "predicted": {}}
    k = key("2601.00001")
    args = dict(item_state="done", status="rejected", labels=[], relevance=0, decided_by="reviewer:x", audit=audit)
    assert seeded.apply_decision(k, expected_revision=0, **args) == 1
    assert seeded.apply_decision(k, expected_revision=0, **args) is None
    assert seeded.apply_decision(key("2601.00010"), expected_revision=3, **args) is None  # no item, not rev 0


# -- audit log and export ----------------------------------------------------------------------------------
def test_audit_log_records_who_when_model_and_what_was_overridden(seeded, index):
    k = key("2601.00001")
    review.decide(seeded, k, "edit", "alice", revision=0, relevance=1, subcategories=["security/attack"],
                  note="attack, not jailbreak", index=index)
    (entry,) = review.audit_log(seeded, k)
    assert entry["reviewer"] == "alice" and entry["action"] == "edit" and entry["decided_at"].endswith("Z")
    assert entry["model_version"] == "m-test-1"
    assert entry["subcategories"] == ["security/attack"] and entry["categories"] == ["security"]
    pred = entry["predicted"]
    assert pred["subcategories"] == ["safety/jailbreak"] and pred["categories"] == ["safety"]
    assert pred["relevance"] == 0.86 and pred["relevance_class"] == 2 and pred["previous_status"] == "review"
    assert pred["note"] == "attack, not jailbreak"


def test_export_is_one_label_per_paper_latest_wins_and_idempotent(seeded, index, tmp_path):
    review.decide(seeded, key("2601.00001"), "accept", "alice", revision=0, index=index)
    review.decide(seeded, key("2601.00002"), "edit", "bob", revision=0, relevance=1,
                  subcategories=["safety/deepfake"], note="detector", audio_llm=False, index=index)
    review.decide(seeded, key("2601.00003"), "reject", "bob", revision=0, index=index)
    review.decide(seeded, key("2601.00004"), "defer", "bob", revision=0, index=index)
    review.decide(seeded, key("2601.00010"), "undo", "carol", revision=0, index=index)
    review.decide(seeded, key("2601.00010"), "undo", "carol", revision=1, relevance=2,
                  subcategories=["security/poison_and_backdoor"], index=index)
    out = tmp_path / "labeled" / "decisions.jsonl"
    assert review.export_decisions(seeded, out) == 4
    first = out.read_bytes()
    assert review.export_decisions(seeded, out) == 4 and out.read_bytes() == first
    assert [p.name for p in out.parent.iterdir()] == ["decisions.jsonl"]  # no temp file left behind
    records = {r["arxiv_id"]: r for r in map(json.loads, first.decode().splitlines())}
    assert set(records) == {"2601.00001", "2601.00002", "2601.00003", "2601.00010"}  # the defer is no label
    assert records["2601.00001"] == {
        "arxiv_id": "2601.00001", "relevance": 2, "categories": ["safety"], "subcategories": ["safety/jailbreak"],
        "note": "", "reviewer": "alice", "decided_at": records["2601.00001"]["decided_at"], "action": "accept"}
    assert records["2601.00002"]["audio_llm"] is False and records["2601.00002"]["note"] == "detector"
    assert records["2601.00003"]["relevance"] == 0 and records["2601.00003"]["categories"] == []
    assert records["2601.00010"]["subcategories"] == ["security/poison_and_backdoor"]  # the latest correction
    assert records["2601.00010"]["action"] == "undo"
    assert list(records) == sorted(records)


# -- the list: taxonomy, target files, near-duplicates ---------------------------------------------------------
def test_taxonomy_and_target_files_come_from_the_list(index):
    assert "safety/jailbreak" in index.subcategories and "privacy/unlearning" in index.subcategories
    assert set(index.taxonomy) >= {"safety", "security", "privacy", "fairness", "hallucination", "robustness",
                                   "interpretability"}
    assert review.list_files(["safety/jailbreak"]) == ["papers/safety/jailbreak.md"]
    guide = review.load_list_index(None)
    assert guide.taxonomy["privacy"] == ["privacy/watermark_and_copyright", "privacy/general"]


def test_near_duplicates_same_id_other_form_and_similar_title(index):
    same = index.near_duplicates("arxiv:2505.17568", "A retitled version of the benchmark")
    assert same and same[0].reason == "same paper" and same[0].file == "papers/safety/jailbreak.md"
    similar = index.near_duplicates(key("2601.00005"), PAPERS["2601.00005"][0])
    assert similar and similar[0].reason == "similar title" and "GPT-4o" in similar[0].title
    assert index.near_duplicates(key("2601.00003"), PAPERS["2601.00003"][0]) == []
    assert AUTO  # fixture sanity


def test_corrections_reach_the_list_on_the_next_merge(seeded, index, list_copy, tmp_path):
    """An undo of an auto-accepted, already merged paper removes its line; a relabel moves it."""
    from trust_tagger.config import Settings
    from trust_tagger.listfile.parse import parse_list
    from trust_tagger.nightly.steps import merge_accepted

    settings = Settings(root=tmp_path, list_dir=list_copy)
    k = key("2601.00010")
    merge_accepted(seeded, settings)
    assert parse_list(list_copy).files_for(k) == ["papers/security/poison_and_backdoor.md"]
    review.decide(seeded, k, "undo", "erin", revision=0, relevance=2, subcategories=["security/attack"], index=index)
    merge_accepted(seeded, settings)
    assert parse_list(list_copy).files_for(k) == ["papers/security/attack.md"]
    review.decide(seeded, k, "undo", "erin", revision=1, index=index)  # flip: reject
    merge_accepted(seeded, settings)
    assert k not in parse_list(list_copy).keys()


# -- undo (revert), search, adjacent, bulk --------------------------------------------------------------------
def test_revert_puts_a_decided_paper_back_in_the_queue_as_it_was(seeded, index, tmp_path):
    k = key("2601.00001")
    before = review.get_paper(seeded, k)
    out = review.decide(seeded, k, "accept", "alice", revision=0, index=index)
    undone = review.decide(seeded, k, "revert", "alice", revision=out.revision, index=index)
    assert undone.action == "revert" and undone.status == "review"
    after = review.get_paper(seeded, k)
    assert (after.status, after.labels, after.decided_by, after.item_state) == (
        "review", before.labels, before.decided_by, "pending")
    assert k in {p.key for p in review.load_queue(seeded)}
    assert [d["action"] for d in review.audit_log(seeded, k)] == ["revert", "accept"]  # both audited
    out_file = tmp_path / "decisions.jsonl"
    assert review.export_decisions(seeded, out_file) == 0  # the undone label never reaches training
    with pytest.raises(ReviewError, match="no decision to undo"):
        review.decide(seeded, k, "revert", "alice", revision=undone.revision, index=index)
    with pytest.raises(ReviewError, match="no decision to undo"):
        review.decide(seeded, key("2601.00010"), "revert", "alice", revision=0, index=index)  # model-decided only


def test_revert_is_an_undo_stack_and_conflict_checked(seeded, index, tmp_path):
    k = key("2601.00002")
    d1 = review.decide(seeded, k, "defer", "bob", revision=0, index=index)
    d2 = review.decide(seeded, k, "edit", "bob", revision=d1.revision, relevance=1,
                       subcategories=["safety/deepfake"], index=index)
    d3 = review.decide(seeded, k, "undo", "carol", revision=d2.revision, index=index)  # flip to rejected
    with pytest.raises(Conflict):  # a stale page cannot undo
        review.decide(seeded, k, "revert", "bob", revision=d2.revision, index=index)
    r1 = review.decide(seeded, k, "revert", "bob", revision=d3.revision, index=index)
    row = seeded.get_paper(k)
    assert (row.status, row.labels) == ("accepted", ["safety/deepfake"])  # back to bob's edit
    out = tmp_path / "d.jsonl"
    review.export_decisions(seeded, out)
    assert json.loads(out.read_text())["action"] == "edit"
    r2 = review.decide(seeded, k, "revert", "bob", revision=r1.revision, index=index)
    assert review.get_paper(seeded, k).item_state == "deferred"  # back to after the defer
    review.decide(seeded, k, "revert", "bob", revision=r2.revision, index=index)
    assert review.get_paper(seeded, k).item_state == "pending" and review.export_decisions(seeded, out) == 0


def test_reverting_a_merged_accept_removes_its_line(seeded, index, list_copy, tmp_path):
    from trust_tagger.config import Settings
    from trust_tagger.listfile.parse import parse_list
    from trust_tagger.nightly.steps import merge_accepted

    settings = Settings(root=tmp_path, list_dir=list_copy)
    k = key("2601.00001")
    out = review.decide(seeded, k, "accept", "alice", revision=0, index=index)
    merge_accepted(seeded, settings)
    assert parse_list(list_copy).files_for(k) == ["papers/safety/jailbreak.md"]
    review.decide(seeded, k, "revert", "alice", revision=out.revision, index=index)
    merge_accepted(seeded, settings)
    assert k not in parse_list(list_copy).keys()


def test_search_finds_title_words_authors_and_arxiv_ids(seeded):
    def found(q):
        return {p.key for p in review.load_queue(seeded, QueueFilter(search=q))}
    assert found("whisper jail") == {key("2601.00001")}
    assert found("CLONED voices") == {key("2601.00002")}
    assert found("lovelace") == {key(a) for a in PAPERS}  # every fixture paper has this author
    assert found("2601.00003") == {key("2601.00003")}
    assert found("https://arxiv.org/abs/2601.00004v2") == {key("2601.00004")}
    assert found("no such words") == set()
    with pytest.raises(ReviewError, match="too long"):
        QueueFilter(search="x" * 201)


def test_unknown_category_and_reversed_window_are_refused(index):
    with pytest.raises(ReviewError, match="unknown category 'safty'"):
        QueueFilter(category="safty").validate(index.taxonomy)
    assert QueueFilter(category="safety").validate(index.taxonomy).category == "safety"
    with pytest.raises(ReviewError, match="after"):
        QueueFilter(since="2026-02-01", until="2026-01-01")


def _paper_with(pred: dict) -> ReviewPaper:
    return ReviewPaper(key="arxiv:1", arxiv_id="1", title="t", authors=[], abstract="", date="2026-01-01", link="",
                       status="review", labels=[], relevance=None, decided_by=None, merged=False, prediction=pred)


@pytest.mark.parametrize("pred, adjacent", [
    ({"relevance": 0.9, "relevance_class": 2, "core": 0.2}, True),   # relevant, not core: the core contract
    ({"relevance": 0.9, "relevance_class": 1, "core": 0.8}, False),  # core wins over the class
    ({"relevance": 0.3, "relevance_class": 1, "core": 0.1}, False),  # not relevant enough
    ({"relevance": 0.7, "relevance_class": 1}, True),                # older models: class 1 = adjacent
    ({"relevance": 0.7, "relevance_class": 2}, False),
])
def test_adjacent_reads_core_and_falls_back_to_the_class(pred, adjacent):
    assert _paper_with(pred).adjacent is adjacent


def test_adjacent_view_and_one_click_promotion(seeded, index):
    adj = review.adjacent_papers(seeded)
    assert {p.key for p in adj} == {key("2601.00002"), key("2601.00004")}  # the class-1 queued papers
    out = review.promote(seeded, key("2601.00002"), "alice", revision=0, index=index)
    assert (out.action, out.status, out.relevance, out.subcategories) == ("edit", "accepted", 2, ["safety/deepfake"])
    entry = review.audit_log(seeded, key("2601.00002"))[0]
    assert entry["reviewer"] == "alice" and "adjacent" in entry["predicted"]["note"]
    assert key("2601.00002") not in {p.key for p in review.adjacent_papers(seeded)}
    with pytest.raises(Conflict):
        review.promote(seeded, key("2601.00004"), "bob", revision=7, index=index)


def test_model_rejected_adjacent_paper_is_promoted_by_a_correction(seeded, index):
    from review_fixtures import add_paper, prediction
    add_paper(seeded, "2601.00020", "Speaker verification fairness across accents", "Audio.", "2026-01-04",
              {**prediction(0.8, 1, {"fairness/general": 0.7}, "reject")}, status="rejected")
    assert key("2601.00020") in {p.key for p in review.adjacent_papers(seeded)}
    out = review.promote(seeded, key("2601.00020"), "alice", revision=0, index=index)
    assert (out.action, out.status, out.subcategories) == ("undo", "accepted", ["fairness/general"])


def test_bulk_action_goes_paper_by_paper_through_decide(seeded, index):
    keys = [key("2601.00001"), key("2601.00003"), key("2601.00004")]
    review.decide(seeded, keys[1], "reject", "bob", revision=0, index=index)  # decided meanwhile
    result = review.decide_each(seeded, [(k, 0) for k in keys], "reject", "alice", index=index)
    assert [o.key for o in result.saved] == [keys[0], keys[2]]
    assert [k for k, _ in result.failed] == [keys[1]] and "bob" in result.failed[0][1]
    assert [d["reviewer"] for d in review.audit_log(seeded, keys[1])] == ["bob"]  # not overwritten
    assert all(review.audit_log(seeded, k)[0]["reviewer"] == "alice" for k in (keys[0], keys[2]))
    undo = review.decide_each(seeded, [(o.key, o.revision) for o in result.saved], "revert", "alice", index=index)
    assert not undo.failed and all(seeded.get_paper(k).status == "review" for k in (keys[0], keys[2]))
def test_reject_with_a_relevance_keeps_an_adjacent_label_off_the_list(seeded, index, tmp_path):
    """Under merge_policy=core a relevant, non-core paper is rejected from the list but stays a relevance-1
    training label: a plain reject would teach the next model that it is out of scope."""
    k = key("2601.00002")
    out = review.decide(seeded, k, "reject", "carol", revision=0, relevance=1,
                        subcategories=["safety/deepfake"], index=index)
    row = seeded.get_paper(k)
    assert (out.status, row.status, row.labels, row.relevance) == ("rejected", "rejected", [], 1)
    assert k not in {r.key for r in seeded.papers_for_the_list()}  # nothing to write into the list
    (entry,) = review.audit_log(seeded)
    assert (entry["action"], entry["relevance"], entry["subcategories"]) == ("reject", 1, ["safety/deepfake"])
    review.export_decisions(seeded, tmp_path / "decisions.jsonl")
    (line,) = [json.loads(x) for x in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert (line["relevance"], line["categories"], line["subcategories"]) == (1, ["safety"], ["safety/deepfake"])
    with pytest.raises(ReviewError):  # a relevance with labels of no list file is refused, nothing written
        review.decide(seeded, key("2601.00004"), "reject", "carol", revision=0, relevance=1,
                      subcategories=["nowhere/at_all"], index=index)
    assert seeded.get_paper(key("2601.00004")).status == "review"
