"""The simulate verb refuses options it cannot run with one line and exit code 2, before any work."""

import pytest
from typer.testing import CliRunner

from trust_tagger.cli import app


@pytest.mark.parametrize("args, message", [
    (["--retrain", "daily"], "--retrain must be one of weekly, monthly, never, got 'daily'"),
    (["--update", "encoder"], "--update must be one of heads, full, got 'encoder'"),
    (["--since", "2026-06-01", "--until", "2026-05-01"], "--since 2026-06-01 is after --until 2026-05-01"),
])
def test_bad_options_are_one_line_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_TAGGER_REPORTS_DIR", str(tmp_path / "reports"))
    res = CliRunner().invoke(app, ["simulate", *args])
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines()[-1] == f"error: {message}"
    assert not (tmp_path / "reports").exists()


def test_an_empty_window_is_refused_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_TAGGER_REPORTS_DIR", str(tmp_path / "reports"))
    res = CliRunner().invoke(app, ["simulate", "--since", "2030-01-01", "--until", "2030-01-31"])
    assert res.exit_code == 1, res.output
    assert "error: the snapshot has no papers dated 2030-01-01..2030-01-31" in res.output
