"""What a nightly run says afterwards: ``report.json`` (the machine contract), ``report.md`` and the
digest of the window's accepted and queued papers, the same text a pull request and a notification
carry (``digest_text``)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

from trust_tagger.config import Settings
from trust_tagger.files import atomic_write_json, atomic_write_text
from trust_tagger.nightly.steps import FetchResult, RouteResult
from trust_tagger.store.store import Store

# Paper status -> digest section. "adjacent" is the status a merge policy may give papers judged
# relevant but not core to the list; a store without it simply has no such papers.
SECTION_OF_STATUS = {"accepted": "accepted", "review": "queued", "adjacent": "adjacent"}


def new_run_id(source: str, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now()
    return f"{now:%Y%m%dT%H%M%S%f}-{source}"


def run_counts(fetched: FetchResult, routed: RouteResult, merged, source: str,
               since: dt.date, until: dt.date, seconds: float, delivery: dict | None = None) -> dict:
    """The report.json contract: counts of every step plus what was merged where (and, when the
    night's lines went out as a pull request, its branch and URL)."""
    return {
        "source": source, "since": since.isoformat(), "until": until.isoformat(),
        "fetched": fetched.fetched, "new": fetched.new, "updated": fetched.updated,
        "duplicates": fetched.duplicates, "malformed": fetched.malformed,
        "already_listed": fetched.already_listed, "classified": routed.classified,
        "accepted": routed.accepted, "queued": routed.queued, "rejected": routed.rejected,
        "merged": len({line for _, line in merged.added}), "merged_lines": list(merged.added),
        "model_version": routed.model_version, "malformed_reasons": fetched.malformed_reasons[:200],
        "seconds": round(seconds, 3), **(delivery or {}),
    }


def review_link(settings: Settings, key: str) -> str:
    """The paper's page on the review site, or "" when no ``review_url`` is configured."""
    if not settings.review_url:
        return ""
    from trust_tagger.review.web import paper_url

    return settings.review_url.rstrip("/") + paper_url(key)


def digest_rows(store: Store, settings: Settings, keys: Iterable[str], merged_keys: Iterable[str] = ()) -> list[dict]:
    """The digest's rows: the window's accepted, queued (and adjacent) papers, plus any paper merged
    this run (a maintainer may have accepted it from an earlier window). Tolerates predictions with
    or without a ``core`` score."""
    wanted = list(dict.fromkeys([*keys, *merged_keys]))
    rows = []
    for r in store.papers(keys=wanted):
        section = SECTION_OF_STATUS.get(r.status)
        if section is None:
            continue
        pred = store.latest_prediction(r.key)
        rows.append({"key": r.key, "arxiv_id": r.arxiv_id, "title": r.title, "abstract": r.abstract,
                     "link": r.link, "authors": list(r.authors or []), "categories": list(r.categories or []),
                     "labels": list(r.labels or []), "section": section,
                     "relevance": pred.relevance if pred else 0.0, "core": getattr(pred, "core", None),
                     "review_link": review_link(settings, r.key) if section == "queued" else "",
                     "date": r.date})
    return rows


def digest_text(store: Store, settings: Settings, counts: dict, keys: Iterable[str],
                merged_keys: Iterable[str] = ()) -> str:
    """The night's digest: date heading, window and failures as notes, papers by section."""
    from trust_tagger.nightly.digest import render_digest

    notes = [f"Window {counts['since']} .. {counts['until']} from `{counts['source']}`: "
             f"{counts['fetched']} fetched, {counts['classified']} classified, {counts['accepted']} accepted, "
             f"{counts['queued']} queued, {counts['rejected']} rejected, {counts['merged']} line(s) merged."]
    if counts.get("malformed"):
        notes.append(f"Failures: {counts['malformed']} malformed record(s) skipped, e.g. "
                     f"{counts['malformed_reasons'][0]}" if counts.get("malformed_reasons") else
                     f"Failures: {counts['malformed']} malformed record(s) skipped.")
    if counts.get("pull_request"):
        notes.append(f"Pull request: {counts['pull_request']}")
    return render_digest(digest_rows(store, settings, keys, merged_keys), "trust-tagger nightly digest",
                         date=counts["until"], notes=notes, review_url=settings.review_url)


def finish_report(store: Store, settings: Settings, run_id: str, counts: dict, keys: list[str],
                  merged_keys: Iterable[str] = ()) -> dict:
    """Write report.json (the machine contract), report.md and the digest of this window's papers."""
    counts = {**counts, "run_id": run_id}
    out = settings.path(settings.reports_dir) / run_id
    atomic_write_json(out / "report.json", counts)
    digest = digest_text(store, settings, counts, keys, merged_keys)
    atomic_write_text(out / "digest.md", digest)
    queued = [r for r in digest_rows(store, settings, keys) if r["section"] == "queued"]
    lines = [f"# trust-tagger run {run_id}", "",
             f"Source `{counts['source']}`, window {counts['since']} .. {counts['until']}, "
             f"model `{counts.get('model_version')}`, {counts['seconds']:.1f} s.", "",
             "| count | value |", "|---|---|"]
    lines += [f"| {k} | {counts[k]} |" for k in COUNT_KEYS]
    if counts.get("pull_request"):
        lines += ["", f"Pull request: {counts['pull_request']} (branch `{counts.get('branch')}`)"]
    if counts.get("merged_lines"):
        lines += ["", "## Lines merged into the list", ""]
        lines += [f"- `{f}`: `{line.strip()}`" for f, line in counts["merged_lines"]]
    if queued:
        lines += ["", f"## Queued for review ({len(queued)})", ""]
        if settings.review_url:
            lines += [f"Review page: {settings.review_url.rstrip('/')}/queue", ""]
        lines += [f"- [{r['title']}]({r['review_link'] or r['link']}) — relevance {r['relevance']:.2f}"
                  for r in sorted(queued, key=lambda r: -r["relevance"])]
    if counts.get("malformed_reasons"):
        lines += ["", "## Malformed records (skipped)", ""]
        lines += [f"- {r}" for r in counts["malformed_reasons"][:50]]
    lines += ["", f"Digest of accepted and queued papers: `{out / 'digest.md'}`"]
    markdown = "\n".join(lines) + "\n"
    atomic_write_text(out / "report.md", markdown)
    return {"dir": str(out), "markdown": markdown, "counts": counts, "digest": digest}


COUNT_KEYS = ["fetched", "new", "updated", "duplicates", "malformed", "already_listed", "classified",
              "accepted", "queued", "rejected", "merged"]


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
