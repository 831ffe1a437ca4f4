"""A real ``prefect server start`` on a free loopback port, for the tests that need scheduling (the
temporary server Prefect starts on its own cannot schedule). Its home, database and logs live in a
temporary folder; everything it started is stopped on exit."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

OFFLINE = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_UI_ENABLED": "false"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 20.0) -> None:
    """Stop a process started with start_new_session=True, and everything it started."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def server_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(OFFLINE, PREFECT_HOME=str(home))
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def call(method: str, url: str, json: dict | None = None, tries: int = 5) -> dict | list:
    """One Prefect REST call, answered as JSON or failed with its status and body.

    A SQLite-backed server answers 500 "database is locked" now and then while its scheduler writes
    (PrefectHQ/prefect#9923, #18934). A `create_flow_run` POST in the schedule test once came back
    without a run id; its status went unrecorded, and this is the known cause. Every 5xx answer is
    retried here; Prefect's own client retries 429 / 502 / 503 by default. Any other failure now says
    its status and body instead of a bare KeyError."""
    for attempt in range(tries):
        answer = httpx.request(method, url, json=json, timeout=30)
        if answer.status_code < 500 or attempt == tries - 1:
            break
        time.sleep(1 + attempt)
    assert answer.is_success, f"{method} {url}: HTTP {answer.status_code} {answer.text[:500]}"
    return answer.json()


@contextlib.contextmanager
def prefect_server(home: Path, timeout: float = 120.0) -> Iterator[str]:
    """Start the server, wait for /api/health, yield the API URL; the log is ``home/server.log``."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=server_env(home), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with {proc.returncode}:\n"
                                   + (home / "server.log").read_text()[-3000:])
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"prefect server did not answer on {api} within {timeout:.0f} s")
            time.sleep(0.5)
        yield api
    finally:
        stop(proc)
        log.close()


@pytest.fixture
def prefect_api(tmp_path_factory):
    """A real Prefect server for one test (import this fixture into the test module)."""
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as api:
        yield api


@pytest.fixture
def project_home(tmp_path, monkeypatch, model_root):
    """A project home (TRUST_TAGGER_HOME) with a list copy, the snapshot and the tiny model as v1."""
    import shutil

    from _tiny_model import copy_model
    from conftest import ROOT

    shutil.copytree(ROOT / "data" / "awesome-list", tmp_path / "data" / "awesome-list")
    (tmp_path / "data" / "raw").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "raw" / "arxiv-audio-papers.jsonl.gz", tmp_path / "data" / "raw")
    for var in [v for v in os.environ if v.startswith("TRUST_TAGGER_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("TRUST_TAGGER_HOME", str(tmp_path))
    from trust_tagger.config import load_settings
    from trust_tagger.model import registry

    settings = load_settings()
    registry.register(copy_model(model_root, settings.path(settings.model_dir) / "v1"), settings)
    return tmp_path
