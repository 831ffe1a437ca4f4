"""The nightly job as plain functions: fetch → store → classify → route → merge → report.

Prefect tasks in ``flows/nightly.py`` wrap these one to one, so everything here is tested
without Prefect. Each step is idempotent on the store: re-running a window converges on the
same state instead of duplicating rows or list lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rich.progress import track

from trust_tagger.config import Settings
from trust_tagger.errors import UserError
from trust_tagger.ingest.records import MalformedRecord, paper_from_dict
from trust_tagger.ingest.sources import FeedItem, RawItem
from trust_tagger.routing import is_adjacent
from trust_tagger.store.schema import PaperRow
from trust_tagger.store.store import Store

ClassifyFn = Callable[[list[dict]], list[dict]]
PriorityFn = Callable[[dict], float]
WATERMARK = "watermark:{source}"


@dataclass
class FetchResult:
    fetched: int = 0
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    malformed: int = 0
    already_listed: int = 0
    malformed_reasons: list[str] = field(default_factory=list)  # "where: why", one per skipped record
    keys: list[str] = field(default_factory=list)  # papers of this window that still need a decision
    complete: bool = True  # False: the source could not confirm it served the whole window
    warnings: list[str] = field(default_factory=list)  # what looked wrong in the source (report)


class WindowError(UserError, ValueError):
    """A date window with nothing in it (since after until): the user asked for an impossible run."""


def resolve_window(store: Store, source: str, since: dt.date | None, until: dt.date | None,
                   today: dt.date | None = None, overlap_days: int = 0) -> tuple[dt.date, dt.date]:
    """Default window: from the last successful run's end up to today, so a missed night is caught up.

    ``overlap_days`` re-reads the last days before the watermark: arXiv lists papers a day or two
    after their submission date, and re-reading is free because ingest is idempotent.
    """
    until = until or today or dt.date.today()
    explicit_since, mark = since is not None, None
    if since is None:
        mark = store.get_meta(WATERMARK.format(source=source))
        since = (dt.date.fromisoformat(mark) + dt.timedelta(days=1 - overlap_days) if mark
                 else until - dt.timedelta(days=1))
    if since > until:
        if mark and not explicit_since:
            raise WindowError(f"empty date window: the last complete run reached {mark}, after --until {until}; "
                              f"give --until after {mark} or an explicit --since")
        raise WindowError(f"empty date window: --since {since} is after --until {until}; "
                          "give --since on or before --until")
    return since, until


def ingest(store: Store, items: Iterable[FeedItem | RawItem], source: str,
           listed_keys: set[str]) -> FetchResult:
    """Validate and store every record; bad ones are counted with their location and reason, and skipped.

    ``items`` are :class:`FeedItem` (where, raw) pairs as :func:`sources.feed_for` yields them; a bare
    raw item (a list built in memory) is located by its position."""
    result = FetchResult()
    seen: set[str] = set()
    for n, entry in enumerate(items, 1):
        where, item = entry if isinstance(entry, FeedItem) else (f"record {n}", entry)
        result.fetched += 1
        try:
            if isinstance(item, MalformedRecord):
                raise item
            paper = paper_from_dict(item)
        except MalformedRecord as exc:
            result.malformed += 1
            result.malformed_reasons.append(f"{where}: {exc}")
            continue
        counter = {"new": "new", "updated": "updated", "duplicate": "duplicates"}[store.upsert_paper(paper, source)]
        setattr(result, counter, getattr(result, counter) + 1)
        if paper.key in listed_keys:
            # On the list already: by our own merge (keep the decision, it is a label) or by hand.
            # A paper waiting for review stays there: the reviewer sees the list entry as a near-duplicate.
            if store.get_paper(paper.key).status not in ("listed", "accepted", "review"):
                store.set_status(paper.key, "listed", decided_by="list")
                store.mark_merged([paper.key], {paper.key: []})
            result.already_listed += 1
            continue
        if paper.key not in seen:
            seen.add(paper.key)
            result.keys.append(paper.key)
    return result


def needs_decision(row: PaperRow, model_version: str, store: Store) -> bool:
    """A maintainer's decision is final; the model re-decides only papers it has not seen in this version."""
    if row.status == "listed" or (row.decided_by or "").startswith("reviewer:"):
        return False
    return not store.has_prediction(row.key, model_version, row.version)


