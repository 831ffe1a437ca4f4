"""Opening the night's pull request on the list's GitHub repository, with githubkit.

Only one endpoint is called, ``POST /repos/{owner}/{repo}/pulls``, and the answer is read as plain
JSON (``html_url``, ``number``) rather than validated into githubkit's full model, so a GitHub
Enterprise server or a test double that answers with the documented fields is enough. The base
URL is the ``github_api_url`` setting; the token comes from ``GITHUB_TOKEN`` (or ``GH_TOKEN``) and is
never written anywhere.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from trust_tagger.delivery import DeliveryError

TOKEN_VARS = ("GITHUB_TOKEN", "GH_TOKEN")
MAX_BODY = 65536  # GitHub rejects a longer pull-request body with 422 ("body is too long")
# git@github.com:owner/name.git, ssh://git@host/owner/name, https://host/owner/name(.git)
_REPO_IN_URL = re.compile(r"^(?:[a-z+]+://)?(?:[^@/]+@)?[^/:]+[:/](?P<repo>[^/\s]+/[^/\s]+?)(?:\.git)?/?$")


@dataclass
class PullRequest:
    number: int
    url: str


def repo_from_url(url: str) -> str | None:
    """``owner/name`` from a remote URL, or None for a URL that names no GitHub-style repository."""
    match = _REPO_IN_URL.match(url.strip())
    return match.group("repo") if match and not url.startswith(("/", "file:", ".")) else None


def fit_body(body: str, limit: int = MAX_BODY) -> str:
    """The body cut at a line boundary to GitHub's limit, saying that it was (a two-week window with
    ~90 queued papers makes a ~55 kB digest)."""
    if len(body) <= limit:
        return body
    note = "\n\n… the digest is longer than GitHub allows; the full text is in the run's digest.md.\n"
    cut = body[: limit - len(note)].rsplit("\n", 1)[0]
    return cut + note


def token_from_env() -> str:
    for name in TOKEN_VARS:
        if os.environ.get(name):
            return os.environ[name]
    raise DeliveryError("opening a pull request needs a GitHub token in GITHUB_TOKEN (or GH_TOKEN) "
                        "with permission to open pull requests on the list's repository")


def open_pull_request(api_url: str, token: str, repo: str, *, head: str, base: str, title: str,
                      body: str) -> PullRequest:
    from githubkit import GitHub
    from githubkit.exception import GitHubException, RequestFailed

    owner, _, name = repo.partition("/")
    if not owner or not name:
        raise DeliveryError(f"github_repo must be 'owner/name', got {repo!r}")
    with GitHub(token, base_url=api_url, http_cache=False, auto_retry=False, timeout=30.0) as gh:
        try:
            response = gh.rest.pulls.create(owner, name, title=title, head=head, base=base,
                                             body=fit_body(body))
        except RequestFailed as exc:
            detail = _message(exc.response)
            raise DeliveryError(f"GitHub refused the pull request on {repo} "
                                f"(HTTP {exc.response.status_code}): {detail}") from None
        except GitHubException as exc:
            raise DeliveryError(f"GitHub at {api_url} could not be reached: {exc}") from None
    data = response.json()
    return PullRequest(number=int(data["number"]), url=str(data["html_url"]))


def _message(response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    errors = "; ".join(str(e.get("message", e)) for e in data.get("errors", []) if isinstance(e, dict))
    return " ".join(filter(None, [str(data.get("message", "")), errors])) or response.text[:200]
