"""Backfill throughput, written to the ``## Backfill`` section of RESULTS.md.

The 6,516-paper pool (``data/raw/arxiv-audio-papers.jsonl.gz``, replayed as the snapshot source) is
classified by the product's backfill three ways, in one run: the plain in-process run
(``trust-tagger backfill --no-prefect``), then ``trust-tagger backfill --dask`` on a local Dask
cluster of 1 and of 2 worker processes (prefect-dask). For each: papers/s over the backfill itself
(cluster and Prefect start-up excluded, and reported apart as wall time), peak RSS of the driver
(fetch, store, routing) and of every Dask worker (the model and the classification).

Each configuration runs in its own child process, on a fresh store in a scratch folder, so every
paper is classified each time and the project's store, registry and list are untouched. Torch gets
all cores in-process and cores / workers threads in each Dask worker, so the comparison is about
processes, not about oversubscription.

Usage: python benchmarks/bench_backfill.py --model models/v1 [--workers 1,2] [--chunk-days 14]
                                           [--limit N] [--output benchmarks/RESULTS.md]
``--model`` is a trained model folder (``trust-tagger train`` makes one). ``--limit N`` keeps the
latest N papers of the pool (its dense end, so chunks are full): a quick check that the script
works, not a benchmark.
Only this file's own section of the results file is replaced.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import replace_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
POOL = ROOT / "data" / "raw" / "arxiv-audio-papers.jsonl.gz"
SECTION = "## Backfill"

CHILD = """
import datetime as dt, json, resource, sys, time
cfg = json.loads(sys.argv[1])
since, until = dt.date.fromisoformat(cfg["since"]), dt.date.fromisoformat(cfg["until"])
t = time.perf_counter()
if cfg["workers"] == 0:
    from trust_tagger.config import load_settings
    from trust_tagger.nightly.backfill import model_at, run_backfill
    from trust_tagger.store.store import Store
    s = load_settings()
    r = run_backfill(s, Store(s.resolved_db_url), since, until, source="snapshot", chunk_days=cfg["chunk_days"],
                     model=model_at(cfg["model"])).to_dict()
else:
    from flows.backfill import run
    r = run(since, until, workers=cfg["workers"], dask=True, threads=cfg["threads"], source="snapshot",
            chunk_days=cfg["chunk_days"], model_dir=cfg["model"])
