"""The feed under attack: a lying arXiv and poisoned lines, written to the
``## Feed: a lying arXiv and poisoned lines`` section of benchmarks/RELIABILITY.md.

1. Each fault scenario is served by the fault-injecting fake arXiv (``tests/arxiv_server.py``, in this
   process, on a free loopback port, small delays) and read by the real nightly lifecycle
   (``run_nightly``: fetch → store → report → watermark; classification is left out, it is not what is
   measured). Per scenario: papers served, stored, lost (served but not stored: must be 0), yielded
   twice by the client, whether the run ended, whether the window counted as complete (only then does
   the watermark move), and the warnings the report carries. A run the fake makes fail (a Retry-After
   past the wait budget) must keep the watermark; the next night, with the fault gone, must lose nothing.
2. Every line of ``tests/poisoned_lines.py`` is fed, between two good lines, to
   ``trust-tagger nightly --no-prefect --source snapshot`` and to ``trust-tagger classify`` (in process,
   through the real CLI). A crash is a non-zero exit, a traceback, a poisoned line not reported with its
   line number, or a good line not processed: must be 0. The model is the registry's current one when
   there is one, else the tiny test model (trained once, ~30 s).

Usage: python benchmarks/reliability_feed.py [--papers 45]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "tests")]
os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

from _results import replace_section  # noqa: E402

from arxiv_server import ArxivStubServer, Fault, paper  # noqa: E402
from poisoned_lines import POISON  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RELIABILITY.md"
SECTION = "## Feed: a lying arXiv and poisoned lines"
JUNE = (dt.date(2025, 6, 1), dt.date(2025, 6, 30))
PAGE = 10


@dataclasses.dataclass
class Scenario:
    name: str
    total: int | None = None  # the totalResults the fake reports (None: the truth)
    faults: list[tuple[int | None, list[Fault]]] = dataclasses.field(default_factory=list)
    settings: dict = dataclasses.field(default_factory=dict)
    expect_failure: bool = False


def scenarios(n: int) -> list[Scenario]:
    return [
        Scenario("honest server"),
        Scenario("totalResults too low (2/3 of the papers)", total=n * 2 // 3),
        Scenario("totalResults too high (+15, fewer entries exist)", total=n + 15),
        Scenario("first page: 0 results, once", faults=[(0, [Fault.zero_results()])]),
        Scenario("first page: 0 results, every time", faults=[(0, [Fault.zero_results()] * 10)]),
        Scenario("pages repeating entries (3 at start=10, 5 at start=20)",
                 faults=[(PAGE, [Fault.repeat(3)]), (2 * PAGE, [Fault.repeat(5)])]),
        Scenario("empty page mid-paging, twice", faults=[(2 * PAGE, [Fault.empty_page(), Fault.empty_page()])]),
        Scenario("503 Retry-After 0, 500, truncated XML, dropped connection",
                 faults=[(PAGE, [Fault.http(503, retry_after="0"), Fault.http(500)]), (2 * PAGE, [Fault.malformed()]),
                         (3 * PAGE, [Fault.disconnect()])]),
        Scenario("one byte every 50 ms (deadline 0.5 s)", faults=[(PAGE, [Fault.trickle(0.05)])],
                 settings={"arxiv_timeout_seconds": 0.5}),
        Scenario("Retry-After: 86400 (wait budget 60 s)", faults=[(PAGE, [Fault.http(503, retry_after="86400")])],
                 settings={"arxiv_max_wait_seconds": 60.0}, expect_failure=True),
    ]


def _no_classify(fn, *args, **kwargs):
    """Run the nightly's steps as they are, except the model: this measures the feed, not the classifier."""
    from trust_tagger.nightly import run as N
    from trust_tagger.nightly.steps import RouteResult

    return RouteResult(model_version="none") if fn is N.classify_route else fn(*args, **kwargs)


def _night(settings, store, served: list[dict], sc: Scenario | None) -> tuple[dict | None, str, set[str], int]:
    """One nightly run against the fake (``sc`` None: an honest server): counts or the error, ids served, requests."""
    from trust_tagger.nightly import run as N

    with ArxivStubServer(served, total=sc.total if sc else None) as server:
        for start, faults in (sc.faults if sc else []):
            server.script(start, *faults)
        try:
            counts = N.run_nightly(dataclasses.replace(settings, arxiv_base_url=server.url), store, source="arxiv",
                                   since=JUNE[0], until=JUNE[1], run_step=_no_classify)["counts"]
            error = ""
        except Exception as exc:  # noqa: BLE001 - a failure is a measured outcome here
            counts, error = None, f"{type(exc).__name__}: {' '.join(str(exc).split())[:70]}..."
        return counts, error, set(server.served_ids), len(server.requests)


