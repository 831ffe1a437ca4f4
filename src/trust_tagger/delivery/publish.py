"""Delivering a merge as git history: ``git`` mode commits the lines on a new branch of the list
checkout (and stays there, as ``merge --git`` always did); ``pr`` mode also pushes the branch, opens a
pull request whose body is the night's digest, and returns the checkout to its base branch, so the
maintainers accept the night's additions with one click.

The publisher runs between the list write and the store's bookkeeping (``merge_accepted(publish=)``):
if pushing or GitHub fails, the checkout is put back on its base branch as it was, the papers stay
"not merged" in the store, and the next run merges and proposes them again: a failed delivery never
loses a paper. Before a pr-mode run fetches anything, :meth:`Publisher.prepare` checks the checkout is
clean, the token and repository are known, and fast-forwards the base branch, so the night merges
against what the maintainers have accepted since.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from trust_tagger.config import Settings
from trust_tagger.delivery import DeliveryError
from trust_tagger.delivery import github as G
from trust_tagger.delivery import gitrepo as git

MODES = ("direct", "git", "pr")


@dataclass
class Publisher:
    mode: str  # "git" or "pr"
    checkout: Path
    list_dir: Path
    branch: str
    base: str
    remote: str = "origin"
    repo: str = ""
    token: str = field(default="", repr=False)
    api_url: str = ""
    done: dict = field(default_factory=dict)  # what was delivered: branch, commit, pull_request

    @classmethod
    def prepare(cls, settings: Settings, mode: str, branch: str) -> Publisher | None:
        """None for ``direct``; otherwise check everything a delivery needs, before any work is done."""
        if mode not in MODES:
            raise ValueError(f"merge mode must be one of {', '.join(MODES)}, got {mode!r}")
        if mode == "direct":
            return None
        list_dir = settings.path(settings.list_dir)
        checkout = git.require_checkout(list_dir)
        pub = cls(mode=mode, checkout=checkout, list_dir=list_dir, branch=branch,
                  base=settings.github_base or git.current_branch(checkout), remote=settings.github_remote)
        if mode == "pr":
            dirty = git.changed_paths(checkout)
            if dirty:
                raise DeliveryError(f"the list checkout {checkout} has uncommitted changes ({', '.join(dirty[:3])}"
                                    f"{' …' if len(dirty) > 3 else ''}); pr mode commits only the night's lines")
            pub.repo = settings.github_repo or G.repo_from_url(git.remote_url(checkout, pub.remote)) or ""
            if not pub.repo:
                raise DeliveryError(f"cannot tell the GitHub repository from remote {pub.remote!r} of {checkout}; "
                                    "set github_repo = \"owner/name\"")
            pub.token, pub.api_url = G.token_from_env(), settings.github_api_url
            if git.current_branch(checkout) != pub.base:
                git.switch(checkout, pub.base)
            git.fast_forward(checkout, pub.remote, pub.base)
        return pub

    def __call__(self, changed_files: list[str], n_lines: int, body: str) -> dict:
        """Commit ``changed_files`` (relative to the list folder) and, in pr mode, open the pull request."""
        files = [os.path.relpath(self.list_dir / f, self.checkout) for f in changed_files]
        created = git.untracked(self.checkout, files)
        message = f"Add {n_lines} paper line(s) found by trust-tagger"
        try:
            commit = git.commit_on_new_branch(self.checkout, files, message, self.branch)
            self.done = {"branch": self.branch, "commit": commit}
            if self.mode == "pr":
                git.push(self.checkout, self.remote, self.branch)
                pr = G.open_pull_request(self.api_url, self.token, self.repo, head=self.branch, base=self.base,
                                         title=f"trust-tagger: {n_lines} new paper line(s), {dt.date.today()}",
                                         body=body)
                self.done["pull_request"] = pr.url
                git.switch(self.checkout, self.base)
        except BaseException:
            if self.mode == "pr":
                self._restore(files, created)
            raise
        return self.done

    def _restore(self, files: list[str], created: list[str]) -> None:
        """Back to the base branch with the night's edits undone (the store will re-propose them)."""
        try:
            if git.current_branch(self.checkout) != self.base:
                git.git(self.checkout, "checkout", "-q", "-f", self.base)
            else:
                git.git(self.checkout, "checkout", "-q", "--", *[f for f in files if f not in created])
        finally:
            for f in created:
                (self.checkout / f).unlink(missing_ok=True)