r["process_wall"] = time.perf_counter() - t
r["driver_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(r))
"""


def write_subset(dst: Path, limit: int | None) -> tuple[int, str, str]:
    """The pool (or its latest ``limit`` papers) as a snapshot file; (papers, first day, last day)."""
    with gzip.open(POOL, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    rows.sort(key=lambda r: str(r.get("date", "")))
    rows = rows[-limit:] if limit else rows
    with gzip.open(dst, "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    days = [str(r["date"])[:10] for r in rows if r.get("date")]
    return len(rows), min(days), max(days)


def run_config(scratch: Path, cfg: dict) -> dict:
    name = f"w{cfg['workers']}"
    env = dict(os.environ, TRUST_TAGGER_HOME=str(scratch), TRUST_TAGGER_SNAPSHOT_PATH=str(scratch / "pool.jsonl.gz"),
               TRUST_TAGGER_DB_URL=f"sqlite:///{scratch / name}.db", TRUST_TAGGER_LIST_DIR=str(ROOT / "data" / "awesome-list"),
               TRUST_TAGGER_MODEL_DIR=str(scratch / "models"), TRUST_TAGGER_REPORTS_DIR=str(scratch / "reports"),
               PREFECT_HOME=str(scratch / ".prefect"), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH")]))
    load_before = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"backfill with {cfg['workers']} worker(s) failed:\n{proc.stderr[-4000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    out["load_before"] = load_before
    return out


def section(args, n: int, since: str, until: str, runs: list[tuple[dict, dict]]) -> str:
    plain = next((r for cfg, r in runs if cfg["workers"] == 0), None)
    base = plain["classified"] / plain["seconds"] if plain and plain["seconds"] else None
    cmd = f"`python benchmarks/bench_backfill.py --model {args.model} --workers {args.workers} " \
          f"--chunk-days {args.chunk_days}" + (f" --limit {args.limit}" if args.limit else "") + "`"
    lines = [SECTION, "", f"Command: {cmd}", ""]
    if args.limit:
        lines += [f"**Check run on {n} papers only (`--limit`): it shows the script works; the figures are not "
                  "a benchmark.** Run it without `--limit` and with a trained model for the real figures.", ""]
    lines += [f"Machine: {os.cpu_count()} CPU cores ({platform.machine()}, {platform.system()}), no GPU; other jobs "
              "may share the cores (the 1-min load average before each run is in the table).", "",
              f"Data: {n} papers of the pool ({since} .. {until}), replayed as the snapshot source in "
              f"{args.chunk_days}-day chunks; model `{args.model}`; a fresh store per run, so every paper is "
              "classified each time.", "",
              "| run | Dask workers | torch threads each | chunks | papers classified | backfill s | papers/s | "
              "vs in-process | driver peak RSS MB | peak RSS per worker MB | wall incl. start-up s | load before |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for cfg, r in runs:
        rate = r["classified"] / r["seconds"] if r["seconds"] else float("nan")
        workers = sorted(r.get("workers", {}).values(), key=lambda w: -w["papers"])
        per_worker = ", ".join(f"{w['peak_rss_mb']:.0f} ({w['papers']} papers)" for w in workers) or "n/a"
        kind = "in-process (`--no-prefect`)" if cfg["workers"] == 0 else f"Dask LocalCluster (`--dask --workers {cfg['workers']}`)"
        lines.append(f"| {kind} | {cfg['workers'] or '-'} | {cfg['threads'] or 'all'} | {r['chunks']} | "
                     f"{r['classified']} | {r['seconds']:.1f} | {rate:.1f} | "
                     f"{(rate / base) if base else float('nan'):.2f}x | {r['driver_peak_rss_mb']:.0f} | "
                     f"{per_worker if cfg['workers'] else '(in the driver)'} | {r['process_wall']:.1f} | "
                     f"{r['load_before']:.2f} |")
    lines += ["", "Backfill s: `run_backfill`'s own timer (fetch, store, classify, route), without Python, Prefect "
              "and Dask start-up, which the wall column includes. Peak RSS per worker: `ru_maxrss` of each Dask "
              "worker process after its last chunk; the driver's is the flow's process.", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="trained model folder (e.g. models/v1)")
    ap.add_argument("--workers", default="1,2", help="Dask worker counts to run after the in-process run")
    ap.add_argument("--chunk-days", type=int, default=14)
    ap.add_argument("--limit", type=int, default=None, help="only the latest N papers (a check, not a benchmark)")
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args()
    model = Path(args.model).resolve()
    if not (model / "tagger.json").exists():
        raise SystemExit(f"{model} is not a trained model folder (no tagger.json); run `trust-tagger train`")
    scratch = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    try:
        n, since, until = write_subset(scratch / "pool.jsonl.gz", args.limit)
        cores = os.cpu_count() or 1
        configs = [{"workers": 0, "threads": 0}] + [
            {"workers": w, "threads": max(1, cores // w)} for w in (int(x) for x in args.workers.split(",") if x)]
        runs = []
        for cfg in configs:
            cfg.update(model=str(model), since=since, until=until, chunk_days=args.chunk_days)
            t = time.perf_counter()
            result = run_config(scratch, cfg)
            print(f"{cfg['workers']} worker(s): {result['classified']} papers in {result['seconds']:.1f} s "
                  f"(wall {time.perf_counter() - t:.1f} s)", flush=True)
            runs.append((cfg, result))
        text = section(args, n, since, until, runs)
        replace_section(args.output, SECTION, text)
        print(text)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
