"""The pipeline verbs: `merge` (dry run, the diff, --git on a new branch of the list's checkout,
convergence after a run killed between writing the list and recording the merge) and `schedule`."""

import subprocess

import pytest
from typer.testing import CliRunner

from trust_tagger.cli import app
from trust_tagger.config import load_settings
from trust_tagger.ingest.records import Paper
from trust_tagger.nightly import steps as pipeline

KEY = "arxiv:2602.99991"


@pytest.fixture
def accepted(store):
    store.upsert_paper(Paper(arxiv_id="2602.99991", version=1, title="Jailbreaking Audio LLMs with Songs",
                             abstract="We jailbreak audio LLMs.", date="2026-02-03"), "snapshot")
    store.set_status(KEY, "accepted", labels=["safety/jailbreak"], relevance=2, decided_by="model:test")
    return store


def git(cwd, *args):
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


def test_dry_run_prints_the_diff_and_writes_nothing(accepted, list_copy):
    before = (list_copy / "papers/safety/jailbreak.md").read_bytes()
    res = CliRunner().invoke(app, ["merge", "--dry-run", "--list-dir", str(list_copy), "--db", accepted.url])
    assert res.exit_code == 0, res.output
    assert "+- 2026/02/03 [*Jailbreaking Audio LLMs with Songs*](https://arxiv.org/abs/2602.99991)" in res.output
    assert (list_copy / "papers/safety/jailbreak.md").read_bytes() == before
    assert accepted.get_paper(KEY).merged_at is None


