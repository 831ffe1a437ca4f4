"""Merges killed at random points and merges run at once, on a copy of the bundled list: lines lost must be 0.

Data: the bundled list (``data/awesome-list``) and the March 2026 window of the bundled snapshot
(``data/raw/arxiv-audio-papers.jsonl.gz``, 2026-03-01..31), ingested into a scratch store and routed by a
deterministic keyword stub (title rules below, several target files per paper allowed), not the model:
the benchmark measures the list's write path, and the stub makes every run route the same papers.

(a) Killed merges: a real ``trust-tagger merge`` subprocess is SIGKILLed, either after a random delay
    (anywhere from start-up to bookkeeping) or right after it was seen replacing a random number of the
    list files it writes (so kills land between two files, the case that used to lose lines). Each kill
    gets a fresh copy of the list and store; a plain rerun of ``merge`` follows, then the list is compared
    with a clean reference merge: lines lost, lines duplicated, temp files left, store rows whose merged
    flag or files disagree with the list.
(b) Concurrent merges: N ``trust-tagger merge`` commands (the CLI's own entry point, started together
    after their imports) write the same list at once, each from its own store holding a slice of the
    window (the lost-update case), and N from one shared store (the nightly and a manual merge at once).
    For contrast, the same concurrent round with the list lock replaced by a no-op.

Usage: python benchmarks/reliability_list.py [--kills 24] [--processes 8] [--rounds 3] [--seed 0]
Rewrites only its own section of benchmarks/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

from _results import replace_section

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.ingest.sources import records_for  # noqa: E402
from trust_tagger.listfile.parse import parse_list, target_file  # noqa: E402
from trust_tagger.nightly import steps  # noqa: E402
from trust_tagger.store.store import Store  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RELIABILITY.md"
SECTION = "## List: killed and concurrent merges"
WINDOW = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
RULES = [  # title regex -> subcategory: the deterministic stub that routes the window
    (r"jailbreak", "safety/jailbreak"), (r"deepfake|spoof", "safety/deepfake"),
    (r"watermark", "privacy/watermark_and_copyright"), (r"adversarial", "security/adversarial_examples"),
    (r"backdoor|poison", "security/poison_and_backdoor"), (r"privacy", "privacy/general"),
    (r"hallucinat", "hallucination/general"), (r"fairness|bias", "fairness/general"),
    (r"robust", "robustness/general"), (r"attack", "security/attack"),
    (r"membership inference", "privacy/membership_inference_attacks"), (r"unlearn", "privacy/unlearning"),
]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), "HF_HUB_OFFLINE": "1",
       "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1"}
TT = [sys.executable, "-c", "import sys; from trust_tagger.cli import app; sys.argv[0] = 'trust-tagger'; app()"]
# The CLI entry point, started after its imports once a go-file appears (so N merges really meet); with
# "nolock" the list lock is a no-op, to show what the lock prevents.
STARTED_TOGETHER = """
import contextlib, pathlib, sys, time
from trust_tagger.cli import app
import trust_tagger.listfile.guard as guard
go, nolock, args = pathlib.Path(sys.argv[1]), sys.argv[2] == "nolock", sys.argv[3:]
if nolock:
    guard.directory_lock = lambda *a, **k: contextlib.nullcontext()
while not go.exists():
    time.sleep(0.005)
