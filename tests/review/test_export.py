"""decisions.jsonl is the next training set: it gathers every store's labels and never loses one
(issue 10, item 8: it was rewritten from whichever --db exported last, 6 decisions cut to 1)."""

import datetime as dt
import json
import threading

from sqlalchemy import update

from review_fixtures import key, seed
from trust_tagger import review
from trust_tagger.retrain.dataset import read_label_file
from trust_tagger.store.schema import DecisionRow
from trust_tagger.store.store import Store


def _store(tmp_path, name):
    store = Store(f"sqlite:///{tmp_path / name}.db")
    seed(store)
    return store


def _labels(path):
    return {r["arxiv_id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_a_second_store_adds_to_the_export_and_never_cuts_it(tmp_path, index):
    out = tmp_path / "labeled" / "decisions.jsonl"
    first, second = _store(tmp_path, "first"), _store(tmp_path, "second")
    for arxiv_id in ("2601.00001", "2601.00005"):
        review.decide(first, key(arxiv_id), "accept", "alice", revision=0, index=index)
    for arxiv_id in ("2601.00002", "2601.00003", "2601.00004"):
        review.decide(first, key(arxiv_id), "reject", "alice", revision=0, index=index)
    review.decide(first, key("2601.00010"), "undo", "alice", revision=0, index=index)
    assert review.export_decisions(first, out) == 6

    review.decide(second, key("2601.00011"), "undo", "bob", revision=0, index=index)
    assert review.export_decisions(second, out) == 7
    assert set(_labels(out)) == {"2601.00001", "2601.00002", "2601.00003", "2601.00004", "2601.00005",
                                 "2601.00010", "2601.00011"}
    before = out.read_bytes()
    assert review.export_decisions(first, out) == 7 and out.read_bytes() == before  # converged


def test_the_latest_decision_of_a_paper_wins_whichever_store_made_it(tmp_path, index):
    out = tmp_path / "labeled" / "decisions.jsonl"
    first, second = _store(tmp_path, "first"), _store(tmp_path, "second")
    review.decide(first, key("2601.00001"), "reject", "alice", revision=0, index=index)
    with first.session() as s:  # alice decided a year ago
        s.execute(update(DecisionRow).values(created_at=dt.datetime(2025, 1, 1)))
    review.export_decisions(first, out)
    review.decide(second, key("2601.00001"), "accept", "bob", revision=0, index=index)
    review.export_decisions(second, out)
    review.export_decisions(first, out)  # an older decision exported later does not win
    assert _labels(out)["2601.00001"]["reviewer"] == "bob"
    [label], _ = read_label_file(out, "decision")
    assert label.relevance == 2  # what the retrain reads


def test_a_line_that_cannot_be_read_is_kept(seeded, index, tmp_path):
    out = tmp_path / "labeled" / "decisions.jsonl"
    out.parent.mkdir()
    out.write_bytes(b'{"arxiv_id": "2501.00001", "relevance": 1, "subcategories": ["safety/general"]}\n'
                    b'{"arxiv_id": "2501.0000\n')
    review.decide(seeded, key("2601.00001"), "accept", "alice", revision=0, index=index)
    assert review.export_decisions(seeded, out) == 2
    lines = out.read_bytes().splitlines()
    assert lines[-1] == b'{"arxiv_id": "2501.0000' and b"2501.00001" in lines[0] and b"2601.00001" in lines[1]


def test_two_stores_exporting_at_once_keep_both_labels(tmp_path, index):
    out = tmp_path / "labeled" / "decisions.jsonl"
    stores = [_store(tmp_path, f"s{n}") for n in range(4)]
    papers = ["2601.00001", "2601.00002", "2601.00003", "2601.00004"]
    for store, arxiv_id in zip(stores, papers):
        review.decide(store, key(arxiv_id), "reject", "alice", revision=0, index=index)
    threads = [threading.Thread(target=review.export_decisions, args=(s, out)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(_labels(out)) == set(papers)