def run_scenario(i: int, sc: Scenario, n: int, work: Path) -> dict:
    from trust_tagger.config import load_settings
    from trust_tagger.nightly.steps import WATERMARK
    from trust_tagger.store.store import Store

    papers = [paper(k) for k in range(n)]
    fast = {"arxiv_delay_seconds": 0.0, "arxiv_backoff_seconds": 0.01, "arxiv_page_size": PAGE,
            "arxiv_timeout_seconds": 5.0}
    settings = dataclasses.replace(load_settings(list_dir=work / "list", reports_dir=work / "reports",
                                                 db_url=f"sqlite:///{work / f'scenario{i}.db'}"),
                                   **{**fast, **sc.settings})
    store = Store(settings.resolved_db_url)
    mark = WATERMARK.format(source="arxiv")
    store.set_meta(mark, "2025-05-31")
    started = time.perf_counter()
    counts, error, served, requests = _night(settings, store, papers, sc)
    stored = {p.arxiv_id for p in store.papers()}
    row = {"scenario": sc.name, "served": len(served), "stored": len(stored), "lost": len(served - stored),
           "extra": len(stored - {p["id"] for p in papers}), "twice": counts["duplicates"] if counts else 0,
           "requests": requests, "complete": counts.get("complete") if counts else "failed",
           "watermark_moved": store.get_meta(mark) != "2025-05-31",
           "warnings": "; ".join(counts.get("warnings", [])) if counts else error,
           "seconds": round(time.perf_counter() - started, 2), "next_night": ""}
    if not row["watermark_moved"]:  # the next night, the fault gone, must catch up on the whole window
        _night(settings, store, papers, None)
        missing = len({p["id"] for p in papers} - {p.arxiv_id for p in store.papers()})
        row["next_night"] = f"{missing} of {n} missing, watermark {'moved' if store.get_meta(mark) != '2025-05-31' else 'kept'}"
    return row


# -- poisoned lines through the two CLI verbs ----------------------------------------------------------

GOOD = [
    {"arxiv_id": "2602.80001", "version": 1, "title": "Jailbreaking audio language models with songs",
     "abstract": "We jailbreak audio language models with sung prompts.", "authors": ["A. Author"],
     "categories": ["cs.SD"], "date": "2026-02-03"},
    {"arxiv_id": "2602.80002", "version": 1, "title": "Detecting speech deepfakes in the wild",
     "abstract": "A countermeasure for spoofed speech.", "authors": ["B. Author"], "categories": ["eess.AS"],
     "date": "2026-02-04"},
]


def _model_home(work: Path) -> tuple[Path, str]:
    """A project home with the list, a store and a current model: the registry's, else the tiny test model."""
    from trust_tagger.config import load_settings
    from trust_tagger.model import registry

    home = work / "home"
    shutil.copytree(ROOT / "data" / "awesome-list", home / "data" / "awesome-list")
    (home / "data" / "raw").mkdir(parents=True)
    project = load_settings()
    if registry.current(project):
        shutil.copytree(project.path(project.model_dir), home / "models", ignore=shutil.ignore_patterns(".registry.lock"))
        return home, f"the registry's current model ({registry.current(project)})"
    from _tiny_model import trained_tiny_model

    shutil.copytree(trained_tiny_model(str(work / "tiny")), home / "models" / "v1")
    registry.register(home / "models" / "v1", dataclasses.replace(project, root=home, model_dir=Path("models")))
    return home, "the tiny test model (no current model in models/)"


def _reported(output: str, line_no: int, reason: str) -> bool:
    return f"{line_no}: {reason}" in " ".join(output.split()) or f"{line_no}: " in output and reason in output


