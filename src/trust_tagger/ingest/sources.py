"""Where papers come from: the live arXiv API or the bundled snapshot (the offline default).

Both yield raw dicts for the same downstream path (``records.paper_from_dict``), so the
snapshot exercises exactly the code that a live night would. Lines that cannot even be read
are yielded as :class:`MalformedRecord` instances, to be counted rather than crash the run.

The nightly reads a source through :func:`feed_for`: every item comes with where it was read
(``path:line`` of the snapshot, ``arXiv entry N (id)`` of the API), so a skipped record is reported
with its location, and a :class:`FeedStatus` says afterwards whether the window was read
completely (only then may the watermark move) and what looked wrong on the way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from trust_tagger.config import Settings
from trust_tagger.files import BadLine, iter_jsonl
from trust_tagger.ingest.records import FeedStatus, MalformedRecord

RawItem = dict | MalformedRecord


class FeedItem(NamedTuple):
    """One raw item and where it was read, for the malformed-record report."""

    where: str
    raw: RawItem


def read_feed_located(path: Path) -> Iterator[FeedItem]:
    """Every line of a feed file (jsonl or jsonl.gz) with its ``path:line``; unreadable lines come
    out as MalformedRecord."""
    if not Path(path).exists():
        raise FileNotFoundError(f"snapshot feed not found: {path}")
    for n, item in iter_jsonl(path):
        if isinstance(item, BadLine):
            yield FeedItem(item.where, MalformedRecord(item.reason))
        else:
            yield FeedItem(f"{path}:{n}", item)


def read_feed(path: Path) -> Iterator[RawItem]:
    """Every line of a feed file; unreadable lines come out as MalformedRecord (with their location)."""
    for where, raw in read_feed_located(path):
        yield MalformedRecord(f"{where}: {raw}") if isinstance(raw, MalformedRecord) else raw


def _listing_day(raw: RawItem) -> str | None:
    """The record's day as YYYY-MM-DD, or None when it has no usable date (the validator reports it)."""
    date = raw.get("date") if isinstance(raw, dict) else None
    if not isinstance(date, str):
        return None
    try:
        return dt.date.fromisoformat(date[:10]).isoformat()
    except ValueError:
        return None


def snapshot_feed(path: Path, since: dt.date, until: dt.date,
                  status: FeedStatus | None = None) -> Iterator[FeedItem]:
    """Replay the snapshot's papers listed in [since, until], as if the API had returned them.

    Lines that cannot be read, or whose date cannot be read, are yielded too (whatever their day
    would have been): skipping them silently as "outside the window" would hide them."""
    lo, hi = since.isoformat(), until.isoformat()
    for where, raw in read_feed_located(path):
        day = _listing_day(raw)
        if day is None or lo <= day <= hi:
            yield FeedItem(where, raw)
    if status is not None:
        status.complete = True


def snapshot_records(path: Path, since: dt.date, until: dt.date) -> Iterator[RawItem]:
    for _, raw in snapshot_feed(path, since, until):
        yield raw


def arxiv_feed(settings: Settings, since: dt.date, until: dt.date,
               status: FeedStatus | None = None) -> Iterator[FeedItem]:
    from trust_tagger.ingest.arxiv import ArxivClient

    for n, raw in enumerate(ArxivClient.from_settings(settings).fetch(since, until, status=status), 1):
        yield FeedItem(f"arXiv entry {n} ({raw.get('arxiv_id') or 'no id'})", raw)


def feed_for(source: str, settings: Settings, since: dt.date, until: dt.date,
             status: FeedStatus | None = None) -> Iterator[FeedItem]:
    if source == "snapshot":
        return snapshot_feed(settings.path(settings.snapshot_path), since, until, status)
    if source == "arxiv":
        return arxiv_feed(settings, since, until, status)
    raise ValueError(f"unknown source {source!r}: use 'snapshot' or 'arxiv'")


def records_for(source: str, settings: Settings, since: dt.date, until: dt.date) -> Iterator[RawItem]:
    """The raw items of :func:`feed_for`, without their locations."""
    return (raw for _, raw in feed_for(source, settings, since, until))
