import datetime as dt
import gzip
import json

from trust_tagger.config import load_settings
from trust_tagger.ingest.records import MalformedRecord, paper_from_dict
from trust_tagger.ingest.sources import records_for, snapshot_records


def test_bundled_snapshot_replays_a_window():
    settings = load_settings()
    items = list(records_for("snapshot", settings, dt.date(2026, 1, 5), dt.date(2026, 1, 11)))
    assert items and all(not isinstance(i, MalformedRecord) for i in items)
    assert all("2026-01-05" <= i["date"] <= "2026-01-11" for i in items)
    papers = [paper_from_dict(i) for i in items]
    assert len({p.key for p in papers}) == len(papers)


def test_unreadable_lines_are_yielded_as_malformed(tmp_path):
    path = tmp_path / "feed.jsonl.gz"
    good = {"arxiv_id": "2601.00001", "version": 1, "title": "T", "abstract": "A", "authors": [],
            "categories": ["cs.SD"], "date": "2026-01-02"}
    with gzip.open(path, "wb") as fh:
        fh.write((json.dumps(good) + "\n").encode())
        fh.write(b"{not json\n")
        fh.write(b"\xff\xfe broken bytes\n")
        fh.write((json.dumps({**good, "date": "2025-01-01"}) + "\n").encode())  # outside window
    items = list(snapshot_records(path, dt.date(2026, 1, 1), dt.date(2026, 1, 31)))
    assert [type(i).__name__ for i in items] == ["dict", "MalformedRecord", "MalformedRecord"]


def test_paper_from_dict_rejects_bad_records():
    base = {"arxiv_id": "2601.00001", "title": "T", "abstract": "A", "date": "2026-01-02"}
    for bad in [{**base, "arxiv_id": None}, {**base, "abstract": "  "}, {**base, "title": "bad \ufffd"},
                {**base, "date": "yesterday"}, {**base, "abstract": "x\ud800"}, "not a dict"]:
        try:
            paper_from_dict(bad)
        except MalformedRecord:
            continue
        raise AssertionError(f"accepted {bad!r}")
    p = paper_from_dict({**base, "arxiv_id": "arXiv:2601.00001v2", "title": "  Two\n  lines "})
    assert (p.arxiv_id, p.version, p.title) == ("2601.00001", 2, "Two lines")