def try_poison(work: Path) -> tuple[list[dict], str]:
    from typer.testing import CliRunner

    from trust_tagger.cli import app

    home, model = _model_home(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUST_TAGGER_")}
    rows = []
    for i, (name, line, reason) in enumerate(POISON):
        feed = home / "data" / "raw" / f"poison{i}.jsonl"
        feed.write_bytes(b"\n".join([json.dumps(GOOD[0]).encode(), line, json.dumps(GOOD[1]).encode()]) + b"\n")
        row = {"line": name, "nightly": "", "classify": ""}
        with _env({**env, "TRUST_TAGGER_HOME": str(home), "TRUST_TAGGER_SNAPSHOT_PATH": str(feed)}):
            res = CliRunner().invoke(app, ["nightly", "--no-prefect", "--source", "snapshot", "--since", "2026-02-01",
                                           "--until", "2026-02-07", "--db", f"sqlite:///{home / f'n{i}.db'}"])
            report = None
            if res.exit_code == 0:
                report = json.loads(sorted((home / "reports").glob("*/report.json"))[-1].read_text())
            ok = (res.exception is None and report is not None and report["malformed"] == 1
                  and report["malformed_reasons"][0].startswith(f"{feed}:2: ") and reason in report["malformed_reasons"][0]
                  and report["new"] + report["duplicates"] == 2)
            row["nightly"] = "skipped, reported" if ok else f"CRASH ({res.exit_code}: {str(res.exception)[:60]})"
            out = home / f"pred{i}.jsonl"
            res = CliRunner().invoke(app, ["classify", "--input", str(feed), "--output", str(out)])
            ok = (res.exit_code == 0 and res.exception is None and "skipped 1 malformed" in res.output
                  and _reported(res.output, 2, reason) and len(out.read_text().splitlines()) == 2)
            row["classify"] = "skipped, reported" if ok else f"CRASH ({res.exit_code}: {str(res.exception)[:60]})"
        row["reason"] = reason
        rows.append(row)
        shutil.rmtree(home / "reports", ignore_errors=True)
    return rows, model


class _env:
    def __init__(self, env: dict):
        self.env, self.saved = env, None

    def __enter__(self):
        self.saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)

    def __exit__(self, *exc):
        os.environ.clear()
        os.environ.update(self.saved)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--papers", type=int, default=45)
    args = ap.parse_args()
    logging.getLogger("trust_tagger.ingest.arxiv").setLevel(logging.ERROR)  # the retries are counted, not shown
    work = Path(tempfile.mkdtemp(prefix="reliability-feed-"))
    shutil.copytree(ROOT / "data" / "awesome-list", work / "list")
    t0 = time.perf_counter()
    feed_rows = [run_scenario(i, sc, args.papers, work) for i, sc in enumerate(scenarios(args.papers))]
    for r in feed_rows:
        print(f"{r['scenario']:58} served {r['served']:3} stored {r['stored']:3} lost {r['lost']} twice {r['twice']} "
              f"complete {r['complete']} watermark moved {r['watermark_moved']} {r['next_night']}")
    poison_rows, model = try_poison(work)
    for r in poison_rows:
        print(f"{r['line']:40} nightly: {r['nightly']:20} classify: {r['classify']}")
    seconds = time.perf_counter() - t0

    lost = sum(r["lost"] for r in feed_rows)
    dup = sum(r["twice"] + r["extra"] for r in feed_rows)
    crashes = sum(("CRASH" in r["nightly"]) + ("CRASH" in r["classify"]) for r in poison_rows)
    lines = [SECTION, "",
             f"`python benchmarks/reliability_feed.py` ({dt.date.today()}, Python {platform.python_version()}, "
             f"{os.cpu_count()} CPUs, {seconds:.0f} s). Each scenario: a window of {args.papers} papers behind the "
             f"fault-injecting fake arXiv (`tests/arxiv_server.py`, {PAGE} per page, no politeness delay, 10 ms "
             "back-off), read by `run_nightly` (fetch → store → report → watermark; no model). "
             "**Served** = papers in answers the fake sent completely; **lost** = served but not stored; "
             "**twice** = records the store got twice in one run; **complete** = the window counted as fetched "
             "completely (only then does the watermark move); **next night** = a second run, fault gone, when the "
             "watermark stayed.",
             "",
             f"**Papers lost: {lost}. Duplicated: {dup}. Runs that did not end: 0 of {len(feed_rows)}.**", "",
             "| scenario | served | stored | lost | twice | requests | complete | watermark moved | next night | "
             "warning or error in the report | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in feed_rows:
        lines.append(f"| {r['scenario']} | {r['served']} | {r['stored']} | {r['lost']} | {r['twice']} | "
                     f"{r['requests']} | {r['complete']} | {r['watermark_moved']} | {r['next_night']} | "
                     f"{r['warnings'].replace('|', '/')} | {r['seconds']} |")
    lines += ["", "Where a window is not known complete (too high a total, 0 results on weekdays every time) the "
              "papers received are stored (and classified, in a real night), the report says why, and the watermark "
              "stays: the next night reads the window again. A Retry-After past `arxiv_max_wait_seconds` fails the "
              "run at once (no sleep) with the watermark kept.", "",
              f"Poisoned lines ({len(poison_rows)} kinds, `tests/poisoned_lines.py`), each between two good lines, "
              f"through `trust-tagger nightly --no-prefect --source snapshot` and `trust-tagger classify` "
              f"(model: {model}). **Crashes: {crashes}.** A pass means: exit 0, the line reported as "
              "`path:2: reason` (nightly report) or `line 2: reason` (classify), both good lines processed.", "",
              "| line | nightly | classify | reason reported |", "|---|---|---|---|"]
    for r in poison_rows:
        lines.append(f"| {r['line']} | {r['nightly']} | {r['classify']} | {r['reason']} |")
    if not RESULTS.exists():
        RESULTS.write_text("# Reliability\n")
    replace_section(RESULTS, SECTION, "\n".join(lines) + "\n")
    print(f"lost {lost}, duplicated {dup}, crashes {crashes}; wrote {RESULTS}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
