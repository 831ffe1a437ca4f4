"""Verbs of the nightly pipeline: ``nightly``, ``merge``, ``schedule``."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trust_tagger.cli.errors import CliError, one_line_run_logs
from trust_tagger.cli.options import DbOpt, InitListOpt, ListDirOpt, ReportsDirOpt, parse_date
from trust_tagger.config import load_settings

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def nightly(
        source: Annotated[str, typer.Option(help="'snapshot' (bundled, offline) or 'arxiv' (export API).")] = "snapshot",
        since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: day after the last run).")] = None,
        until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: today).")] = None,
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
        reports_dir: ReportsDirOpt = None,
        prefect: Annotated[bool, typer.Option("--prefect/--no-prefect", help="Run as a Prefect flow (tasks, artifact; "
                                              "a temporary server when none is configured) or as plain steps.")] = True,
        init: InitListOpt = False,
    ) -> None:
        """Run the nightly job: fetch, classify, route, merge accepted papers, write the report."""
        if source not in ("snapshot", "arxiv"):
            raise typer.BadParameter("use 'snapshot' or 'arxiv'", param_hint="--source")
        since_d, until_d = parse_date(since, "--since"), parse_date(until, "--until")
        if not init:  # refused here too, before Prefect starts its server and logs a traceback
            from trust_tagger.listfile.guard import require_list

            settings = load_settings(list_dir=list_dir, db_url=db)
            require_list(settings.path(settings.list_dir))
        if prefect:
            from flows.nightly import nightly as nightly_flow

            with one_line_run_logs():
                result = nightly_flow(source=source, since=since_d, until=until_d,
                                      list_dir=str(list_dir) if list_dir else None, db=db,
                                      reports_dir=str(reports_dir) if reports_dir else None, init_list=init)
        else:
            result = _nightly_without_prefect(source, since_d, until_d, list_dir, db, reports_dir, init)
        counts = result["counts"]
        for file, line in counts["merged_lines"]:
            console.print(f"[green]+[/green] {file}: {line.rstrip()}", highlight=False, soft_wrap=True)
        shown = {k: v for k, v in counts.items() if k not in ("merged_lines", "malformed_reasons")}
        console.print_json(json.dumps(shown))
        if counts.get("adjacent"):
            console.print(f"{counts['adjacent']} adjacent papers (relevant, not core) were left off the list by "
                          f"merge_policy=core: see {Path(result['dir']) / 'digest.md'} or the review page's "
                          f"adjacent view (trust-tagger serve-review)", highlight=False)
        console.print(f"report: {Path(result['dir']) / 'report.json'}")

    @app.command()
    def merge(
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff, write nothing.")] = False,
        git: Annotated[bool, typer.Option("--git", help="Commit the change on a new branch of the list's checkout.")] = False,
        init: InitListOpt = False,
    ) -> None:
        """Write every accepted paper missing from its list files into them and print the diff."""
        from trust_tagger.listfile.guard import init_list, list_writer
        from trust_tagger.nightly.steps import merge_accepted
        from trust_tagger.store.store import Store

        settings = load_settings(list_dir=list_dir, db_url=db)
        list_path = settings.path(settings.list_dir)
        if init:
            if dry_run:
                raise CliError("--init creates the list; run it without --dry-run", 2)
            if init_list(list_path):
                console.print(f"started a new list in {list_path}", highlight=False)
        if git and not dry_run:
            _require_git_checkout(list_path)
        say = lambda text: typer.echo(text, err=True)  # noqa: E731
        # The commit is part of the write: another merge must not slip its lines in before it.
        with list_writer(list_path, settings.list_lock_timeout_seconds, say):
            result = merge_accepted(Store(settings.resolved_db_url), settings, dry_run=dry_run, notify=say)
            typer.echo(result.diff or "nothing to merge", nl=not result.diff)  # a diff ends with its own newline
            for key, why in result.skipped:
                typer.echo(f"not merged: {key}: {why}", err=True)
            if git and not dry_run and result.changed_files:
                branch = _git_commit(list_path, result.changed_files, len(result.added))
                console.print(f"committed on branch {branch}")

    @app.command()
    def schedule(
        cron: Annotated[str, typer.Option(help="Cron for the nightly flow.")] = "0 3 * * *",
        retrain_cron: Annotated[str, typer.Option(help="Cron for the weekly retrain flow.")] = "0 4 * * 0",
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
        reports_dir: ReportsDirOpt = None,
    ) -> None:
        """Serve the nightly (and weekly retrain) flow on a cron. Needs a real Prefect server:
        `prefect server start` and PREFECT_API_URL=http://127.0.0.1:4200/api."""
        if not os.environ.get("PREFECT_API_URL"):
            console.print("[red]Scheduling needs a running Prefect server.[/red] Start one with "
                          "`prefect server start --host 127.0.0.1` and set "
                          "PREFECT_API_URL=http://127.0.0.1:4200/api (the temporary server cannot schedule).")
            raise typer.Exit(2)
        from flows.serve import serve_all

        serve_all(cron=cron, retrain_cron=retrain_cron, list_dir=str(list_dir) if list_dir else None, db=db,
                  reports_dir=str(reports_dir) if reports_dir else None)


def _nightly_without_prefect(source, since, until, list_dir, db, reports_dir=None, init=False) -> dict:
    """The same steps and lifecycle as the flow, no Prefect server; a due retrain runs in-process."""
    from trust_tagger.nightly.run import run_nightly
    from trust_tagger.retrain.loop import retrain, should_retrain
    from trust_tagger.store.store import Store

    settings = load_settings(list_dir=list_dir, db_url=db, reports_dir=reports_dir)
    store = Store(settings.resolved_db_url)
    result = run_nightly(settings, store, source=source, since=since, until=until, init_list=init)
    if should_retrain(store, settings):
        console.print("enough new review decisions: retraining now")
        retrain(settings, store)
    return result


def _require_git_checkout(path: Path) -> None:
    probe = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise typer.BadParameter(f"{path} is not inside a git checkout", param_hint="--list-dir")


def _git_commit(path: Path, files: list[str], n_lines: int) -> str:
    branch = f"trust-tagger/merge-{dt.datetime.now():%Y%m%d-%H%M%S}"
    run = lambda *args: subprocess.run(["git", "-C", str(path), *args], check=True,  # noqa: E731
                                       capture_output=True, text=True)
    run("checkout", "-b", branch)
    run("add", "--", *files)
    run("commit", "-m", f"Add {n_lines} paper lines found by trust-tagger")
    return branch
