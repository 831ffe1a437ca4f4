"""Verbs of the review queue: ``review`` (terminal) and ``serve-review`` (web page)."""

from __future__ import annotations

import getpass
import json
import os
import stat
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trust_tagger.cli.errors import CliError
from trust_tagger.cli.options import DbOpt, JsonOpt, ListDirOpt
from trust_tagger.config import load_settings


def _default_reviewer() -> str:
    """Whoever is logged in: over SSH that is the maintainer's own account."""
    try:
        return os.environ.get("TRUST_TAGGER_REVIEWER") or getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return ""


def read_token_file(path: Path) -> str:
    """The review token from a file (its first line): never from the command line, where ``ps`` and the
    shell history would show it. A file others can read is refused."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        lines = path.read_text().strip().splitlines()
    except FileNotFoundError as exc:
        raise CliError(f"--token-file {path}: no such file", 2) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"--token-file {path}: cannot read it ({exc.__class__.__name__})", 2) from exc
    token = lines[0].strip() if lines else ""
    if mode & 0o077:
        raise CliError(f"--token-file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}`", 2)
    if len(token) < 12:
        raise CliError(f"--token-file {path}: the token must be at least 12 characters", 2)
    return token


def register(app: typer.Typer) -> None:
    @app.command()
    def review(
        list_: Annotated[bool, typer.Option("--list", help="Print the queue in review order and exit.")] = False,
        as_json: JsonOpt = False,
        export: Annotated[Path | None, typer.Option("--export", help="Write all decisions (JSON lines) to FILE.",
                                                    metavar="FILE")] = None,
        reviewer: Annotated[str | None, typer.Option(help="Your name in the audit log (default: login name).")] = None,
        category: Annotated[str | None, typer.Option(help="Only papers predicted in this category.")] = None,
        since: Annotated[str | None, typer.Option(help="Only papers listed on or after YYYY-MM-DD.")] = None,
        until: Annotated[str | None, typer.Option(help="Only papers listed on or before YYYY-MM-DD.")] = None,
        search: Annotated[str | None, typer.Option(help="Only papers with these words in the title or authors, "
                                                   "or this arXiv id.")] = None,
        relevant_only: Annotated[bool, typer.Option("--relevant-only", help="Only papers predicted relevant.")] = False,
        paper: Annotated[list[str] | None, typer.Option("--paper", help="Review or correct these paper keys "
                                                        "(e.g. arxiv:2505.17568), auto-decided ones included.")] = None,
        plain: Annotated[bool, typer.Option("--plain", help="Line by line instead of full-screen "
                                            "(the default off a terminal).")] = False,
        db: DbOpt = None,
        list_dir: ListDirOpt = None,
    ) -> None:
        """Review the queue one paper a screen: a accept, e edit, r reject, d defer, s skip, u undo, b back,
        ? help, q quit."""
        from trust_tagger import review as rv
        from trust_tagger.review.export import decisions_path
        from trust_tagger.store.store import Store

        settings = load_settings(list_dir=list_dir, db_url=db)
        store = Store(settings.resolved_db_url)
        console = Console()
        index = rv.load_list_index(settings.path(settings.list_dir))
        try:
            filters = rv.QueueFilter(category=category, since=since, until=until, relevant_only=relevant_only,
                                     search=search).validate(index.taxonomy)
        except rv.ReviewError as exc:
            raise CliError(str(exc), 2) from exc
        if as_json and not list_:
            raise CliError("--json goes with --list", 2)
        if list_ or export:
            if list_:
                from trust_tagger.review.lines import print_queue, queue_rows

                papers = rv.load_queue(store, filters)
                if as_json:
                    typer.echo(json.dumps(queue_rows(papers), ensure_ascii=False, indent=2))
                else:
                    print_queue(papers, console)
            if export:
                count = rv.export_decisions(store, export)
                console.print(f"{count} decisions written to {export}", highlight=False)
            return
        name = reviewer or _default_reviewer()
        if not name:
            raise CliError("say who you are with --reviewer NAME", 2)
        unknown = [k for k in paper or [] if rv.get_paper(store, k) is None]
        if unknown:
            raise CliError(f"no such paper in {settings.resolved_db_url}: {', '.join(unknown)}", 2)
        kwargs = dict(filters=filters, index=index, keys=paper or None, console=console,
                      export_path=decisions_path(settings))
        if plain or not (sys.stdin.isatty() and sys.stdout.isatty()):
            from trust_tagger.review.lines import run_review

            run_review(store, name, **kwargs)
        else:
            from trust_tagger.review.tui import run_tui

            run_tui(store, name, **kwargs)

    @app.command("serve-review")
    def serve_review(
        host: Annotated[str, typer.Option(help="Interface to bind; localhost unless you mean otherwise.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8000,
        token_file: Annotated[Path | None, typer.Option("--token-file", help="File holding the review token "
                                                        "(mode 600). Or set TRUST_TAGGER_REVIEW_TOKEN. Without "
                                                        "either the page is read-only.", dir_okay=False)] = None,
        https: Annotated[bool | None, typer.Option("--https/--no-https", help="Served behind HTTPS (a TLS proxy): "
                                                   "Secure cookies (setting review_https).")] = None,
        db: DbOpt = None,
        list_dir: ListDirOpt = None,
    ) -> None:
        """Serve the review queue as a web page. Log in with your name and the review token."""
        from trust_tagger.review.web import serve

        settings = load_settings(list_dir=list_dir, db_url=db, review_https=https)
        token = read_token_file(token_file) if token_file is not None else None
        err = Console(stderr=True)
        if not (token or settings.review_token):
            err.print("No review token: the page is read-only. Allow decisions with --token-file FILE "
                      "(a file only you can read) or TRUST_TAGGER_REVIEW_TOKEN.", highlight=False)
        else:
            err.print("Reviewers log in at /login with their name and the review token "
                      f"({'from ' + str(token_file) if token_file else 'TRUST_TAGGER_REVIEW_TOKEN / config'}).",
                      highlight=False)
        serve(settings, host=host, port=port, token=token)
