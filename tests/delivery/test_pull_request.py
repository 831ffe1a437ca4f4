"""Delivery as a pull request (issue 12, item 5), against a local fake of GitHub's REST endpoint and a
bare git repository standing in for the list's GitHub remote: the night's lines are committed on a
new branch, pushed, and proposed with the digest as the body; the checkout goes back to its base
branch; a refused pull request loses nothing and the next run proposes the same papers again."""

import datetime as dt
import subprocess

import pytest
from typer.testing import CliRunner

from doubles import keyword_steps
from github_server import FakeGitHub
from trust_tagger.cli import app
from trust_tagger.config import load_settings
from trust_tagger.delivery import DeliveryError
from trust_tagger.delivery.github import repo_from_url
from trust_tagger.ingest.records import Paper
from trust_tagger.nightly import run as N
from trust_tagger.store.store import Store

WINDOW = (dt.date(2026, 2, 1), dt.date(2026, 2, 7))  # two jailbreak papers (accepted), deepfake ones (queued)
TOKEN = "ghp_test-token"


def git(cwd, *args):
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def remote(tmp_path, list_copy, monkeypatch):
    """The list checkout on `main`, cloned from (and pushing to) a bare repository."""
    for var, value in {"GIT_AUTHOR_NAME": "tagger", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "tagger",
                       "GIT_COMMITTER_EMAIL": "t@t", "GITHUB_TOKEN": TOKEN}.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    git(list_copy, "init", "-q", "-b", "main")
    git(list_copy, "add", "-A")
    git(list_copy, "commit", "-qm", "the list")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(list_copy, "remote", "add", "origin", str(bare))
    git(list_copy, "push", "-q", "origin", "main")
    return bare


@pytest.fixture
def github(remote):
    with FakeGitHub(bare_repo=remote) as fake:
        yield fake


@pytest.fixture
def settings(tmp_path, list_copy, github):
    return load_settings(list_dir=list_copy, db_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                         reports_dir=tmp_path / "reports", merge_mode="pr", github_repo="maintainers/awesome-list",
                         github_api_url=github.url, review_url="https://review.example.org")


def test_a_night_in_pr_mode_opens_one_pull_request_with_the_digest(settings, github, remote, list_copy):
    store = Store(settings.resolved_db_url)
    before = git(list_copy, "rev-parse", "HEAD").strip()
    result = N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps())
    counts = result["counts"]
    assert counts["accepted"] >= 1 and counts["merged"] >= 1

    (pull,) = github.pulls
    (request,) = [r for r in github.requests if r["method"] == "POST"]
    assert request["path"] == "/api/v3/repos/maintainers/awesome-list/pulls"
    assert request["headers"]["authorization"].endswith(TOKEN)
    assert pull["base"]["ref"] == "main" and pull["head"]["ref"] == counts["branch"]
    assert counts["pull_request"] == pull["html_url"]
    for paper in store.papers(status="accepted"):
        assert paper.title in pull["body"]  # the digest is the body
    assert "## Queued for review" in pull["body"] and "https://review.example.org/paper/arxiv:" in pull["body"]

    pushed = git(remote, "show", f"{counts['branch']}", "--", "papers/safety/jailbreak.md")
    for _, line in counts["merged_lines"]:
        assert line.strip() in pushed
    assert git(list_copy, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(list_copy, "rev-parse", "HEAD").strip() == before and git(list_copy, "status", "--porcelain") == ""
    assert git(remote, "rev-parse", "main").strip() == before  # nothing lands without the maintainers' click
    assert all(p.merged_at is not None for p in store.papers(status="accepted"))
    assert f"Pull request: {pull['html_url']}" in result["markdown"]

    again = N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps())
    assert again["counts"]["merged"] == 0 and "pull_request" not in again["counts"] and len(github.pulls) == 1


def test_a_refused_pull_request_loses_nothing_and_the_next_night_proposes_again(settings, github, list_copy):
    store = Store(settings.resolved_db_url)
    github.fail_next(403, "Resource not accessible by personal access token")
    with pytest.raises(DeliveryError, match="HTTP 403.*Resource not accessible"):
        N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps())
    assert git(list_copy, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(list_copy, "status", "--porcelain") == ""  # the night's edits were undone
    accepted = store.papers(status="accepted")
    assert accepted and all(p.merged_at is None for p in accepted)
    assert store.runs()[-1].status == "failed" and store.get_meta("watermark:snapshot") is None

    retry = N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps())
    (pull,) = github.pulls
    assert retry["counts"]["pull_request"] == pull["html_url"]
    assert all(p.title in pull["body"] for p in accepted)


def test_pr_mode_checks_everything_before_fetching(settings, list_copy, monkeypatch):
    store = Store(settings.resolved_db_url)
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(DeliveryError, match="GITHUB_TOKEN"):
        N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps())
    assert store.papers() == []  # failed before fetching anything
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    (list_copy / "README.md").write_text("edited by hand\n")
    with pytest.raises(DeliveryError, match="uncommitted changes"):
        N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps())


def test_merge_pr_verb(settings, github, list_copy, tmp_path):
    store = Store(settings.resolved_db_url)
    store.upsert_paper(Paper(arxiv_id="2602.99991", version=1, title="Jailbreaking Audio LLMs with Songs",
                             abstract="We jailbreak audio LLMs.", date="2026-02-03", authors=["Ada Lovelace"]),
                       "snapshot")
    store.set_status("arxiv:2602.99991", "accepted", labels=["safety/jailbreak"], relevance=2, decided_by="reviewer:ann")
    args = ["merge", "--pr", "--list-dir", str(list_copy), "--db", store.url]
    res = CliRunner(env={"TRUST_TAGGER_GITHUB_API_URL": github.url,
                         "TRUST_TAGGER_GITHUB_REPO": "maintainers/awesome-list"}).invoke(app, args)
    assert res.exit_code == 0, res.output
    (pull,) = github.pulls
    assert pull["html_url"] in res.output and "Jailbreaking Audio LLMs with Songs" in pull["body"]
    assert "Ada Lovelace" in pull["body"]
    assert git(list_copy, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


@pytest.mark.parametrize("url, repo", [
    ("git@github.com:Kwwwww74/Awesome-Trustworthy-AudioLLMs.git", "Kwwwww74/Awesome-Trustworthy-AudioLLMs"),
    ("https://github.com/Kwwwww74/Awesome-Trustworthy-AudioLLMs", "Kwwwww74/Awesome-Trustworthy-AudioLLMs"),
    ("https://x-access-token@github.example.org/team/list.git/", "team/list"),
    ("ssh://git@github.com/team/list.git", "team/list"),
    ("/srv/git/list.git", None),
    ("file:///srv/git/list.git", None),
])
def test_repository_from_the_remote_url(url, repo):
    assert repo_from_url(url) == repo


def test_nightly_git_mode_commits_on_a_branch_without_github(settings, github, list_copy):
    store = Store(settings.resolved_db_url)
    result = N.run_nightly(settings, store, since=WINDOW[0], until=WINDOW[1], run_step=keyword_steps(),
                           merge_mode="git")
    branch = result["counts"]["branch"]
    assert branch.startswith("trust-tagger/nightly-") and "pull_request" not in result["counts"]
    assert git(list_copy, "rev-parse", "--abbrev-ref", "HEAD").strip() == branch  # as `merge --git` does
    assert git(list_copy, "status", "--porcelain") == "" and github.requests == []
    shown = git(list_copy, "show", "HEAD", "--", "papers/safety/jailbreak.md")
    assert all(line.strip() in shown for _, line in result["counts"]["merged_lines"])