def test_git_commits_on_a_new_branch(accepted, list_copy):
    git(list_copy, "init", "-q")
    git(list_copy, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git(list_copy, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "list")
    env_args = ["merge", "--git", "--list-dir", str(list_copy), "--db", accepted.url]
    res = CliRunner(env={"GIT_AUTHOR_NAME": "tagger", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "tagger",
                         "GIT_COMMITTER_EMAIL": "t@t"}).invoke(app, env_args)
    assert res.exit_code == 0, res.output
    branch = git(list_copy, "rev-parse", "--abbrev-ref", "HEAD").strip()
    assert branch.startswith("trust-tagger/merge-") and branch in res.output
    assert git(list_copy, "status", "--porcelain") == ""
    assert "2602.99991" in git(list_copy, "show", "HEAD", "--", "papers/safety/jailbreak.md")


def test_git_refuses_a_list_outside_a_checkout(accepted, tmp_path, list_copy):
    res = CliRunner().invoke(app, ["merge", "--git", "--list-dir", str(list_copy), "--db", accepted.url])
    assert res.exit_code != 0 and "git checkout" in res.output


def test_run_killed_after_the_list_write_converges(accepted, list_copy, monkeypatch):
    settings = load_settings(list_dir=list_copy)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed between the list write and the bookkeeping")

    monkeypatch.setattr(accepted, "mark_merged", killed)
    with pytest.raises(KeyboardInterrupt):
        pipeline.merge_accepted(accepted, settings)
    after_crash = (list_copy / "papers/safety/jailbreak.md").read_text()
    assert after_crash.count("2602.99991") == 1
    assert not list(list_copy.rglob(".*.tmp"))
    monkeypatch.undo()
    again = pipeline.merge_accepted(accepted, settings)
    assert not again.added and again.already_listed == [KEY]
    assert (list_copy / "papers/safety/jailbreak.md").read_text() == after_crash
    assert accepted.get_paper(KEY).merged_at is not None


def test_schedule_explains_that_it_needs_a_real_prefect_server(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    res = CliRunner().invoke(app, ["schedule"])
    assert res.exit_code == 2 and "prefect server start" in res.output


def test_a_mistyped_list_dir_is_one_line_and_init_starts_a_list(accepted, tmp_path):
    typo = tmp_path / "awesome-lsit"
    res = CliRunner().invoke(app, ["merge", "--list-dir", str(typo), "--db", accepted.url])
    assert res.exit_code == 1 and not typo.exists()
    assert res.output.strip().count("\n") == 0 and "is not an awesome list" in res.output and "--init" in res.output
    assert accepted.get_paper(KEY).merged_at is None

    res = CliRunner().invoke(app, ["merge", "--init", "--list-dir", str(typo), "--db", accepted.url])
    assert res.exit_code == 0, res.output
    assert "2602.99991" in (typo / "papers/safety/jailbreak.md").read_text()
    assert accepted.get_paper(KEY).merged_at is not None
    res = CliRunner().invoke(app, ["merge", "--init", "--dry-run", "--list-dir", str(tmp_path / "x"), "--db", accepted.url])
    assert res.exit_code == 2 and not (tmp_path / "x").exists()


def test_a_non_utf8_list_file_is_named_in_one_line(accepted, list_copy):
    survey = list_copy / "collections/survey.md"
    survey.write_bytes(survey.read_bytes() + b"\n- broken \xff line\n")
    line_no = survey.read_bytes().count(b"\n")
    res = CliRunner().invoke(app, ["merge", "--list-dir", str(list_copy), "--db", accepted.url])
    assert res.exit_code == 1 and res.output.strip().count("\n") == 0
    assert f"collections/survey.md:{line_no}: not valid UTF-8" in res.output and "Traceback" not in res.output
    assert "2602.99991" not in (list_copy / "papers/safety/jailbreak.md").read_text()


def test_nightly_refuses_a_mistyped_list_dir_in_one_line(accepted, tmp_path):
    typo = tmp_path / "awesome-lsit"
    res = CliRunner().invoke(app, ["nightly", "--list-dir", str(typo), "--db", accepted.url])
    assert res.exit_code == 1 and "is not an awesome list" in res.output and not typo.exists()
    assert res.output.strip().count("\n") == 0 and accepted.runs() == []
# -- every error a user can cause: one line, a non-zero exit, no traceback (issue 10, case 16) -------


def one_line_error(res, *fragments):
    """The command failed with exactly one line on its output, naming what went wrong."""
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code != 0, res.output
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert "Traceback" not in res.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("db, fragment", [
    ("nonsense", "is not a database URL"),
    ("nonsense://host/db", "unknown database kind"),
    ("sqlite:////nonexistent-folder/x.db", "/nonexistent-folder does not exist"),
])
def test_a_bad_db_is_one_line(list_copy, db, fragment):
    res = CliRunner().invoke(app, ["merge", "--list-dir", str(list_copy), "--db", db])
    one_line_error(res, fragment)


def test_postgres_without_its_driver_is_one_line_naming_the_extra(list_copy, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)
    res = CliRunner().invoke(app, ["merge", "--list-dir", str(list_copy), "--db", "postgresql://u@127.0.0.1/db"])
    one_line_error(res, "trust-tagger[postgres]")


@pytest.mark.parametrize("window", [["--since", "2026-02-10", "--until", "2026-02-01"]])
def test_a_reversed_window_is_one_line(tmp_path, list_copy, window):
    res = CliRunner().invoke(app, ["nightly", "--no-prefect", *window, "--list-dir", str(list_copy),
                                   "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    assert res.exit_code == 1
    one_line_error(res, "empty date window", "--since 2026-02-10 is after --until 2026-02-01")


def test_an_empty_default_window_is_one_line(tmp_path, list_copy, store):
    store.set_meta(pipeline.WATERMARK.format(source="snapshot"), "2026-02-10")
    res = CliRunner().invoke(app, ["nightly", "--no-prefect", "--until", "2026-02-01", "--list-dir", str(list_copy),
                                   "--db", store.url], env={"TRUST_TAGGER_WINDOW_OVERLAP_DAYS": "0"})
    one_line_error(res, "empty date window", "2026-02-10")


def test_an_unknown_category_is_one_line(store):
    res = CliRunner().invoke(app, ["review", "--list", "--category", "nonsense", "--db", store.url])
    assert res.exit_code == 2
    one_line_error(res, "unknown category 'nonsense'", "safety")


def test_unreachable_arxiv_without_prefect_is_one_line_and_keeps_the_watermark(tmp_path, list_copy, store):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store.set_meta(pipeline.WATERMARK.format(source="arxiv"), "2025-05-31")
    env = {"TRUST_TAGGER_ARXIV_BASE_URL": f"http://127.0.0.1:{port}/api/query", "TRUST_TAGGER_ARXIV_MAX_RETRIES": "1",
           "TRUST_TAGGER_ARXIV_BACKOFF_SECONDS": "0.01", "TRUST_TAGGER_ARXIV_DELAY_SECONDS": "0"}
    res = CliRunner(env=env).invoke(app, ["nightly", "--no-prefect", "--source", "arxiv", "--since", "2025-06-01",
                                          "--until", "2025-06-02", "--list-dir", str(list_copy), "--db", store.url])
    line = one_line_error(res, "arXiv request failed after 2 attempts", "connection failed",
                          "the watermark stays at 2025-05-31")
    assert len(line) < 1200
    assert store.get_meta(pipeline.WATERMARK.format(source="arxiv")) == "2025-05-31"


def test_a_bad_setting_is_one_line_naming_where_it_came_from(tmp_path, list_copy, store):
    res = CliRunner(env={"TRUST_TAGGER_ARXIV_MAX_RETRIES": "lots"}).invoke(
        app, ["merge", "--list-dir", str(list_copy), "--db", store.url])
    one_line_error(res, "TRUST_TAGGER_ARXIV_MAX_RETRIES = 'lots' is not a whole number")
    config = tmp_path / "trust-tagger.toml"
    config.write_text('arxiv_page_sise = 50\n')
    res = CliRunner(env={"TRUST_TAGGER_CONFIG": str(config)}).invoke(
        app, ["merge", "--list-dir", str(list_copy), "--db", store.url])
    one_line_error(res, f"{config}: unknown setting 'arxiv_page_sise'")
    res = CliRunner(env={"TRUST_TAGGER_ARXIV_PAGE_SIZE": "5000"}).invoke(
        app, ["nightly", "--no-prefect", "--source", "arxiv", "--since", "2025-06-01", "--until", "2025-06-02",
              "--list-dir", str(list_copy), "--db", store.url])
    one_line_error(res, "page_size must be 1..2000")