@dataclass
class RouteResult:
    classified: int = 0
    accepted: int = 0
    queued: int = 0
    rejected: int = 0
    adjacent: int = 0  # of the rejected: relevant but not core, left off the list by merge_policy=core
    model_version: str = ""


def classify_and_route(store: Store, keys: list[str], classify: ClassifyFn, model_version: str,
                       priority: PriorityFn, batch_size: int = 256) -> RouteResult:
    """Score undecided papers, store every prediction, and act on the model's decision."""
    result = RouteResult(model_version=model_version)
    rows = [r for r in store.papers(keys=keys) if needs_decision(r, model_version, store)]
    starts = range(0, len(rows), batch_size)
    for start in track(starts, description=f"classifying {len(rows)} papers", total=len(starts),
                       disable=len(starts) < 2):
        batch = rows[start:start + batch_size]
        records = [{"arxiv_id": r.arxiv_id, "title": r.title, "abstract": r.abstract,
                    "categories": r.categories} for r in batch]
        for row, pred in zip(batch, classify(records), strict=True):
            result.classified += 1
            stored = store.add_prediction(row.key, pred, row.version)
            decision = pred["decision"]
            targets = list(pred.get("targets", []))
            if decision == "accept" and not targets:
                decision = "review"  # nowhere to file it: a maintainer must choose
            if decision == "accept":
                store.set_status(row.key, "accepted", labels=targets, relevance=pred["relevance_class"],
                                 decided_by=f"model:{model_version}")
                result.accepted += 1
            elif decision == "reject":
                store.set_status(row.key, "rejected", labels=[], relevance=0, decided_by=f"model:{model_version}")
                result.rejected += 1
                result.adjacent += pred.get("policy") == "core" and is_adjacent(pred)
            else:
                store.set_status(row.key, "review", labels=targets, decided_by=f"model:{model_version}")
                store.enqueue(row.key, stored.id, priority(pred))
                result.queued += 1
    return result


PublishFn = Callable[..., object]


def merge_accepted(store: Store, settings: Settings, dry_run: bool = False,
                   notify: Callable[[str], None] | None = None, publish: PublishFn | None = None,
                   proposed_once: bool = False):
    """Bring the list in line with the store: every accepted paper into each file it is filed to that
    lacks it, and earlier merges a maintainer has since corrected (rejected, filed elsewhere) undone.

    The list is the source of truth per file and the store's merged flag is derived from it, so a run
    killed between two files, or between the write and the bookkeeping, converges on the next run, and
    a maintainer's checkout reset to before a merge gets its lines back. Reading the store, writing the
    list and recording what the list now holds happen under the list's lock: two merges queue.

    ``publish(result, written_keys)`` runs between the write and the bookkeeping, under the lock
    (commit, push, pull request: ``delivery.publish``): when it raises, nothing is recorded as merged,
    so the next run proposes the same papers again. ``proposed_once`` (pull-request mode): the base
    branch lacks a proposed line until the maintainers merge its pull request, so a paper recorded as
    merged is not proposed again; removals of corrected papers still apply.
    """
    from trust_tagger.listfile.guard import list_writer
    from trust_tagger.listfile.merge import MergeItem, merge_papers
    from trust_tagger.listfile.parse import target_file

    timeout = settings.list_lock_timeout_seconds
    with list_writer(settings.path(settings.list_dir), timeout, notify) as list_dir:
        items, remove, keys = [], {}, []
        for row in store.papers_for_the_list():
            if proposed_once and row.status == "accepted" and row.merged_at is not None:
                continue
            wanted = [target_file(t) for t in row.labels] if row.status == "accepted" else []
            stale = set(row.merged_files) - set(wanted)
            if stale:
                remove[row.key] = stale
            if wanted:
                items.append(MergeItem(key=row.key, title=row.title, link=row.link,
                                       date=dt.date.fromisoformat(row.date), targets=list(row.labels)))
            keys.append(row.key)
        result = merge_papers(list_dir, items, default_style=settings.default_entry_format, dry_run=dry_run,
                              remove=remove, lock_timeout=timeout, notify=notify)
        if not dry_run and keys:
            skipped = [key for key, _ in result.skipped]
            if publish is not None and result.changed_files:
                publish(result, [it.key for it in items
                                 if it.key not in result.already_listed and it.key not in skipped])
            store.mark_merged([k for k in keys if k not in skipped],
                              {k: result.placed.get(k, []) for k in keys}, unmerged=skipped)
    return result
