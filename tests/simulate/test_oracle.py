"""The oracle reviewer works the real queue in its order and decides through the real decision path."""

import json

from review_fixtures import key
from trust_tagger import review
from trust_tagger.retrain.dataset import Label
from trust_tagger.review.export import decision_records
from trust_tagger.simulate.oracle import Oracle

LABELS = {
    key("2601.00001"): Label(key("2601.00001"), 2, ["safety"], ["safety/jailbreak"]),
    key("2601.00002"): Label(key("2601.00002"), 1, ["safety"], ["safety/deepfake"]),
    key("2601.00003"): Label(key("2601.00003"), 0),
    key("2601.00005"): Label(key("2601.00005"), 2, ["safety"], ["safety/jailbreak"]),
}  # 2601.00004 has no label


def test_oracle_takes_the_queue_head_in_order_and_its_decisions_become_labels(seeded, index):
    order = [p.key for p in review.load_queue(seeded)]
    reviewed = Oracle(LABELS, "core").review(seeded, 4, index)
    assert [r.key for r in reviewed] == order[:4] and [r.rank for r in reviewed] == [1, 2, 3, 4]
    expected = {key("2601.00001"): "accept", key("2601.00002"): "adjacent", key("2601.00003"): "reject",
                key("2601.00004"): "defer", key("2601.00005"): "accept"}
    assert {r.key: r.action for r in reviewed} == {k: expected[k] for k in order[:4]}
    status = {k: seeded.get_paper(k).status for k in order[:4]}
    for k in order[:4]:
        assert status[k] == {"accept": "accepted", "adjacent": "rejected", "reject": "rejected",
                             "defer": "review"}[expected[k]]
    log = review.audit_log(seeded)
    assert {e["reviewer"] for e in log} == {"oracle"} and len(log) == 4
    labels = {f"arxiv:{r['arxiv_id']}": r for r in decision_records(seeded)}
    for k in order[:4]:
        if expected[k] == "defer":
            assert k not in labels  # a defer says nothing about the paper
        else:
            assert labels[k]["relevance"] == LABELS[k].relevance
            assert labels[k]["subcategories"] == LABELS[k].subcategories
    assert len(review.load_queue(seeded)) == 2  # one left pending, the deferred one waits behind it


def test_relevant_policy_accepts_adjacent_papers_and_labels_come_from_files(seeded, index, tmp_path):
    sampled, dense = tmp_path / "annotations.jsonl", tmp_path / "annotations-dense-x.jsonl"
    sampled.write_text(json.dumps({"arxiv_id": "2601.00002", "relevance": 0}) + "\n"
                       + json.dumps({"arxiv_id": "2601.00003", "relevance": 0}) + "\n")
    dense.write_text(json.dumps({"arxiv_id": "2601.00002", "relevance": 1, "subcategories": ["safety/deepfake"]}) + "\n")
    oracle = Oracle.from_files([dense, sampled], "relevant")  # dense wins whatever the order given
    assert oracle.relevance(key("2601.00002")) == 1 and oracle.relevance(key("2601.00003")) == 0
    assert oracle.is_target(key("2601.00002")) and not Oracle(oracle.labels, "core").is_target(key("2601.00002"))
    queue = review.load_queue(seeded)
    oracle.review(seeded, len(queue), index)
    assert seeded.get_paper(key("2601.00002")).status == "accepted"
    assert seeded.get_paper(key("2601.00003")).status == "rejected"
