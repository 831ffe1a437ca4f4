"""Verbs of the review queue: ``review`` (terminal) and ``serve-review`` (web page)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trust_tagger.cli.errors import CliError
from trust_tagger.cli.options import DbOpt, ListDirOpt
from trust_tagger.config import load_settings


def _default_reviewer() -> str:
    """Whoever is logged in: over SSH that is the maintainer's own account."""
    try:
        return os.environ.get("TRUST_TAGGER_REVIEWER") or getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return ""


def register(app: typer.Typer) -> None:
    @app.command()
    def review(
        list_: Annotated[bool, typer.Option("--list", help="Print the queue in review order and exit.")] = False,
        export: Annotated[Path | None, typer.Option("--export", help="Write all decisions (JSON lines) to FILE.",
                                                    metavar="FILE")] = None,
        reviewer: Annotated[str | None, typer.Option(help="Your name in the audit log (default: login name).")] = None,
        category: Annotated[str | None, typer.Option(help="Only papers predicted in this category.")] = None,
        since: Annotated[str | None, typer.Option(help="Only papers listed on or after YYYY-MM-DD.")] = None,
        relevant_only: Annotated[bool, typer.Option("--relevant-only", help="Only papers predicted relevant.")] = False,
        paper: Annotated[list[str] | None, typer.Option("--paper", help="Review or correct these paper keys "
                                                        "(e.g. arxiv:2505.17568), auto-decided ones included.")] = None,
        db: DbOpt = None,
        list_dir: ListDirOpt = None,
    ) -> None:
        """Review the queue one paper a screen: a accept, e edit, r reject, d defer, s skip, q quit."""
        from trust_tagger import review as rv
        from trust_tagger.review.export import decisions_path
        from trust_tagger.review.tui import print_queue, run_review
        from trust_tagger.store.store import Store

        settings = load_settings(list_dir=list_dir, db_url=db)
        store = Store(settings.resolved_db_url)
        console = Console()
        try:
            filters = rv.QueueFilter(category=category, since=since, relevant_only=relevant_only)
        except rv.ReviewError as exc:
            raise CliError(str(exc), code=2) from exc
        if list_ or export:
            if list_:
                print_queue(rv.load_queue(store, filters), console)
            if export:
                count = rv.export_decisions(store, export)
                console.print(f"{count} decisions written to {export}", highlight=False)
            return
        name = reviewer or _default_reviewer()
        if not name:
            raise typer.BadParameter("say who you are", param_hint="--reviewer")
        index = rv.load_list_index(settings.path(settings.list_dir))
        run_review(store, name, filters=filters, index=index, keys=paper or None, console=console,
                   export_path=decisions_path(settings))

    @app.command("serve-review")
    def serve_review(
        host: Annotated[str, typer.Option(help="Interface to bind; localhost unless you mean otherwise.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port.")] = 8000,
        db: DbOpt = None,
        list_dir: ListDirOpt = None,
    ) -> None:
        """Serve the review queue as a web page (writes need `review_token` from the config)."""
        from trust_tagger.review.web import serve

        settings = load_settings(list_dir=list_dir, db_url=db)
        if not settings.review_token:
            Console().print("No review_token configured: the page is read-only "
                            "(set TRUST_TAGGER_REVIEW_TOKEN or review_token in trust-tagger.toml).")
        serve(settings, host=host, port=port)