app(args, prog_name="trust-tagger", standalone_mode=False)
"""


def stub_classify(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        title = r["title"].lower()
        targets = [sub for pattern, sub in RULES if re.search(pattern, title)]
        out.append({"arxiv_id": r["arxiv_id"], "relevance": 0.97 if targets else 0.02,
                    "relevance_class": 2 if targets else 0, "labels": sorted({t.split("/")[0] for t in targets}),
                    "categories": {}, "subcategories": dict.fromkeys(targets, 0.9), "targets": targets,
                    "decision": "accept" if targets else "reject", "model_version": "stub-title-rules"})
    return out


def build_store(db: Path, list_dir: Path, records: list[dict]) -> Store:
    store = Store(f"sqlite:///{db}")
    fetched = steps.ingest(store, records, "snapshot", parse_list(list_dir).keys())
    steps.classify_and_route(store, fetched.keys, stub_classify, "stub-title-rules", lambda p: 0.0)
    return store


def accepted_lines(list_dir: Path, keys: set[str]) -> Counter:
    """(file, key) -> how many lines of that file hold that accepted paper."""
    return Counter((e.file, e.key) for e in parse_list(list_dir).entries if e.key in keys)


def fresh(pristine: Path, dbs: list[Path], where: Path) -> tuple[Path, list[Path]]:
    """A copy of the list and of each store (SQLite's backup API: the store runs in WAL mode, so copying
    the main file alone would miss its latest writes)."""
    where.mkdir(parents=True)
    list_dir = Path(shutil.copytree(pristine, where / "awesome-list"))
    copies = []
    for db in dbs:
        copies.append(where / db.name)
        with closing(sqlite3.connect(db)) as src, closing(sqlite3.connect(copies[-1])) as dst:
            src.backup(dst)
    return list_dir, copies


def merge_cmd(list_dir: Path, db: Path) -> list[str]:
    return ["merge", "--list-dir", str(list_dir), "--db", f"sqlite:///{db}"]


def file_ids(list_dir: Path, files: list[str]) -> dict[str, int]:
    return {f: (list_dir / f).stat().st_ino if (list_dir / f).exists() else 0 for f in files}


def store_disagreements(db: Path, list_dir: Path) -> int:
    """Accepted papers whose stored merged flag / files disagree with what the list holds."""
    store, snapshot, bad = Store(f"sqlite:///{db}"), parse_list(list_dir), 0
    for row in store.papers(status="accepted"):
        wanted = sorted(target_file(t) for t in row.labels)
        held = sorted(f for f in snapshot.files_holding(row.key, row.title) if f in wanted)
        bad += row.merged_at is None or held != wanted or sorted(row.merged_files) != wanted
    store.engine.dispose()
    return bad


def _half_written(expected: Counter, now: Counter) -> int:
    """Missing lines of papers that reached some of their files: the lines the old rule ("anywhere on the
    list" = merged) never wrote on the rerun."""
    by_key: dict[str, list[bool]] = {}
    for (file, key) in expected:
        by_key.setdefault(key, []).append((file, key) in now)
    return sum(flags.count(False) for flags in by_key.values() if any(flags) and not all(flags))


def kill_trials(pristine: Path, db: Path, expected: Counter, keys: set[str], n: int, rng: random.Random,
                scratch: Path) -> dict:
    files = sorted({f for f, _ in expected})
    # how long one merge takes here, start-up included, to spread the random delays over
    list_dir, (db_copy,) = fresh(pristine, [db], scratch / "calibrate")
    t0 = time.perf_counter()
    subprocess.run(TT + merge_cmd(list_dir, db_copy), env=ENV, check=True, capture_output=True)
    one_merge = time.perf_counter() - t0
    phases, missing_after_kill, lost, dups, temps, disagree, attempts = Counter(), 0, 0, 0, 0, 0, 0
    half_written = temps_after_kill = 0
    while sum(phases.values()) < n:
        attempts += 1
        list_dir, (db_copy,) = fresh(pristine, [db], scratch / f"kill{attempts}")
        before = file_ids(list_dir, files)
        proc = subprocess.Popen(TT + merge_cmd(list_dir, db_copy), env=ENV, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if attempts % 2:
            time.sleep(rng.uniform(0, one_merge))
        else:  # right after the k-th list file was replaced
            k = rng.randint(1, len(files))
            while proc.poll() is None and sum(a != b for a, b in zip(before.values(), file_ids(list_dir, files).values())) < k:
                time.sleep(0.0002)
        if proc.poll() is not None:
            continue  # it finished first: not a kill
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        changed = sum(a != b for a, b in zip(before.values(), file_ids(list_dir, files).values()))
        phases["before any list file" if changed == 0 else "between list files" if changed < len(files)
               else "after the last list file"] += 1
        after_kill = accepted_lines(list_dir, keys)
        missing_after_kill += sum((expected - after_kill).values())
        half_written += _half_written(expected, after_kill)
        temps_after_kill += len(list(list_dir.rglob(".*.tmp")))
        subprocess.run(TT + merge_cmd(list_dir, db_copy), env=ENV, check=True, capture_output=True)
        now = accepted_lines(list_dir, keys)
        lost += sum((expected - now).values())
        dups += sum(c - 1 for c in now.values() if c > 1)
        temps += len(list(list_dir.rglob(".*.tmp")))
        disagree += store_disagreements(db_copy, list_dir)
    return {"kills": sum(phases.values()), "attempts": attempts, "phases": dict(phases), "one_merge_s": one_merge,
            "missing_after_kill": missing_after_kill, "half_written": half_written,
            "temps_after_kill": temps_after_kill, "lost": lost, "duplicated": dups, "temp_files": temps,
            "store_disagreements": disagree}


def concurrent_round(pristine: Path, dbs: list[Path], expected: Counter, keys: set[str], mode: str,
                     scratch: Path, copies: int = 1) -> dict:
    """One merge per store, all released at once; ``copies`` > 1: that many merges of each store file."""
    list_dir, stores = fresh(pristine, dbs, scratch)
    go = scratch / "go"
    procs = [subprocess.Popen([sys.executable, "-c", STARTED_TOGETHER, str(go), mode, *merge_cmd(list_dir, db)],
                              env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for db in stores for _ in range(copies)]
    time.sleep(3.0 + 0.5 * len(procs))  # imports done on 2 shared cores; not a measurement
    t0 = time.perf_counter()
    go.touch()
    codes = [p.wait(timeout=300) for p in procs]
    wall = time.perf_counter() - t0
    now = accepted_lines(list_dir, keys)
    return {"lost": sum((expected - now).values()), "duplicated": sum(c - 1 for c in now.values() if c > 1),
            "failed": sum(c != 0 for c in codes), "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=24)
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    started = time.perf_counter()
    rng = random.Random(args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="reliability-list-"))
    settings = load_settings()
    pristine = Path(shutil.copytree(settings.path(settings.list_dir), scratch / "pristine" / "awesome-list"))
    records = list(records_for("snapshot", settings, *WINDOW))

    # one store for the window, and one store per slice of it (for the lost-update round)
    store = build_store(scratch / "window.db", pristine, records)
    accepted = store.papers(status="accepted")
    keys = {r.key for r in accepted}
    slices = []
    for n in range(args.processes):
        slices.append(scratch / f"slice{n}.db")
        build_store(slices[-1], pristine, records[n :: args.processes])
    reference, _ = fresh(pristine, [], scratch / "reference")
    steps.merge_accepted(store, load_settings(list_dir=reference, db_url=store.url))
    expected = accepted_lines(reference, keys)
    assert sum(expected.values()) and max(expected.values()) == 1

    kills = kill_trials(pristine, scratch / "window.db", expected, keys, args.kills, rng, scratch / "kills")
    rounds = {"slices": [], "shared": [], "nolock": []}
    for r in range(args.rounds):
        rounds["slices"].append(concurrent_round(pristine, slices, expected, keys, "lock", scratch / f"slices{r}"))
        shared = concurrent_round(pristine, [scratch / "window.db"], expected, keys, "lock", scratch / f"shared{r}",
                                  copies=args.processes)
        rounds["shared"].append(shared)
        rounds["nolock"].append(concurrent_round(pristine, slices, expected, keys, "nolock", scratch / f"nolock{r}"))
    wall = time.perf_counter() - started
    text = report(args, records, accepted, expected, kills, rounds, wall)
    if not RESULTS.exists():
        RESULTS.write_text("# Reliability\n")
    replace_section(RESULTS, SECTION, text)
    print(text)
    shutil.rmtree(scratch, ignore_errors=True)


def report(args, records, accepted, expected, kills, rounds, wall) -> str:
    files = sorted({f for f, _ in expected})
    multi = sum(len(r.labels) > 1 for r in accepted)
    total = sum(expected.values())

    def row(name, results, who):
        lost = sum(r["lost"] for r in results)
        return (f"| {name} | {len(results)} x {args.processes} | {who} | {len(results) * total} | {lost} | "
                f"{sum(r['duplicated'] for r in results)} | {sum(r['failed'] for r in results)} | "
                f"{max(r['wall_s'] for r in results):.1f} |")

    phases = ", ".join(f"{v} {k}" for k, v in sorted(kills["phases"].items()))
    return "\n".join([
        SECTION, "",
        f"Command: `python benchmarks/reliability_list.py --kills {args.kills} --processes {args.processes} "
        f"--rounds {args.rounds} --seed {args.seed}` ({dt.date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} CPU cores shared with other jobs). Total wall time {wall:.0f} s.", "",
        f"Data: a copy of the bundled list (`data/awesome-list`, {len(parse_list(ROOT / 'data/awesome-list').entries)} "
        f"entries) and the March window of the bundled snapshot (`data/raw/arxiv-audio-papers.jsonl.gz`, "
        f"{WINDOW[0]}..{WINDOW[1]}: {len(records)} records), routed by a deterministic stub classifier (title keyword "
        f"rules, not the model): {len(accepted)} papers accepted, {multi} of them filed to two or more files, "
        f"{total} lines expected in {len(files)} list files (a clean merge, the reference).", "",
        "### Killed merges (SIGKILL of a real `trust-tagger merge`, then one plain rerun)", "",
        "| kills | where the kill landed | lines missing after the kills (of them: half-written papers) | "
        "temp files after the kills | lines lost after the rerun | lines duplicated | temp files left | "
        "store rows disagreeing with the list |",
        "|---|---|---|---|---|---|---|---|",
        f"| {kills['kills']} | {phases} | {kills['missing_after_kill']} ({kills['half_written']}) | "
        f"{kills['temps_after_kill']} | {kills['lost']} | {kills['duplicated']} | {kills['temp_files']} | "
        f"{kills['store_disagreements']} |", "",
        "Half-written papers reached some of their target files but not all: the rule this replaces (a paper "
        "anywhere on the list counts as merged) would never have written those lines on the rerun.", "",
        f"Half the kills after a random delay in [0, {kills['one_merge_s']:.1f} s] (one merge, start-up included), "
        "half right after the merge was seen replacing a random number of its list files; "
        f"{kills['attempts'] - kills['kills']} attempts finished before the kill and are not counted. Each kill on "
        "a fresh copy of the list and the store.", "",
        "### Concurrent merges (N `trust-tagger merge` commands released together)", "",
        "| round | rounds x processes | stores | lines expected | lines lost | lines duplicated | commands failed | "
        "slowest round, s |",
        "|---|---|---|---|---|---|---|---|",
        row("list lock", rounds["slices"], "one slice of the window each"),
        row("list lock", rounds["shared"], "one shared store"),
        row("lock replaced by a no-op (contrast)", rounds["nolock"], "one slice of the window each"),
        "",
    ]) + "\n"


if __name__ == "__main__":
    main()
