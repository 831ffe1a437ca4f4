"""The command line as maintainers expect it: --version, the same --list-dir/--db/--reports-dir on every verb
that touches the list, the store or reports, bad values refused, review --list --json, the token never on the
command line, and retrain saying what it will do before it does it."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from review_fixtures import key
from trust_tagger import __version__, review
from trust_tagger.cli import app
from trust_tagger.cli.errors import CliError
from trust_tagger.cli.review import read_token_file
from trust_tagger.retrain.loop import progress_log

runner = CliRunner()


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"trust-tagger {__version__}"


@pytest.mark.parametrize("verb, options", [
    ("schedule", ("--list-dir", "--db", "--reports-dir")),
    ("build-dataset", ("--list-dir", "--db")),
    ("audit-labels", ("--list-dir", "--db", "--reports-dir")),
    ("retrain", ("--list-dir", "--db", "--reports-dir", "--dry-run")),
    ("nightly", ("--list-dir", "--db", "--reports-dir")),
    ("merge", ("--list-dir", "--db")),
    ("review", ("--list-dir", "--db", "--json", "--plain")),
    ("serve-review", ("--list-dir", "--db", "--token-file")),
    ("train", ("--list-dir",)),
    ("evaluate", ("--list-dir", "--reports-dir")),
])
def test_every_verb_that_touches_the_list_or_the_store_takes_the_same_options(verb, options):
    r = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}).invoke(app, [verb, "--help"])
    assert r.exit_code == 0, r.output
    for option in options:
        assert option in r.output, f"{verb} lacks {option}"


def test_review_refuses_bad_values_instead_of_an_empty_queue(seeded, list_copy):
    args = ["review", "--list", "--db", seeded.url, "--list-dir", str(list_copy)]
    r = runner.invoke(app, args + ["--category", "safty"])
    assert r.exit_code == 2 and "unknown category 'safty'" in r.output and "safety" in r.output
    r = runner.invoke(app, args + ["--since", "2026-02-01", "--until", "2026-01-01"])
    assert r.exit_code == 2 and "after" in r.output
    r = runner.invoke(app, ["review", "--json", "--db", seeded.url, "--list-dir", str(list_copy)])
    assert r.exit_code == 2 and "--json goes with --list" in r.output
    r = runner.invoke(app, ["review", "--paper", "arxiv:9999.99999", "--reviewer", "x", "--db", seeded.url,
                            "--list-dir", str(list_copy)])
    assert r.exit_code == 2 and "no such paper" in r.output and "arxiv:9999.99999" in r.output


def test_review_list_json(seeded, list_copy):
    r = runner.invoke(app, ["review", "--list", "--json", "--search", "jailbreak", "--db", seeded.url,
                            "--list-dir", str(list_copy)])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["key"] for row in rows] == [key("2601.00001"), key("2601.00005")]
    assert rows[0]["files"] == ["papers/safety/jailbreak.md"] and rows[0]["relevance"] == 0.86
    assert rows[0]["title"].startswith("Whisper-Jail") and rows[0]["rank"] == 1 and rows[0]["adjacent"] is False


def test_plain_review_has_undo(seeded, list_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_TAGGER_LABELED_DIR", str(tmp_path / "labeled"))
    r = runner.invoke(app, ["review", "--plain", "--reviewer", "zoe", "--db", seeded.url, "--list-dir", str(list_copy)],
                      input="a\nu\nq\n")
    assert r.exit_code == 0, r.output
    assert "undone:" in r.output and "Session: no decisions; 1 undone" in r.output
    assert seeded.get_paper(key("2601.00001")).status == "review"


def test_the_token_never_goes_on_the_command_line(tmp_path):
    r = runner.invoke(app, ["serve-review", "--token", "hunter2hunter2"])
    assert r.exit_code == 2 and "No such option" in r.output
    token = tmp_path / "token"
    token.write_text("a-long-review-token\n")
    token.chmod(0o600)
    assert read_token_file(token) == "a-long-review-token"
    token.chmod(0o644)
    with pytest.raises(CliError, match="readable by others"):
        read_token_file(token)
    r = runner.invoke(app, ["serve-review", "--token-file", str(token)])
    assert r.exit_code == 2 and "chmod 600" in r.output
    short = tmp_path / "short"
    short.write_text("abc")
    short.chmod(0o600)
    with pytest.raises(CliError, match="at least 12"):
        read_token_file(short)
    with pytest.raises(CliError, match="no such file"):
        read_token_file(tmp_path / "missing")


def test_retrain_dry_run_says_what_it_would_do_and_writes_nothing(seeded, tmp_path, monkeypatch):
    labeled = tmp_path / "labeled"
    labeled.mkdir()
    shutil.copy(ROOT / "data" / "labeled" / "annotations.jsonl", labeled / "annotations.jsonl")
    dense = "annotations-dense-2026-02-06.jsonl"
    shutil.copy(ROOT / "data" / "labeled" / dense, labeled / dense)
    for name, value in {"HOME": tmp_path, "LIST_DIR": ROOT / "data" / "awesome-list", "LABELED_DIR": labeled,
                        "SNAPSHOT_PATH": ROOT / "data" / "raw" / "arxiv-audio-papers.jsonl.gz",
                        "MODEL_DIR": tmp_path / "models"}.items():
        monkeypatch.setenv(f"TRUST_TAGGER_{name}", str(value))
    monkeypatch.setenv("TRUST_TAGGER_CONFIG", str(tmp_path / "none.toml"))
    index = review.load_list_index(ROOT / "data" / "awesome-list")
    review.decide(seeded, key("2601.00001"), "accept", "alice", revision=0, index=index)
    before = sorted(p.name for p in labeled.iterdir())
    r = runner.invoke(app, ["retrain", "--dry-run", "--db", seeded.url, "--reports-dir", str(tmp_path / "reports")])
    assert r.exit_code == 0, r.output
    assert "labels: " in r.output and "(train " in r.output
    assert "'dense': " in r.output  # every annotation file is counted, the dense labels too
    assert "review decisions: 1 in the store, 1 new since the last retrain" in r.output
    assert "current model: none" in r.output
    assert "expected time: about" in r.output and "per epoch per 1,000 abstracts" in r.output
    assert sorted(p.name for p in labeled.iterdir()) == before  # no decisions.jsonl written
    assert not (tmp_path / "reports").exists() and not (tmp_path / "models").exists()


def test_progress_log_writes_a_line_every_tenth():
    lines = []
    progress = progress_log(lines.append)
    for done in range(1, 101):
        progress("epoch 1/3", done, 100)
    progress("epoch 1/3", 100, 100)  # repeated end: said once
    assert len(lines) == 10 and lines[0] == "epoch 1/3: 10% (10/100)" and lines[-1] == "epoch 1/3: 100% (100/100)"
