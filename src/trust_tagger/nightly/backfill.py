"""Backfill: classify a long stretch of history (years of arXiv) in chunks, in parallel.

The driver (the calling process) is the only one that touches the store and the source: it walks
the range chunk by chunk (``backfill_chunk_days`` days each), ingests a chunk exactly as a night
does, and hands the chunk's undecided papers to ``submit``: Prefect's task runner in
``flows/backfill.py`` (local threads, or Dask workers through prefect-dask) or, by default, a plain
in-process call. Workers only compute: :func:`classify_chunk` loads the model once per worker
process and returns predictions, so a Dask cluster needs the package and the model folder, never
the database. The driver routes each chunk's predictions with the same ``classify_and_route`` a
night uses: accepted papers wait for the usual merge (``trust-tagger merge`` or the next night,
``pr`` merge mode included), uncertain ones join the review queue, and nothing reaches the list
without that routing.

Chunks are idempotent: a finished chunk is recorded in the store (meta
``backfill:<source>:<model>:<since>:<until>``) and skipped by the next call, so a killed backfill
resumes where it stopped; a chunk that was in flight when it died is ingested again (duplicates
only) and its still-undecided papers are classified. A backfill never moves the nightly watermark.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import resource
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trust_tagger.config import Settings
from trust_tagger.ingest.sources import records_for
from trust_tagger.listfile.parse import parse_list
from trust_tagger.nightly import steps as S
from trust_tagger.nightly.report import Timer, new_run_id
from trust_tagger.store.store import Store

log = logging.getLogger(__name__)
CHUNK_MARK = "backfill:{source}:{model}:{since}:{until}"
Submit = Callable[..., Any]  # submit(fn, *args) -> a future: anything with .result()
ClassifyChunk = Callable[[str, str, list[dict], int], dict]  # -> {"predictions", "worker", "peak_rss_mb"}


def chunk_windows(since: dt.date, until: dt.date, days: int) -> list[tuple[dt.date, dt.date]]:
    """Consecutive inclusive windows of ``days`` days covering [since, until]."""
    if days < 1:
        raise ValueError(f"chunk days must be >= 1, got {days}")
    if since > until:
        raise ValueError(f"empty range: since {since} is after until {until}")
    out, start = [], since
    while start <= until:
        end = min(start + dt.timedelta(days=days - 1), until)
        out.append((start, end))
        start = end + dt.timedelta(days=1)
    return out


_LOAD_LOCK = threading.Lock()
_CLASSIFY_LOCKS: dict[tuple[str, str], threading.Lock] = {}


@functools.lru_cache(maxsize=2)
def _load_model(model_dir: str, version: str):
    from trust_tagger.model.tagger import TrustTagger

    model = TrustTagger.load(model_dir)
    model.version = version
    return model


def worker_stats() -> dict:
    """Which process did the work, and its peak RSS so far (Linux reports ru_maxrss in KiB)."""
    return {"worker": f"{socket.gethostname()}:{os.getpid()}",
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def classify_chunk(model_dir: str, version: str, records: list[dict], threads: int = 0) -> dict:
    """Worker side: the classify contract plus ``targets`` and the queue ``priority`` for ``records``,
    with the worker's identity and peak RSS (``worker_stats``).

    The model is loaded once per worker process. Threads of one process share it and take turns (a
    fast tokenizer is not safe to use from two threads at once, and torch already uses every core it
    is given), so the thread runner overlaps fetching with classifying; Dask worker processes
    classify in parallel. ``threads``: torch threads per worker (0: the encoder's default).
    """
    from trust_tagger.nightly.classifier import Classifier

    if threads:
        os.environ["TRUST_TAGGER_THREADS"] = str(threads)  # read when the model picks its device
    with _LOAD_LOCK:
        model = _load_model(model_dir, version)
        lock = _CLASSIFY_LOCKS.setdefault((model_dir, version), threading.Lock())
    clf = Classifier(model=model, version=version)
    with lock:
        preds = clf.classify(records)
    for pred in preds:
        pred["priority"] = clf.review_priority(pred)
    return {"predictions": preds, **worker_stats()}


class _Now:
    """The in-process "future": runs at submit time."""

    def __init__(self, fn, *args, **kwargs):
        self.value = fn(*args, **kwargs)

    def result(self):
        return self.value


@dataclass
class BackfillResult:
    run_id: str
    source: str
    since: str
    until: str
    model_version: str
    chunks: int = 0
    skipped_chunks: int = 0  # finished by an earlier (killed or completed) backfill
    fetched: int = 0
    new: int = 0
    malformed: int = 0
    classified: int = 0
    accepted: int = 0
    queued: int = 0
    rejected: int = 0
    seconds: float = 0.0
    workers: dict = field(default_factory=dict)  # "host:pid" -> chunks, papers, peak_rss_mb
    driver: str = field(default_factory=lambda: worker_stats()["worker"])  # the process that fetched and routed

    def to_dict(self) -> dict:
        return asdict(self)


def current_model(settings: Settings) -> tuple[str, str]:
    """(model folder, version) of the registry's current model."""
    from trust_tagger.model import registry

    version = registry.current(settings)
    if version is None:
        raise registry.RegistryError("no current model to backfill with; run `trust-tagger train` first")
    return str(registry.model_path(version, settings)), version


def model_at(model_dir: str | Path) -> tuple[str, str]:
    """(folder, version) of a model folder outside the registry (``--model``): the version it was
    saved with, else the folder's name."""
    from trust_tagger.model.artifacts import TAGGER_JSON

    path = Path(model_dir)
    meta_file = path / TAGGER_JSON
    if not meta_file.exists():
        raise FileNotFoundError(f"no trained model in {path} (missing {TAGGER_JSON})")
    meta = json.loads(meta_file.read_text())
    return str(path.resolve()), str(meta.get("version") or path.name)


def run_backfill(settings: Settings, store: Store, since: dt.date, until: dt.date, *, source: str = "snapshot",
                 chunk_days: int | None = None, submit: Submit = _Now, threads: int = 0, max_in_flight: int = 4,
                 model: tuple[str, str] | None = None, classify: ClassifyChunk = classify_chunk,
                 say: Callable[[str], None] = log.info) -> BackfillResult:
    """Classify every paper of [since, until] from ``source``; see the module docstring.

    ``max_in_flight`` bounds the chunks submitted but not yet routed (memory on the driver, and how
    far fetching runs ahead of classifying). ``model`` and ``classify`` are for tests.
    """
    model_dir, version = model or current_model(settings)
    windows = chunk_windows(since, until, chunk_days or settings.backfill_chunk_days)
    result = BackfillResult(run_id=new_run_id(f"backfill-{source}"), source=source, since=since.isoformat(),
                            until=until.isoformat(), model_version=version, chunks=len(windows))
    timer = Timer()
    store.start_run(result.run_id, source, result.since, result.until, kind="backfill")
    listed = parse_list(settings.path(settings.list_dir)).keys()
    in_flight: deque = deque()

    def finish(chunk: tuple) -> None:
        start, end, keys, future = chunk
        done = future.result()
        preds = {p["arxiv_id"]: p for p in done["predictions"]}
        if done.get("worker"):
            w = result.workers.setdefault(done["worker"], {"chunks": 0, "papers": 0, "peak_rss_mb": 0.0})
            w["chunks"], w["papers"] = w["chunks"] + 1, w["papers"] + len(preds)
            w["peak_rss_mb"] = max(w["peak_rss_mb"], done.get("peak_rss_mb") or 0.0)

        def precomputed(records: list[dict]) -> list[dict]:
            missing = [r["arxiv_id"] for r in records if r["arxiv_id"] not in preds]
            if missing:
                raise RuntimeError(f"chunk {start} .. {end}: no prediction for {missing[:3]}")
            return [preds[r["arxiv_id"]] for r in records]

        routed = S.classify_and_route(store, keys, precomputed, version, lambda p: p["priority"])
        for name in ("classified", "accepted", "queued", "rejected"):
            setattr(result, name, getattr(result, name) + getattr(routed, name))
        mark = CHUNK_MARK.format(source=source, model=version, since=start, until=end)
        store.set_meta(mark, json.dumps({"classified": routed.classified, "accepted": routed.accepted,
                                         "queued": routed.queued, "rejected": routed.rejected}))
        say(f"chunk {start} .. {end}: {routed.classified} classified, {routed.accepted} accepted, "
            f"{routed.queued} queued, {routed.rejected} rejected")

    try:
        for start, end in windows:
            if store.get_meta(CHUNK_MARK.format(source=source, model=version, since=start, until=end)):
                result.skipped_chunks += 1
                continue
            fetched = S.ingest(store, records_for(source, settings, start, end), source, listed)
            result.fetched, result.new = result.fetched + fetched.fetched, result.new + fetched.new
            result.malformed += fetched.malformed
            rows = [r for r in store.papers(keys=fetched.keys) if S.needs_decision(r, version, store)]
            records = [{"arxiv_id": r.arxiv_id, "title": r.title, "abstract": r.abstract,
                        "categories": r.categories} for r in rows]
            future = submit(classify, model_dir, version, records, threads) if records else _Now(dict, predictions=[])
            in_flight.append((start, end, fetched.keys, future))
            while len(in_flight) > max_in_flight:
                finish(in_flight.popleft())
        while in_flight:
            finish(in_flight.popleft())
    except BaseException as exc:
        result.seconds = round(timer.seconds, 3)
        store.finish_run(result.run_id, "failed", {**result.to_dict(), "error": repr(exc)})
        raise
    result.seconds = round(timer.seconds, 3)
    store.finish_run(result.run_id, "completed", result.to_dict())
    say(f"backfill {since} .. {until}: {result.chunks - result.skipped_chunks} chunk(s) run, "
        f"{result.skipped_chunks} already done; {result.classified} classified in {result.seconds:.1f} s")
    return result
