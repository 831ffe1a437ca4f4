"""The label audit on the real snapshot: planted wrong labels are flagged, and so are the real list errors."""

import json

import pytest

from conftest import ROOT
from trust_tagger.retrain.dataset import build_dataset, load_pool
from trust_tagger.retrain.label_audit import audit_labels, queue_suspects, same_title

LIST_DIR = ROOT / "data" / "awesome-list"
PLANTED = {
    "2505.13541": {"relevance": 0, "categories": [], "subcategories": []},  # an audio-LLM jailbreak paper
    "2409.06190": {"relevance": 2, "categories": ["safety"], "subcategories": ["safety/jailbreak"]},  # music generation
    "2508.03365": {"relevance": 2, "categories": ["fairness"], "subcategories": ["fairness/general"]},  # a jailbreak
}


@pytest.fixture(scope="module")
def pool():
    return load_pool(ROOT / "data" / "raw" / "arxiv-audio-papers.jsonl.gz")


@pytest.fixture(scope="module")
def audit(tmp_path_factory, pool):
    """The audit of the real label set with three labels corrupted in a copy of annotations.jsonl."""
    labeled = tmp_path_factory.mktemp("labeled")
    lines = []
    for line in (ROOT / "data" / "labeled" / "annotations.jsonl").read_text().splitlines():
        rec = json.loads(line)
        rec.update(PLANTED.get(rec["arxiv_id"], {}))
        lines.append(json.dumps(rec))
    (labeled / "annotations.jsonl").write_text("\n".join(lines) + "\n")
    ds = build_dataset(LIST_DIR, labeled, pool)
    return audit_labels(ds.examples, LIST_DIR, pool)


def _flagged(suspects, arxiv_id, kind):
    return [s for s in suspects if s.arxiv_id == arxiv_id and s.kind == kind]


def test_planted_relevance_flips_are_flagged(audit):
    (dropped,) = _flagged(audit, "2505.13541", "relevance")
    assert dropped.given == "relevance 0" and dropped.predicted > 0.5 and dropped.source == "annotation"
    (added,) = _flagged(audit, "2409.06190", "relevance")
    assert added.predicted < 0.5


def test_planted_category_swap_reads_as_another_category(audit):
    (swapped,) = _flagged(audit, "2508.03365", "category")
    labelled, reads_as = swapped.reason.split(" but reads as ")
    assert labelled.startswith("labelled fairness") and ("safety" in reads_as or "security" in reads_as)


def test_real_wrong_arxiv_id_in_the_jailbreak_file(audit):
    (wrong,) = _flagged(audit, "2503.10222", "wrong_id")
    assert wrong.where == "papers/safety/jailbreak.md:5"
    assert "should be 2511.10222" in wrong.reason and "not in the paper pool" in wrong.reason
    # And a listed id pointing at an unrelated paper (anomaly detection in images) is caught by title.
    assert _flagged(audit, "2410.10234", "wrong_id")


def test_real_list_filing_contradicted_by_the_annotation(audit):
    (conflict,) = _flagged(audit, "2507.10016", "list_conflict")
    assert conflict.where == "papers/fairness/general.md" and "privacy" in conflict.reason


def test_same_title_accepts_a_dropped_subtitle_only():
    assert same_title("Speech-Audio Compositional Attacks on Multimodal LLMs",
                      "Speech-Audio Compositional Attacks on Multimodal LLMs and Their Mitigation with SALMONN-Guard")
    assert not same_title("Qwen2-Audio Technical Report", "Kimi-Audio Technical Report")
    assert not same_title("Audio Attacks", "Audio Attacks and Defenses")  # too short to tell


def test_queued_suspects_reach_the_review_queue(store, audit, pool):
    from trust_tagger.review.queue import load_queue

    planted = [s for s in audit if s.arxiv_id in PLANTED or s.arxiv_id == "2503.10222"]
    queued, missing = queue_suspects(store, planted, pool)
    assert queued == 3 and missing == ["arxiv:2503.10222"]  # the wrong id has no paper to review
    assert {p.arxiv_id for p in load_queue(store, random_share=0)} == set(PLANTED)
    # Queueing again is harmless: still one item per paper.
    queue_suspects(store, planted, pool)
    assert len(load_queue(store, random_share=0)) == 3
