"""Where papers come from: the live arXiv API or the bundled snapshot (the offline default).

Both yield raw dicts for the same downstream path (``records.paper_from_dict``), so the
snapshot exercises exactly the code that a live night would. Lines that cannot even be read
are yielded as :class:`MalformedRecord` instances, to be counted rather than crash the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from trust_tagger.config import Settings
from trust_tagger.files import BadLine, iter_jsonl
from trust_tagger.ingest.records import MalformedRecord

RawItem = dict | MalformedRecord


def read_feed(path: Path) -> Iterator[RawItem]:
    """Every line of a feed file (jsonl or jsonl.gz); unreadable lines come out as MalformedRecord."""
    if not Path(path).exists():
        raise FileNotFoundError(f"snapshot feed not found: {path}")
    for _, item in iter_jsonl(path):
        yield MalformedRecord(str(item)) if isinstance(item, BadLine) else item


def snapshot_records(path: Path, since: dt.date, until: dt.date) -> Iterator[RawItem]:
    """Replay the snapshot's papers listed in [since, until], as if the API had returned them."""
    lo, hi = since.isoformat(), until.isoformat()
    for n, raw in enumerate(read_feed(path), 1):
        if isinstance(raw, MalformedRecord):
            yield raw
            continue
        date = str(raw.get("date", ""))[:10] if isinstance(raw, dict) else ""
        if not date:
            yield MalformedRecord(f"{path}: record {n}: no date")
        elif lo <= date <= hi:
            yield raw


def arxiv_records(settings: Settings, since: dt.date, until: dt.date) -> Iterator[RawItem]:
    from trust_tagger.ingest.arxiv import ArxivClient

    yield from ArxivClient.from_settings(settings).fetch(since, until)


def records_for(source: str, settings: Settings, since: dt.date, until: dt.date) -> Iterator[RawItem]:
    if source == "snapshot":
        return snapshot_records(settings.path(settings.snapshot_path), since, until)
    if source == "arxiv":
        return arxiv_records(settings, since, until)
    raise ValueError(f"unknown source {source!r}: use 'snapshot' or 'arxiv'")
