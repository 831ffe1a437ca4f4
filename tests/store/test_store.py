from trust_tagger.ingest.records import Paper
from trust_tagger.store.store import Store


def paper(version=1, title="A Paper", arxiv_id="2601.00001"):
    return Paper(arxiv_id=arxiv_id, version=version, title=title, abstract="About audio.", date="2026-01-05")


def pred(decision="review", model="m1", rel=0.5):
    return {"model_version": model, "relevance": rel, "relevance_class": 1, "labels": ["safety"],
            "categories": {"safety": 0.7}, "subcategories": {"safety/jailbreak": 0.6}, "decision": decision}


def test_new_version_updates_never_duplicates(store):
    assert store.upsert_paper(paper(1), "snapshot") == "new"
    assert store.upsert_paper(paper(1), "snapshot") == "duplicate"
    assert store.upsert_paper(paper(2, title="A Paper, revised"), "arxiv") == "updated"
    assert store.upsert_paper(paper(1), "snapshot") == "duplicate"  # an older version never wins
    rows = store.papers()
    assert len(rows) == 1 and rows[0].version == 2 and rows[0].title == "A Paper, revised"
    assert [v.version for v in store.versions("arxiv:2601.00001")] == [1, 2]


def test_prediction_stored_once_per_model_and_version(store):
    store.upsert_paper(paper(), "snapshot")
    a = store.add_prediction("arxiv:2601.00001", pred(rel=0.4), 1)
    b = store.add_prediction("arxiv:2601.00001", pred(rel=0.6), 1)
    assert a.id == b.id and store.latest_prediction("arxiv:2601.00001").relevance == 0.6
    c = store.add_prediction("arxiv:2601.00001", pred(model="m2"), 1)
    assert c.id != a.id
    assert store.has_prediction("arxiv:2601.00001", "m1", 1) and not store.has_prediction("arxiv:2601.00001", "m1", 2)


def test_queue_once_and_status_change_unmerges(store):
    store.upsert_paper(paper(), "snapshot")
    p = store.add_prediction("arxiv:2601.00001", pred(), 1)
    assert store.enqueue("arxiv:2601.00001", p.id, 0.3) is True
    assert store.enqueue("arxiv:2601.00001", p.id, 0.9) is False
    store.set_status("arxiv:2601.00001", "accepted", labels=["safety/jailbreak"], decided_by="model:m1")
    assert [r.key for r in store.unmerged_accepted()] == ["arxiv:2601.00001"]
    store.mark_merged(["arxiv:2601.00001"])
    assert store.unmerged_accepted() == []
    store.set_status("arxiv:2601.00001", "accepted", labels=["safety/deepfake"], decided_by="reviewer:ann")
    assert [r.key for r in store.unmerged_accepted()] == ["arxiv:2601.00001"]


def test_meta_and_runs_persist_across_connections(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    s1 = Store(url)
    s1.set_meta("watermark:snapshot", "2026-01-10")
    s1.start_run("r1", "snapshot", "2026-01-01", "2026-01-10")
    s1.finish_run("r1", "completed", {"fetched": 3})
    s2 = Store(url)
    assert s2.get_meta("watermark:snapshot") == "2026-01-10"
    assert s2.get_meta("missing", "x") == "x"
