"""The labeled set: label precedence, frozen split, missing abstracts, data hash."""

import gzip
import json
from pathlib import Path

from trust_tagger.retrain import dataset as D


def _pool(tmp_path: Path, ids: list[str], no_abstract: tuple[str, ...] = ()) -> Path:
    path = tmp_path / "pool.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        for i in ids:
            fh.write(json.dumps({"arxiv_id": i, "version": 1, "title": f"Title {i}",
                                 "abstract": "" if i in no_abstract else f"Abstract of {i} about speech.",
                                 "authors": [], "categories": ["cs.SD"], "date": "2025-10-01"}) + "\n")
    return path


def _list(tmp_path: Path) -> Path:
    d = tmp_path / "list"
    (d / "papers" / "safety").mkdir(parents=True)
    (d / "collections").mkdir()
    (d / "papers" / "safety" / "jailbreak.md").write_text(
        "- 2025/11/12 [*A jailbreak*](https://arxiv.org/abs/2511.00001)\n"
        "- 2025/11/10 [*Openreview only*](https://openreview.net/forum?id=abc)\n")
    (d / "papers" / "safety" / "fairness.md").write_text("- 2025/11/11 [*Fair*](https://arxiv.org/abs/2511.00002v2)\n")
    (d / "collections" / "survey.md").write_text("- 2025/11/09 [*A survey*](https://arxiv.org/abs/2511.00003)\n")
    return d


