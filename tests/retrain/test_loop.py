"""Retraining end to end on the real labels with a tiny (but real) model, in a scratch project.

One module-scoped history drives the story the issue asks for, each step a real retrain:
v1 is trained while most training labels are still unreviewed; maintainers then label those papers in
the review queue, and the retrain trains v2 on their decisions and promotes it (it is better); a batch
of deliberately corrupted labels then yields v3, which the gate refuses while v2 stays current; and a
rollback brings v1 back, which is what the nightly flow's loader then classifies with.
"""

import json
import random
from dataclasses import asdict
from pathlib import Path

import pytest

from _tiny_model import tiny_base_model, tiny_config  # noqa: E402
from conftest import ROOT
from trust_tagger import review
from trust_tagger.config import Settings
from trust_tagger.ingest.records import paper_from_dict
from trust_tagger.model import registry as registry
from trust_tagger.retrain.dataset import load_pool, split_of
from trust_tagger.retrain.loop import new_decisions, retrain, should_retrain
from trust_tagger.store.store import Store
from trust_tagger.taxonomy import CATEGORIES

pytestmark = pytest.mark.slow  # trains several tiny models

KEEP_TRAIN_SHARE = 0.1  # share of train-split annotations v1 sees; the rest arrives as review decisions


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    from threadpoolctl import threadpool_limits

    mp = pytest.MonkeyPatch()
    mp.setenv("TRUST_TAGGER_THREADS", "1")  # 2 threads on a busy 2-core box were measured 5-10x slower
    tmp = tmp_path_factory.mktemp("retrain")
    labeled = tmp / "labeled"
    labeled.mkdir()
    rng = random.Random(0)
    held_back = []
    with (ROOT / "data" / "labeled" / "annotations.jsonl").open() as src, (labeled / "annotations.jsonl").open("w") as dst:
        for line in src:
            rec = json.loads(line)
            if split_of(f"arxiv:{rec['arxiv_id']}") == "train" and rng.random() > KEEP_TRAIN_SHARE:
                held_back.append(rec)
            else:
                dst.write(line)
    settings = Settings(root=tmp, list_dir=ROOT / "data" / "awesome-list", labeled_dir=labeled,
                        snapshot_path=ROOT / "data" / "raw" / "arxiv-audio-papers.jsonl.gz",
                        model_dir=tmp / "models", reports_dir=tmp / "reports", db_url=f"sqlite:///{tmp / 'store.db'}",
                        retrain_min_decisions=50)
    store = Store(settings.resolved_db_url)
    base = tiny_base_model(str(tmp))
    overrides = {k: v for k, v in asdict(tiny_config(base)).items() if k != "base_model"}
    # The gate's mechanics, not the recipe: with the large-model floor on, the random tiny encoder's "better"
    # candidate was kept instead of promoted (3 tests failed on a clean clone at 2026-12-02; cause not traced).
    overrides["large_floors"] = (0.0,)

    def run(**kw):
        with threadpool_limits(limits=1, user_api="blas"):
            return retrain(settings, store, base_model=base, config_overrides=overrides, log=lambda s: None, **kw)

    h = {"settings": settings, "store": store, "held_back": held_back}
    h["first"] = run()
    h["due_before_review"] = should_retrain(store, settings)
    h["unchanged"] = run()
    h["reviewed"] = review_papers(store, held_back)
    h["pending_after_review"] = new_decisions(store)[0]
    h["due_after_review"] = should_retrain(store, settings)
    h["better"] = run()
    h["due_after_retrain"] = should_retrain(store, settings)
    (labeled / "decisions_corrupt.jsonl").write_text(corrupted_labels(settings))
    h["corrupt"] = run()
    yield h
    mp.undo()


def review_papers(store: Store, records: list[dict]) -> list[str]:
    """Maintainers label the held-back papers through the review queue (edit = given labels, accept)."""
    pool = load_pool(ROOT / "data" / "raw" / "arxiv-audio-papers.jsonl.gz")
    keys = []
    for rec in records:
        raw = pool.get(f"arxiv:{rec['arxiv_id']}")
        if raw is None:
            continue
        paper = paper_from_dict(raw)
        store.upsert_paper(paper, "snapshot")
        store.enqueue(paper.key, None, 0.5)
        review.decide(store, paper.key, "edit", "maintainer", revision=0, relevance=rec["relevance"],
                      subcategories=rec["subcategories"], categories=rec["categories"])
        keys.append(paper.key)
    return keys


