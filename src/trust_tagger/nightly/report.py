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
from trust_tagger.routing import is_adjacent
from trust_tagger.store.store import Store

# Paper status -> digest section. A rejected paper is "adjacent" when the model judged it relevant
# but not core under ``merge_policy = core`` (``routing.is_adjacent``, the one rule).
SECTION_OF_STATUS = {"accepted": "accepted", "review": "queued"}


def section_of(row, pred) -> str | None:
    """The digest section of a paper: accepted, queued, adjacent, or None (not in the digest)."""
    if row.status in SECTION_OF_STATUS:
        return SECTION_OF_STATUS[row.status]
    if row.status == "rejected" and pred is not None and pred.policy == "core" and is_adjacent(
            {"relevance": pred.relevance, "core": pred.core, "relevance_class": pred.relevance_class}):
        return "adjacent"
    return None


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
        "adjacent": routed.adjacent,
        "merged": len({line for _, line in merged.added}), "merged_lines": list(merged.added),
        "merge_skipped": [f"{key}: {why}" for key, why in merged.skipped],
        "model_version": routed.model_version, "malformed_reasons": fetched.malformed_reasons[:200],
        "complete": fetched.complete, "warnings": list(fetched.warnings),
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
        if r.status not in SECTION_OF_STATUS and r.status != "rejected":
            continue
        pred = store.latest_prediction(r.key)
        section = section_of(r, pred)
        if section is None:
            continue
        labels = list(r.labels or []) if section != "adjacent" else sorted(set(pred.targets or []) | set(pred.labels))
        rows.append({"key": r.key, "arxiv_id": r.arxiv_id, "title": r.title, "abstract": r.abstract,
                     "link": r.link, "authors": list(r.authors or []), "categories": list(r.categories or []),
                     "labels": labels, "section": section,
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
             f"{counts['queued']} queued, {counts['rejected']} rejected"
             + (f" ({counts['adjacent']} of them adjacent: relevant, not core)" if counts.get("adjacent") else "")
             + f", {counts['merged']} line(s) merged."]
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
    rows = digest_rows(store, settings, keys)
    queued = [r for r in rows if r["section"] == "queued"]
    adjacent = [r for r in rows if r["section"] == "adjacent"]
    lines = [f"# trust-tagger run {run_id}", "",
             f"Source `{counts['source']}`, window {counts['since']} .. {counts['until']}, "
             f"model `{counts.get('model_version')}`, {counts['seconds']:.1f} s.", "",
             "| count | value |", "|---|---|"]
    lines += [f"| {k} | {counts[k]} |" for k in COUNT_KEYS]
    if counts.get("warnings") or counts.get("complete") is False:
        lines += ["", "## Warnings", ""]
        if counts.get("complete") is False:
            lines += ["- the source could not confirm it served the whole window: the watermark did not "
                      "move, the next run re-reads it"]
        lines += [f"- {w}" for w in counts.get("warnings", [])]
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
    if counts.get("merge_skipped"):
        lines += ["", "## Accepted papers not merged (their line cannot be written)", ""]
        lines += [f"- {r}" for r in counts["merge_skipped"][:50]]
    if counts.get("malformed_reasons"):
        lines += ["", "## Malformed records (skipped)", ""]
        lines += [f"- {r}" for r in counts["malformed_reasons"][:50]]
    if adjacent:
        lines += ["", f"## Adjacent papers left out by merge_policy=core ({len(adjacent)})", "",
                  "Relevant to trustworthy audio AI but not core (no trust property of an audio LLM or "
                  "foundation model); promote one from the review page's adjacent view.", ""]
        lines += [f"- [{a['title']}]({a['link']}) (P(relevant) {a['relevance']:.2f}, P(core) "
                  f"{(a['core'] or 0):.2f})" for a in sorted(adjacent, key=lambda r: -r["relevance"])]
    lines += ["", f"Digest of accepted, queued and adjacent papers: `{out / 'digest.md'}`"]
    markdown = "\n".join(lines) + "\n"
    atomic_write_text(out / "report.md", markdown)
    return {"dir": str(out), "markdown": markdown, "counts": counts, "digest": digest}


COUNT_KEYS = ["fetched", "new", "updated", "duplicates", "malformed", "already_listed", "classified",
              "accepted", "queued", "rejected", "adjacent", "merged"]


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
