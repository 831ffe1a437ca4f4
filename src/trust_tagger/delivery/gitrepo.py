"""The few git operations delivery needs, through the ``git`` command the maintainer already has
(its credentials, hooks and config apply; nothing here stores a secret)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from trust_tagger.delivery import DeliveryError


def git(path: Path | str, *args: str) -> str:
    """Run one git command in ``path``; a failure becomes a one-line DeliveryError with git's reason."""
    proc = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        reason = " ".join((proc.stderr or proc.stdout).split()) or f"exit {proc.returncode}"
        raise DeliveryError(f"git {' '.join(args[:2])} failed in {path}: {reason}")
    return proc.stdout


def require_checkout(path: Path | str) -> Path:
    """The top of the git checkout holding ``path``."""
    try:
        return Path(git(path, "rev-parse", "--show-toplevel").strip())
    except DeliveryError:
        raise DeliveryError(f"{path} is not inside a git checkout (needed to commit the merged lines)") from None


def current_branch(path: Path | str) -> str:
    branch = git(path, "rev-parse", "--abbrev-ref", "HEAD").strip()
    if branch == "HEAD":
        raise DeliveryError(f"{path} has a detached HEAD; check out the branch pull requests should target")
    return branch


def changed_paths(path: Path | str) -> list[str]:
    """Uncommitted changes and untracked files, as ``git status`` lists them."""
    return [line[3:] for line in git(path, "status", "--porcelain", "--untracked-files=all").splitlines()]


def untracked(path: Path | str, files: list[str]) -> list[str]:
    listed = set(git(path, "ls-files", "--others", "--exclude-standard", "--", *files).splitlines()) if files else set()
    return [f for f in files if f in listed]


def commit_on_new_branch(path: Path | str, files: list[str], message: str, branch: str) -> str:
    """Create ``branch`` at HEAD, commit exactly ``files`` on it, return the commit id."""
    git(path, "checkout", "-q", "-b", branch)
    git(path, "add", "--", *files)
    git(path, "commit", "-q", "-m", message, "--", *files)
    return git(path, "rev-parse", "HEAD").strip()


def switch(path: Path | str, branch: str) -> None:
    git(path, "checkout", "-q", branch)


def push(path: Path | str, remote: str, branch: str) -> None:
    git(path, "push", "-q", remote, f"{branch}:refs/heads/{branch}")


def remote_url(path: Path | str, remote: str) -> str:
    try:
        return git(path, "remote", "get-url", remote).strip()
    except DeliveryError:
        raise DeliveryError(f"the list checkout {path} has no remote {remote!r} (setting github_remote)") from None


def fast_forward(path: Path | str, remote: str, branch: str) -> None:
    """Bring ``branch`` up to the remote's, so tonight's merge sees the pull requests merged since."""
    git(path, "fetch", "-q", remote, branch)
    try:
        git(path, "merge", "-q", "--ff-only", "FETCH_HEAD")
    except DeliveryError:
        raise DeliveryError(f"{branch} in {path} has diverged from {remote}/{branch}; "
                            "reconcile it by hand (the nightly only fast-forwards)") from None
