"""The run report and the digest file of a real run (issue 12, item 7): the queued papers are listed
with their review links, the digest has its date heading and separate tables."""

import datetime as dt
import json
from pathlib import Path

from doubles import keyword_steps
from trust_tagger.config import load_settings
from trust_tagger.nightly import run as N
from trust_tagger.store.store import Store

WINDOW = (dt.date(2026, 2, 1), dt.date(2026, 2, 7))


def test_report_lists_the_queued_papers_and_the_review_url(tmp_path, list_copy):
    settings = load_settings(list_dir=list_copy, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                             reports_dir=tmp_path / "reports", review_url="https://review.example.org")
    store = Store(settings.resolved_db_url)
    result = N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps())
    out = Path(result["dir"])
    report = (out / "report.md").read_text()
    queued = store.papers(status="review")
    assert queued and f"## Queued for review ({len(queued)})" in report
    assert "Review page: https://review.example.org/queue" in report
    for paper in queued:
        assert f"[{paper.title}](https://review.example.org/paper/{paper.key})" in report
    digest = (out / "digest.md").read_text()
    assert digest.startswith("# trust-tagger nightly digest — 2026-02-07\n")
    assert digest.index("## Accepted: added to the list") < digest.index("## Queued for review")
    assert digest == result["digest"]
    assert json.loads((out / "report.json").read_text())["queued"] == len(queued)
