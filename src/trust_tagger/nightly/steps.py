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
from trust_tagger.ingest.records import MalformedRecord, paper_from_dict
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
    malformed_reasons: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # papers of this window that still need a decision


def resolve_window(store: Store, source: str, since: dt.date | None, until: dt.date | None,
                   today: dt.date | None = None, overlap_days: int = 0) -> tuple[dt.date, dt.date]:
    """Default window: from the last successful run's end up to today, so a missed night is caught up.

    ``overlap_days`` re-reads the last days before the watermark: arXiv lists papers a day or two
    after their submission date, and re-reading is free because ingest is idempotent.
    """
    until = until or today or dt.date.today()
    if since is None:
        mark = store.get_meta(WATERMARK.format(source=source))
        since = (dt.date.fromisoformat(mark) + dt.timedelta(days=1 - overlap_days) if mark
                 else until - dt.timedelta(days=1))
    if since > until:
        raise ValueError(f"empty window: since {since} is after until {until}")
    return since, until


def ingest(store: Store, items: Iterable[dict | MalformedRecord], source: str,
           listed_keys: set[str]) -> FetchResult:
    """Validate and store every record; bad ones are counted with their reason and skipped."""
    result = FetchResult()
    seen: set[str] = set()
    for item in items:
        result.fetched += 1
        try:
            if isinstance(item, MalformedRecord):
                raise item
            paper = paper_from_dict(item)
        except MalformedRecord as exc:
            result.malformed += 1
            result.malformed_reasons.append(str(exc))
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
            else:
                store.set_status(row.key, "review", labels=targets, decided_by=f"model:{model_version}")
                store.enqueue(row.key, stored.id, priority(pred))
                result.queued += 1
    return result


PublishFn = Callable[..., object]


def merge_accepted(store: Store, settings: Settings, dry_run: bool = False, publish: PublishFn | None = None):
    """Bring the list in line with the store: write accepted papers not yet merged, and undo
    earlier merges a maintainer has since corrected (rejected, or filed elsewhere).

    The list itself is the source of truth for "already there", so a crash between the write
    and the bookkeeping converges on the next run. ``publish(result, written_keys)`` runs between
    the two (commit, push, pull request: ``delivery.publish``): when it raises, nothing is recorded as
    merged, so the next run proposes the same papers again.
    """
    from trust_tagger.listfile.merge import MergeItem, merge_papers
    from trust_tagger.listfile.parse import target_file

    items, remove, done = [], {}, {}
    for row in store.pending_list_changes():
        wanted = [target_file(t) for t in row.labels] if row.status == "accepted" else []
        stale = set(row.merged_files) - set(wanted)
        if stale:
            remove[row.key] = stale
        if wanted:
            items.append(MergeItem(key=row.key, title=row.title, link=row.link,
                                   date=dt.date.fromisoformat(row.date), targets=list(row.labels)))
        done[row.key] = wanted
    result = merge_papers(settings.path(settings.list_dir), items,
                          default_style=settings.default_entry_format, dry_run=dry_run, remove=remove)
    if not dry_run and done:
        written: dict[str, list[str]] = {k: [] for k in done}
        for item in items:
            if item.key not in result.already_listed:
                written[item.key] = [target_file(t) for t in item.targets]
        if publish is not None and result.changed_files:
            publish(result, [k for k, files in written.items() if files])
        store.mark_merged(list(done), written)
    return result
