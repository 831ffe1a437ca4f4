"""The nightly Prefect flow end to end on a small snapshot window, with a tiny trained model
registered as current, through the real CLI verb (the contract the project's checks use)."""

import json

import pytest
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def prefect_harness():
    from trust_tagger.prefect_env import configure

    configure()
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def home(project_home):
    """A project home with its own list copy, store, models and reports (``prefect_server.project_home``)."""
    return project_home


def list_bytes(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.md"))}


def test_nightly_cli_runs_the_flow_and_a_rerun_changes_nothing(prefect_harness, home):
    from trust_tagger.cli import app
    from trust_tagger.store.store import Store

    args = ["nightly", "--source", "snapshot", "--since", "2026-02-02", "--until", "2026-02-04"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    reports = sorted((home / "reports").glob("*/report.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    for key in ["fetched", "new", "updated", "duplicates", "malformed", "accepted", "queued", "rejected",
                "merged", "seconds"]:
        assert key in report
    assert report["fetched"] > 20 and report["new"] + report["already_listed"] <= report["fetched"]
    assert report["accepted"] + report["queued"] + report["rejected"] == report["classified"] > 0
    assert report["model_version"] == "v1"
    assert (reports[0].parent / "digest.md").read_text().startswith("#")
    store = Store(f"sqlite:///{home / 'data' / 'trust_tagger.db'}")
    n_papers = len(store.papers())
    assert n_papers == report["new"]
    before = list_bytes(home / "data" / "awesome-list")

    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    report2 = json.loads(sorted((home / "reports").glob("*/report.json"))[-1].read_text())
    assert (report2["new"], report2["classified"], report2["merged"]) == (0, 0, 0)
    assert report2["duplicates"] == report["new"]
    assert list_bytes(home / "data" / "awesome-list") == before
    assert len(store.papers()) == n_papers
    assert store.get_meta("watermark:snapshot") == "2026-02-04"


def test_nightly_without_a_model_fails_clearly(prefect_harness, home):
    from trust_tagger.cli import app
    from trust_tagger.model import registry as registry

    (home / "models" / registry.REGISTRY_FILE).unlink()
    result = CliRunner().invoke(app, ["nightly", "--since", "2026-02-02", "--until", "2026-02-02"])
    assert result.exit_code != 0
    assert "trust-tagger train" in str(result.exception) + result.output


def test_nightly_from_the_arxiv_api_with_faults(prefect_harness, home, monkeypatch):
    """The live source through the whole flow, against the local Atom server: paging, a 503 with
    Retry-After, an empty page mid-paging, and one record without an abstract (skipped, counted)."""
    from arxiv_server import ArxivStubServer, Fault, paper
    from trust_tagger.cli import app

    papers = [paper(n) for n in range(7)] + [paper(7, abstract=None)]
    with ArxivStubServer(papers) as server:
        server.script(3, Fault.http(503, retry_after="0"), Fault.empty_page())
        monkeypatch.setenv("TRUST_TAGGER_ARXIV_BASE_URL", server.url)
        monkeypatch.setenv("TRUST_TAGGER_ARXIV_DELAY_SECONDS", "0")
        monkeypatch.setenv("TRUST_TAGGER_ARXIV_PAGE_SIZE", "3")
        result = CliRunner().invoke(app, ["nightly", "--source", "arxiv", "--since", "2025-06-01",
                                          "--until", "2025-06-30"])
    assert result.exit_code == 0, result.output
    report = json.loads(sorted((home / "reports").glob("*arxiv/report.json"))[-1].read_text())
    assert (report["fetched"], report["new"], report["malformed"]) == (8, 7, 1)
    assert "abstract" in report["malformed_reasons"][0]
    assert report["classified"] == 7


def test_unreachable_arxiv_through_prefect_logs_no_traceback(prefect_harness, home, monkeypatch, capfd):
    """Prefect logged a failed task and flow with the whole chained traceback (738 lines, 12 tracebacks
    for one unreachable server); now its log records are one line each and the CLI says it once."""
    import socket

    from trust_tagger.cli import app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in (("ARXIV_BASE_URL", f"http://127.0.0.1:{port}/api/query"), ("ARXIV_MAX_RETRIES", "1"),
                        ("ARXIV_BACKOFF_SECONDS", "0.01"), ("ARXIV_DELAY_SECONDS", "0")):
        monkeypatch.setenv(f"TRUST_TAGGER_{name}", value)
    result = CliRunner().invoke(app, ["nightly", "--source", "arxiv", "--since", "2025-06-01", "--until", "2025-06-02"])
    captured = capfd.readouterr()
    everything = result.output + captured.out + captured.err
    assert result.exit_code == 1
    assert "Traceback" not in everything, everything
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "arXiv request failed" in errors[0] and "next run re-reads" in errors[0]
