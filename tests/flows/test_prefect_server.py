"""`trust-tagger schedule` against a real Prefect server (issue 12, items 1, 3 and 4).

A real ``prefect server start`` on a free loopback port, the project's fault-injecting fake arXiv,
the tiny model as the registry's current one, and the CLI verb serving the nightly on an
every-minute cron: the scheduled run must complete and store the papers the fake arXiv served (the
served deployment used to replay the offline snapshot and fetch 0), its counts must reach Prefect's
logs, and a run that fails on arXiv must log the error once, without a traceback. Marked slow (it
waits for the next minute); about 1.5-2.5 min on 2 cores."""

import subprocess
import sys
import time

import httpx

from arxiv_server import ArxivStubServer, Fault, paper
from conftest import ROOT
from prefect_server import call, server_env, stop

FINAL = ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]


def wait_for_run(api: str, deployment_id: str, exclude: set, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = call("POST", f"{api}/flow_runs/filter", {
            "flow_runs": {"deployment_id": {"any_": [deployment_id]}, "state": {"type": {"any_": FINAL}}}})
        done = [r for r in runs if r["id"] not in exclude]
        if done:
            return done[0]
        time.sleep(1)
    raise TimeoutError(f"no flow run of deployment {deployment_id} finished within {timeout:.0f} s")


def run_logs(api: str, run_id: str) -> list[dict]:
    time.sleep(2)  # the API log handler ships logs in batches
    return call("POST", f"{api}/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}},
                                               "sort": "TIMESTAMP_ASC", "limit": 200})


def test_schedule_serves_a_nightly_that_fetches_arxiv(project_home, prefect_api, tmp_path):
    from trust_tagger.store.store import Store

    home = project_home

    served = [paper(n) for n in range(5)] + [paper(5, abstract=None)]
    with ArxivStubServer(served) as arxiv:
        arxiv.script(2, Fault.http(503, retry_after="0"))  # one retry inside the scheduled run
        env = server_env(tmp_path / "serve-home", prefect_api)
        env.update(TRUST_TAGGER_HOME=str(home), TRUST_TAGGER_ARXIV_BASE_URL=arxiv.url,
                   TRUST_TAGGER_ARXIV_DELAY_SECONDS="0", TRUST_TAGGER_ARXIV_PAGE_SIZE="2",
                   PREFECT_RUNNER_POLL_FREQUENCY="2")
        log = open(tmp_path / "schedule.log", "wb")
        proc = subprocess.Popen([sys.executable, "-c", "from trust_tagger.cli import app; app()", "schedule",
                                 "--cron", "* * * * *"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deployment = None
            deadline = time.monotonic() + 60
            while deployment is None and time.monotonic() < deadline:
                assert proc.poll() is None, (tmp_path / "schedule.log").read_text()
                answer = httpx.get(f"{prefect_api}/deployments/name/trust-tagger-nightly/nightly")
                deployment = answer.json() if answer.status_code == 200 else time.sleep(1)
            assert deployment, "schedule never registered the nightly deployment"
            assert deployment["parameters"]["source"] == "arxiv"
            assert deployment["parameters"]["db"] == f"sqlite:///{home / 'data' / 'trust_tagger.db'}"

            run = wait_for_run(prefect_api, deployment["id"], set(), timeout=110)
            logs = run_logs(prefect_api, run["id"])
            assert run["state_type"] == "COMPLETED", [entry["message"] for entry in logs]
            assert run["auto_scheduled"] is True  # the cron made it, nobody triggered it
            store = Store(f"sqlite:///{home / 'data' / 'trust_tagger.db'}")
            assert {p.arxiv_id for p in store.papers()} == {p["id"] for p in served[:5]}
            (done,) = [r for r in store.runs() if r.status == "completed"]
            assert (done.source, done.counts["fetched"], done.counts["new"], done.counts["malformed"]) == (
                "arxiv", 6, 5, 1)
            messages = [entry["message"] for entry in logs]
            assert any(m.startswith("fetched 6: 5 new") for m in messages), messages
            assert any(m.startswith("classified 5 with model v1") for m in messages), messages
            assert any("arXiv attempt 1 failed (HTTP 503)" in m for m in messages), messages  # library warning

            arxiv.script(None, Fault.rejected("incorrect id format for 1234"))
            failing = call("POST", f"{prefect_api}/deployments/{deployment['id']}/create_flow_run", {})
            failed = wait_for_run(prefect_api, deployment["id"], {run["id"]}, timeout=60)
            assert failed["id"] == failing["id"] and failed["state_type"] == "FAILED"
            logs = run_logs(prefect_api, failed["id"])
            assert not any("Traceback" in entry["message"] for entry in logs), [e["message"] for e in logs]
            errors = [e["message"] for e in logs if e["level"] >= 40 and not e["message"].startswith("Finished in state")]
            assert len(errors) == 1 and "incorrect id format for 1234" in errors[0], errors
            assert [r.status for r in store.runs()] == ["completed", "failed"]
        finally:
            stop(proc, sig=2)  # SIGINT, as Ctrl-C: serve pauses its schedules and exits
            log.close()


def test_prefect_yaml_deploys_both_flows_and_a_worker_runs_the_nightly(project_home, prefect_api, tmp_path):
    """The other way in the README: `prefect deploy --all` with the project's prefect.yaml, a process
    work pool and `prefect worker start`; a run of the nightly deployment reads arXiv and stores."""
    from trust_tagger.store.store import Store

    home = project_home

    served = [paper(n) for n in range(3)]
    prefect = [sys.executable, "-m", "prefect"]
    env = server_env(tmp_path / "cli-home", prefect_api)
    with ArxivStubServer(served) as arxiv:
        env.update(TRUST_TAGGER_HOME=str(home), TRUST_TAGGER_ARXIV_BASE_URL=arxiv.url,
                   TRUST_TAGGER_ARXIV_DELAY_SECONDS="0", PREFECT_WORKER_QUERY_SECONDS="2")
        for args in (["work-pool", "create", "trust-tagger", "--type", "process"], ["--no-prompt", "deploy", "--all"]):
            done = subprocess.run(prefect + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        deployment = call("GET", f"{prefect_api}/deployments/name/trust-tagger-nightly/nightly")
        assert deployment["work_pool_name"] == "trust-tagger" and deployment["parameters"] == {"source": "arxiv"}
        assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 3 * * *"]
        assert deployment["global_concurrency_limit"]["limit"] == 1  # two nights never race on the watermark
        retrain = call("GET", f"{prefect_api}/deployments/name/trust-tagger-retrain/weekly-retrain")
        assert [s["schedule"]["cron"] for s in retrain["schedules"]] == ["0 4 * * 0"]

        log = open(tmp_path / "worker.log", "wb")
        worker = subprocess.Popen(prefect + ["worker", "start", "--pool", "trust-tagger"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            run = call("POST", f"{prefect_api}/deployments/{deployment['id']}/create_flow_run", {})
            finished = wait_for_run(prefect_api, deployment["id"], set(), timeout=120)
            logs = [e["message"] for e in run_logs(prefect_api, finished["id"])]
            assert finished["id"] == run["id"] and finished["state_type"] == "COMPLETED", logs
        finally:
            stop(worker)
            log.close()
    store = Store(f"sqlite:///{home / 'data' / 'trust_tagger.db'}")
    assert {p.arxiv_id for p in store.papers()} == {p["id"] for p in served}
    assert any(m.startswith("fetched 3: 3 new") for m in logs), logs
