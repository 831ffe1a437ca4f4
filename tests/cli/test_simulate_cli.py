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


@pytest.mark.parametrize("args, layers", [([], 2), (["--train-layers", "0"], None), (["--train-layers", "3"], 3)])
def test_the_fine_tune_recipe_reaches_the_simulation(args, layers, tmp_path, monkeypatch):
    """The CLI's recipe is ``simulate.run.FINE_TUNE``: top two blocks by default, 0 = every block."""
    from trust_tagger.simulate import run as sim_run

    seen = {}

    def fake(settings, cfg, advance=None, log=None):
        seen["overrides"] = cfg.overrides
        raise SystemExit(0)

    monkeypatch.setenv("TRUST_TAGGER_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setattr(sim_run, "simulate", fake)
    res = CliRunner().invoke(app, ["simulate", "--epochs", "2", *args])
    assert res.exit_code == 0, res.output
    o = seen["overrides"]
    assert o["train_layers"] == layers and o["epochs"] == 2 and o["max_train_seconds"] == 1800.0
    # Frozen blocks keep no activations: checkpointing is off with them, the recipe's own when all train.
    assert ("gradient_checkpointing" in o) == bool(layers) and o.get("gradient_checkpointing") in (None, False)
