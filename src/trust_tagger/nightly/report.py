"""What a nightly run says afterwards: ``report.json`` (the machine contract), ``report.md`` and the
digest of the window's accepted and queued papers."""

from __future__ import annotations

import datetime as dt
import time

from trust_tagger.config import Settings
from trust_tagger.files import atomic_write_json, atomic_write_text
from trust_tagger.nightly.steps import FetchResult, RouteResult
from trust_tagger.routing import is_adjacent
from trust_tagger.store.store import Store


def new_run_id(source: str, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now()
    return f"{now:%Y%m%dT%H%M%S%f}-{source}"


def run_counts(fetched: FetchResult, routed: RouteResult, merged, source: str,
               since: dt.date, until: dt.date, seconds: float) -> dict:
    """The report.json contract: counts of every step plus what was merged where."""
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
        "seconds": round(seconds, 3),
    }


def finish_report(store: Store, settings: Settings, run_id: str, counts: dict, keys: list[str]) -> dict:
    """Write report.json (the machine contract), report.md and the digest of this window's papers."""
    from trust_tagger.nightly.digest import write_digest

    counts = {**counts, "run_id": run_id}
    out = settings.path(settings.reports_dir) / run_id
    atomic_write_json(out / "report.json", counts)
    rows = sorted((r for r in store.papers(keys=keys) if r.status in ("accepted", "review")),
                  key=lambda r: (r.status != "accepted", r.date))
    digest = []
    for r in rows:
        pred = store.latest_prediction(r.key)
        digest.append({"arxiv_id": r.arxiv_id, "title": r.title, "abstract": r.abstract, "link": r.link,
                       "labels": list(r.labels) + ([] if r.status == "accepted" else ["(in review)"]),
                       "relevance": pred.relevance if pred else 0.0})
    adjacent = []
    for r in store.papers(keys=keys, status="rejected"):
        pred = store.latest_prediction(r.key)
        if pred is not None and pred.policy == "core" and is_adjacent(
                {"relevance": pred.relevance, "core": pred.core, "relevance_class": pred.relevance_class}):
            adjacent.append({"arxiv_id": r.arxiv_id, "title": r.title, "abstract": r.abstract, "link": r.link,
                             "labels": sorted({t.split("/")[0] for t in pred.targets} | set(pred.labels)),
                             "relevance": pred.relevance, "core": pred.core})
    write_digest(out / "digest.md", digest, adjacent=adjacent)
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
    if counts.get("merged_lines"):
        lines += ["", "## Lines merged into the list", ""]
        lines += [f"- `{f}`: `{line.strip()}`" for f, line in counts["merged_lines"]]
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
                  f"{(a['core'] or 0):.2f})" for a in adjacent]
    lines += ["", f"Digest of accepted, queued and adjacent papers: `{out / 'digest.md'}`"]
    markdown = "\n".join(lines) + "\n"
    atomic_write_text(out / "report.md", markdown)
    return {"dir": str(out), "markdown": markdown, "counts": counts}


COUNT_KEYS = ["fetched", "new", "updated", "duplicates", "malformed", "already_listed", "classified",
              "accepted", "queued", "rejected", "adjacent", "merged"]


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
