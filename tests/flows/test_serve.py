"""What `schedule` serves, and how a run's failure reads in Prefect's logs, without a server
(issue 12, items 1 and 4); the real server is exercised by test_prefect_server.py."""

import logging

import pytest
from typer.testing import CliRunner

from trust_tagger.cli import app
from trust_tagger.config import load_settings


def test_deployments_carry_the_configured_source_list_and_store(tmp_path, monkeypatch):
    from flows.serve import deployments

    monkeypatch.delenv("TRUST_TAGGER_SOURCE", raising=False)
    settings = load_settings(list_dir=tmp_path / "list", db_url="sqlite:///data/store.db")
    nightly, retrain = deployments(settings, cron="* * * * *")
    assert nightly.parameters == {"source": "arxiv", "merge_mode": "direct", "list_dir": str(tmp_path / "list"),
                                  "db": f"sqlite:///{settings.root / 'data' / 'store.db'}",
                                  "reports_dir": str(settings.root / "reports")}
    assert retrain.parameters == {"list_dir": str(tmp_path / "list"), "db": nightly.parameters["db"],
                                  "reports_dir": str(settings.root / "reports")}
    assert [s.schedule.cron for s in nightly.schedules] == ["* * * * *"]
    assert "since" not in nightly.parameters  # the window comes from the watermark at run time
    assert nightly.concurrency_limit == retrain.concurrency_limit == 1

    settings.source, settings.merge_mode = "snapshot", "pr"
    assert deployments(settings)[0].parameters["source"] == "snapshot"
    assert deployments(settings, source="arxiv")[0].parameters == {**nightly.parameters, "merge_mode": "pr"}


def test_run_source_defaults():
    settings = load_settings()
    settings.source = ""
    assert (settings.run_source(), settings.run_source(scheduled=True)) == ("snapshot", "arxiv")
    settings.source = "arxiv"
    assert settings.run_source() == "arxiv"
    settings.source = "rss"
    with pytest.raises(ValueError, match="unknown source 'rss'"):
        settings.run_source()


@pytest.mark.filterwarnings("ignore:Logger 'prefect")  # Prefect's API handler: no flow run here
def test_expected_errors_are_logged_once_without_a_traceback():
    from flows._prefect import install_log_filter
    from trust_tagger.ingest.arxiv import ArxivError

    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record)

    keep = Keep()
    task_log, flow_log = logging.getLogger("prefect.task_runs"), logging.getLogger("prefect.flow_runs")
    install_log_filter()
    install_log_filter()  # idempotent
    for logger in (task_log, flow_log):
        logger.addHandler(keep)
    try:
        for error in (ArxivError("arXiv rejected the query"), KeyError("a bug")):
            try:
                raise error
            except Exception:
                task_log.error("Task run failed with exception: %r", error, exc_info=True)
                flow_log.error("Encountered exception during execution: %r", error, exc_info=True)
    finally:
        for logger in (task_log, flow_log):
            logger.removeHandler(keep)
    assert [(r.name, r.exc_info is not None) for r in seen] == [
        ("prefect.task_runs", False),  # the expected error: once, one line
        ("prefect.task_runs", True), ("prefect.flow_runs", True)]  # a bug keeps its tracebacks


def test_schedule_messages_name_the_configured_port_and_a_dead_server(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_API_PORT", "4321")
    res = CliRunner().invoke(app, ["schedule"])
    assert res.exit_code == 2 and "http://127.0.0.1:4321/api" in res.output and "4200" not in res.output
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # port 9: nothing listens
    res = CliRunner().invoke(app, ["schedule"])
    assert res.exit_code == 2 and "no Prefect server answers at PREFECT_API_URL=http://127.0.0.1:9/api" in res.output
    assert len(res.output.strip().splitlines()) == 1