def corrupted_labels(settings: Settings) -> str:
    """Half of the train/validation labels flipped (test labels untouched: the gate measures on them)."""
    from trust_tagger.retrain.dataset import build_from_settings

    rng = random.Random(1)
    lines = []
    for e in build_from_settings(settings).examples:
        if e.split == "test" or rng.random() > 0.5:
            continue
        if e.relevant:
            rec = {"arxiv_id": e.arxiv_id, "relevance": 0, "categories": [], "subcategories": []}
        else:
            cat = rng.choice(CATEGORIES)
            rec = {"arxiv_id": e.arxiv_id, "relevance": 2, "categories": [cat], "subcategories": [f"{cat}/general"]}
        lines.append(json.dumps(rec) + "\n")
    return "".join(lines)


def test_first_model_is_promoted_on_sanity_bounds(history):
    first = history["first"]
    assert first.promoted and first.previous is None and first.current == first.candidate == "v1"
    assert first.decision.figures["first_model"]


def test_unchanged_labels_train_nothing(history):
    unchanged = history["unchanged"]
    assert unchanged.verdict == "skipped" and "unchanged since v1" in unchanged.skipped
    assert unchanged.candidate is None and unchanged.current == "v1"


def test_review_decisions_appear_in_the_next_training_set(history):
    settings, better = history["settings"], history["better"]
    reviewed = set(history["reviewed"])
    assert not history["due_before_review"] and history["due_after_review"]
    assert history["pending_after_review"] == len(reviewed)
    assert better.data["decisions_exported"] == len(reviewed)
    exported = {json.loads(line)["arxiv_id"] for line in (settings.labeled_dir / "decisions.jsonl").read_text().splitlines()}
    assert exported == {k.split(":", 1)[1] for k in reviewed}
    meta = json.loads((registry.model_path("v2", settings) / "tagger.json").read_text())
    assert reviewed <= set(meta["train_keys"])  # every decided paper is in train (or validation) of v2
    assert not history["due_after_retrain"]  # the retrain consumed them


def test_better_candidate_is_promoted_and_recorded(history):
    better, settings = history["better"], history["settings"]
    assert better.verdict == "promoted" and better.previous == "v1" and better.current == "v2"
    assert better.candidate_metrics["relevance_ap"] > better.current_metrics["relevance_ap"]
    entry = registry.show("v2", settings)
    assert entry["parent"] == "v1" and entry["gate"]["promote"]
    report = json.loads((Path(better.report_dir) / "report.json").read_text())
    assert report["verdict"] == "promoted" and report["decision"]["figures"]["relevance_ap"]["ok"]
    assert "# Retrain: promoted" in (Path(better.report_dir) / "report.md").read_text()


def test_candidate_on_corrupted_labels_is_refused_and_current_stays(history):
    corrupt, settings = history["corrupt"], history["settings"]
    assert corrupt.verdict == "kept" and corrupt.candidate == "v3"
    assert corrupt.current == registry.current(settings) == "v2"
    assert corrupt.decision.reasons and not registry.show("v3", settings)["gate"]["promote"]
    assert corrupt.candidate_metrics["relevance_ap"] < corrupt.current_metrics["relevance_ap"]
    assert [v["id"] for v in registry.list_versions(settings)] == ["v1", "v2", "v3"]  # nothing deleted


def test_rollback_restores_the_previous_version_for_the_nightly_flow(history):
    from trust_tagger.nightly.classifier import load_classifier
    from trust_tagger.nightly.steps import classify_and_route

    settings, store = history["settings"], history["store"]
    assert registry.rollback(settings)["id"] == "v1"
    clf = load_classifier(settings)
    assert clf.version == "v1"
    key = history["reviewed"][0]
    store.set_status(key, "new", decided_by=None)  # a paper the model may decide again
    routed = classify_and_route(store, [key], clf.classify, clf.version, clf.review_priority)
    assert routed.model_version == "v1" and store.latest_prediction(key).model_version == "v1"