def _labels(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_split_is_a_pure_function_of_the_key():
    keys = [f"arxiv:2501.{i:05d}" for i in range(2000)]
    first = [D.split_of(k) for k in keys]
    assert first == [D.split_of(k) for k in keys]
    share = {s: first.count(s) / len(keys) for s in ("train", "validation", "test")}
    assert abs(share["test"] - 0.15) < 0.03 and abs(share["validation"] - 0.20) < 0.03


def test_list_labels_precedence_and_missing_abstracts(tmp_path):
    pool = _pool(tmp_path, ["2511.00001", "2511.00002", "2511.00003", "2511.00004", "2511.00005"],
                 no_abstract=("2511.00005",))
    labeled = tmp_path / "labeled"
    labeled.mkdir()
    _labels(labeled / "annotations.jsonl", [
        {"arxiv_id": "2511.00003", "relevance": 1, "categories": ["privacy"], "subcategories": ["privacy/general"]},
        {"arxiv_id": "2511.00004", "relevance": 0, "categories": [], "subcategories": []},
        {"arxiv_id": "2511.00005", "relevance": 2, "categories": ["safety"], "subcategories": ["safety/general"]},
        {"arxiv_id": "not an id", "relevance": 5},
    ])
    # Two decision files: the later file wins, and within a file the later line wins.
    _labels(labeled / "decisions-2026-02-01.jsonl", [
        {"arxiv_id": "2511.00004", "relevance": 2, "categories": ["security"], "subcategories": ["security/attack"]},
        {"arxiv_id": "2511.00001", "relevance": 0, "categories": [], "subcategories": []},
    ])
    _labels(labeled / "decisions-2026-03-01.jsonl", [
        {"arxiv_id": "2511.00001", "relevance": 1, "categories": ["safety"], "subcategories": ["safety/jailbreak"]},
        {"arxiv_id": "2511.00001", "relevance": 2, "categories": ["security"], "subcategories": ["security/general"]},
    ])
    problems: list[str] = []
    ds = D.build_dataset(_list(tmp_path), labeled, pool, problems=problems)
    by = {e.key: e for e in ds.examples}
    assert by["arxiv:2511.00001"].relevance == 2 and by["arxiv:2511.00001"].subcategories == ["security/general"]
    assert by["arxiv:2511.00001"].source == "decision"
    assert by["arxiv:2511.00002"].subcategories == ["fairness/general"]  # safety/fairness.md alias
    assert by["arxiv:2511.00002"].relevance_exact is False and by["arxiv:2511.00002"].source == "list"
    assert by["arxiv:2511.00003"].relevance == 1  # annotation overrides the collections-only 0
    assert by["arxiv:2511.00004"].categories == ["security"]
    assert "arxiv:2511.00005" in ds.missing_abstract and "arxiv:2511.00005" not in by
    assert any(k.startswith("title:") for k in ds.missing_abstract)  # openreview entry: no pool text
    assert len(problems) == 1 and "annotations.jsonl:4" in problems[0]


def test_frozen_test_split_stable_when_labels_are_added(tmp_path):
    ids = [f"2510.{i:05d}" for i in range(300)]
    pool = _pool(tmp_path, ids)
    labeled = tmp_path / "labeled"
    labeled.mkdir()
    _labels(labeled / "annotations.jsonl", [{"arxiv_id": i, "relevance": 0} for i in ids[:150]])
    before = D.build_dataset(None, labeled, pool)
    _labels(labeled / "decisions-1.jsonl",
            [{"arxiv_id": i, "relevance": 1, "categories": ["robustness"], "subcategories": ["robustness/general"]}
             for i in ids[100:300]])
    after = D.build_dataset(None, labeled, pool)
    old_test = {e.key for e in before.split("test")}
    new_test = {e.key for e in after.split("test")}
    assert old_test <= new_test  # no paper left the test split
    assert all(D.split_of(k) == "test" for k in new_test - old_test)
    assert {e.key: e.split for e in before.examples}.items() <= {e.key: e.split for e in after.examples}.items()
    assert before.data_hash != after.data_hash


def test_data_hash_ignores_order_and_dataset_file_round_trip(tmp_path):
    pool = _pool(tmp_path, ["2511.00001", "2511.00002"])
    labeled = tmp_path / "labeled"
    labeled.mkdir()
    rows = [{"arxiv_id": "2511.00001", "relevance": 0}, {"arxiv_id": "2511.00002", "relevance": 1,
                                                          "categories": ["fairness"]}]
    _labels(labeled / "annotations.jsonl", rows)
    a = D.build_dataset(None, labeled, pool)
    _labels(labeled / "annotations.jsonl", rows[::-1])
    b = D.build_dataset(None, labeled, pool)
    assert a.data_hash == b.data_hash
    D.write_dataset(a, tmp_path / "dataset.jsonl")
    back = D.read_dataset(tmp_path / "dataset.jsonl")
    assert D.data_hash(back) == a.data_hash
    assert back[1].categories == ["fairness"] and back[1].subcategories == []


def test_later_papers_take_every_annotators_file_over_the_list(tmp_path):
    """A paper the maintainers put only under collections/ reads as relevance 0 from the list; the
    dense labels (every feed paper of a period) know better, as they do in training."""
    ids = ["2511.00001", "2511.00002", "2511.00003", "2604.00004", "2604.00005"]
    pool = D.load_pool(_pool(tmp_path, ids))
    old = _list(tmp_path)
    new = tmp_path / "new-list"
    import shutil

    shutil.copytree(old, new)
    (new / "collections" / "benchmarks.md").write_text(
        "- 2026/04/21 [*A hallucination benchmark*](https://arxiv.org/abs/2604.00004)\n"
        "- 2026/04/22 [*A capability benchmark*](https://arxiv.org/abs/2604.00005)\n")
    labeled = tmp_path / "labeled"
    labeled.mkdir()
    _labels(labeled / "annotations-dense-2026-02-06.jsonl", [
        {"arxiv_id": "2604.00004", "relevance": 2, "categories": ["hallucination"],
         "subcategories": ["hallucination/general"], "audio_llm": True}])

    later = {e.arxiv_id: e for e in D.later_papers(old, new, pool, labeled)}

    assert set(later) == {"2604.00004", "2604.00005"}  # only what the newer list added
    assert (later["2604.00004"].relevance, later["2604.00004"].relevance_exact) == (2, True)
    assert later["2604.00004"].source == "dense" and later["2604.00004"].subcategories == ["hallucination/general"]
    assert (later["2604.00005"].relevance, later["2604.00005"].source) == (0, "list")
