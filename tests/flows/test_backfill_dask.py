"""`trust-tagger backfill --dask` (issue 12, item 8): the chunks are classified by the tiny model on a
LocalCluster of two Dask worker processes (prefect-dask), the driver stores and routes, and the
store ends up exactly as an in-process backfill leaves it. Slow: a Prefect server, a Dask cluster
and the tiny model in each worker (~1-2 min on 2 cores)."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from conftest import ROOT
from prefect_server import server_env

pytest.importorskip("prefect_dask")


def test_backfill_on_a_local_dask_cluster_matches_the_in_process_run(project_home, prefect_api, tmp_path):
    from trust_tagger.config import load_settings
    from trust_tagger.nightly.backfill import run_backfill
    from trust_tagger.store.store import Store

    dask_db, plain_db = f"sqlite:///{tmp_path / 'dask.db'}", f"sqlite:///{tmp_path / 'plain.db'}"
    env = server_env(tmp_path / "cli-home", prefect_api)
    env.update(TRUST_TAGGER_HOME=str(project_home))
    done = subprocess.run([sys.executable, "-c", "from trust_tagger.cli import app; app()", "backfill",
                           "--since", "2026-02-02", "--until", "2026-02-05", "--chunk-days", "1", "--dask",
                           "--workers", "2", "--db", dask_db], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=420)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout[done.stdout.index("{"):done.stdout.rindex("}") + 1])
    assert result["task_runner"] == "DaskTaskRunner" and result["chunks"] == 4
    assert result["workers"] and result["driver"] not in result["workers"]  # classified in other processes
    assert sum(w["papers"] for w in result["workers"].values()) == result["classified"] > 0

    plain = run_backfill(load_settings(db_url=plain_db), Store(plain_db), dt.date(2026, 2, 2), dt.date(2026, 2, 5),
                         chunk_days=1)
    assert (plain.classified, plain.accepted, plain.queued, plain.rejected) == (
        result["classified"], result["accepted"], result["queued"], result["rejected"])

    def states(url):
        return {p.key: (p.status, tuple(p.labels)) for p in Store(url).papers()}

    assert states(dask_db) == states(plain_db)
