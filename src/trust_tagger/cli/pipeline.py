"""Verbs of the nightly pipeline: ``nightly``, ``merge``, ``schedule``, ``backfill``."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trust_tagger.cli.errors import CliError
from trust_tagger.cli.options import DbOpt, InitListOpt, ListDirOpt, ModelOpt, ReportsDirOpt, parse_date
from trust_tagger.config import SOURCES, load_settings

console = Console()

SourceOpt = Annotated[str | None, typer.Option(help="'snapshot' (bundled, offline) or 'arxiv' (export API); "
                                               "default: the `source` setting.")]


def _check_source(source: str | None) -> None:
    if source is not None and source not in SOURCES:
        raise typer.BadParameter("use 'snapshot' or 'arxiv'", param_hint="--source")


def _merge_mode(git: bool, pr: bool) -> str | None:
    """--pr opens a pull request, --git only commits on a branch; neither: the merge_mode setting."""
    if git and pr:
        raise typer.BadParameter("--git commits on a branch, --pr also opens a pull request: pick one")
    return "pr" if pr else "git" if git else None


GitOpt = Annotated[bool, typer.Option("--git", help="Commit the merged lines on a new branch of the list's checkout.")]
PrOpt = Annotated[bool, typer.Option("--pr", help="Commit on a new branch, push it and open a pull request on the "
                                     "list's GitHub repository (token: GITHUB_TOKEN); see merge_mode.")]


def register(app: typer.Typer) -> None:
    @app.command()
    def nightly(
        source: SourceOpt = None,
        since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: day after the last run).")] = None,
        until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: today).")] = None,
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
        reports_dir: ReportsDirOpt = None,
        git: GitOpt = False,
        pr: PrOpt = False,
        prefect: Annotated[bool, typer.Option("--prefect/--no-prefect", help="Run as a Prefect flow (tasks, artifact; "
                                              "a temporary server when none is configured) or as plain steps.")] = True,
        init: InitListOpt = False,
    ) -> None:
        """Run the nightly job: fetch, classify, route, merge accepted papers, deliver, write the report."""
        _check_source(source)
        since_d, until_d = parse_date(since, "--since"), parse_date(until, "--until")
        mode = _merge_mode(git, pr)
        settings = load_settings(list_dir=list_dir, db_url=db, reports_dir=reports_dir)
        source = source or settings.run_source()
        if not init:  # refused here too, before Prefect starts its server and logs a traceback
            from trust_tagger.listfile.guard import require_list

            require_list(settings.path(settings.list_dir))
        if prefect:
            from flows.nightly import nightly as nightly_flow

            result = nightly_flow(source=source, since=since_d, until=until_d,
                                  list_dir=str(list_dir) if list_dir else None, db=db,
                                  reports_dir=str(reports_dir) if reports_dir else None, init_list=init,
                                  merge_mode=mode)
        else:
            result = _nightly_without_prefect(settings, source, since_d, until_d, mode, init)
        counts = result["counts"]
        for file, line in counts["merged_lines"]:
            console.print(f"[green]+[/green] {file}: {line.rstrip()}", highlight=False, soft_wrap=True)
        shown = {k: v for k, v in counts.items() if k not in ("merged_lines", "malformed_reasons")}
        console.print_json(json.dumps(shown))
        if counts.get("adjacent"):
            console.print(f"{counts['adjacent']} adjacent papers (relevant, not core) were left off the list by "
                          f"merge_policy=core: see {Path(result['dir']) / 'digest.md'} or the review page's "
                          f"adjacent view (trust-tagger serve-review)", highlight=False)
        if counts.get("pull_request"):
            console.print(f"pull request: {counts['pull_request']}")
        elif counts.get("branch"):
            console.print(f"committed on branch {counts['branch']}")
        console.print(f"report: {Path(result['dir']) / 'report.json'}")

    @app.command()
    def merge(
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff, write nothing.")] = False,
        git: GitOpt = False,
        pr: PrOpt = False,
        init: InitListOpt = False,
    ) -> None:
        """Write every accepted paper missing from its list files into them and print the diff."""
        from trust_tagger.delivery.publish import Publisher
        from trust_tagger.listfile.guard import init_list
        from trust_tagger.nightly.report import digest_text
        from trust_tagger.nightly.steps import merge_accepted
        from trust_tagger.store.store import Store

        settings = load_settings(list_dir=list_dir, db_url=db)
        list_path = settings.path(settings.list_dir)
        if init:
            if dry_run:
                raise CliError("--init creates the list; run it without --dry-run", 2)
            if init_list(list_path):
                console.print(f"started a new list in {list_path}", highlight=False)
        mode = "direct" if dry_run else (_merge_mode(git, pr) or settings.merge_mode)
        store = Store(settings.resolved_db_url)
        publisher = Publisher.prepare(settings, mode, f"trust-tagger/merge-{dt.datetime.now():%Y%m%d-%H%M%S}")

        def publish(result, written_keys):
            n = len({line for _, line in result.added})
            today = dt.date.today().isoformat()
            counts = {"since": today, "until": today, "source": "store", "fetched": 0, "classified": 0,
                      "accepted": len(written_keys), "queued": 0, "rejected": 0, "merged": n}
            publisher(result.changed_files, n, digest_text(store, settings, counts, [], written_keys))

        say = lambda text: typer.echo(text, err=True)  # noqa: E731
        result = merge_accepted(store, settings, dry_run=dry_run, notify=say,
                                publish=publish if publisher else None, proposed_once=mode == "pr")
        typer.echo(result.diff or "nothing to merge", nl=not result.diff)  # a diff ends with its own newline
        for key, why in result.skipped:
            typer.echo(f"not merged: {key}: {why}", err=True)
        if publisher and publisher.done.get("pull_request"):
            console.print(f"pull request: {publisher.done['pull_request']}")
        elif publisher and publisher.done.get("branch"):
            console.print(f"committed on branch {publisher.done['branch']}")

    @app.command()
    def schedule(
        cron: Annotated[str, typer.Option(help="Cron for the nightly flow.")] = "0 3 * * *",
        retrain_cron: Annotated[str, typer.Option(help="Cron for the weekly retrain flow.")] = "0 4 * * 0",
        source: SourceOpt = None,
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
        reports_dir: ReportsDirOpt = None,
    ) -> None:
        """Serve the nightly (and weekly retrain) flow on a cron, with these settings (source: arXiv
        unless the `source` setting says otherwise). Needs a running Prefect server
        (`prefect server start`) and PREFECT_API_URL pointing at it."""
        _check_source(source)
        api = os.environ.get("PREFECT_API_URL")
        if not api:
            from prefect.settings import Settings as PrefectSettings

            server = PrefectSettings().server.api  # read now: the port a `prefect server start` here would use
            host, port = server.host, server.port
            raise CliError("scheduling needs a running Prefect server (the temporary one cannot schedule): start "
                           f"one with `prefect server start --host {host}` and set PREFECT_API_URL to the API "
                           f"address it prints (http://{host}:{port}/api with the current settings)", code=2)
        _require_server(api)
        from flows.serve import serve_all

        settings = load_settings(list_dir=list_dir, db_url=db, reports_dir=reports_dir)
        console.print(f"serving the nightly ({cron}, source {source or settings.run_source(scheduled=True)}) and the "
                      f"weekly retrain ({retrain_cron}) on {api}; Ctrl-C stops (and pauses the schedules)")
        serve_all(settings, cron=cron, retrain_cron=retrain_cron, source=source)

    @app.command()
    def backfill(
        since: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")],
        until: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD.")],
        source: SourceOpt = None,
        chunk_days: Annotated[int | None, typer.Option(help="Days per chunk (default: backfill_chunk_days).")] = None,
        workers: Annotated[int, typer.Option(help="Threads, or Dask worker processes with --dask.")] = 2,
        dask: Annotated[bool, typer.Option("--dask", help="Classify on a local Dask cluster of --workers "
                                           "processes (needs the dask extra: pip install prefect-dask).")] = False,
        dask_address: Annotated[str | None, typer.Option(help="Scheduler of an existing Dask cluster, "
                                                         "e.g. tcp://10.0.0.5:8786.")] = None,
        threads: Annotated[int, typer.Option(help="Torch threads per worker (0: cores / workers with --dask).")] = 0,
        model: ModelOpt = None,
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
        prefect: Annotated[bool, typer.Option("--prefect/--no-prefect", help="Prefect's task runner (threads or "
                                              "Dask) or plain in-process steps.")] = True,
    ) -> None:
        """Classify a long history in chunks (resumable) into the store; accepted papers wait for
        `merge` (or the next night), uncertain ones join the review queue."""
        _check_source(source)
        since_d, until_d = parse_date(since, "--since"), parse_date(until, "--until")
        if workers < 1:
            raise typer.BadParameter("at least 1", param_hint="--workers")
        settings = load_settings(list_dir=list_dir, db_url=db)
        source = source or settings.run_source()
        if dask and not threads:
            threads = max(1, (os.cpu_count() or 1) // workers)
        if prefect:
            from flows.backfill import run

            result = run(since_d, until_d, workers=workers, dask=dask, dask_address=dask_address, source=source,
                         chunk_days=chunk_days, threads=threads, list_dir=str(list_dir) if list_dir else None, db=db,
                         model_dir=str(model) if model else None)
        else:
            if dask or dask_address:
                raise CliError("--dask needs Prefect's task runner: drop --no-prefect", code=2)
            from trust_tagger.nightly.backfill import model_at, run_backfill
            from trust_tagger.store.store import Store

            result = run_backfill(settings, Store(settings.resolved_db_url), since_d, until_d, source=source,
                                  chunk_days=chunk_days, threads=threads, say=console.print,
                                  model=model_at(model) if model else None).to_dict()
        console.print_json(json.dumps(result))
        if result["accepted"]:
            console.print(f"{result['accepted']} accepted paper(s) wait for `trust-tagger merge` (or the next night)")


def _require_server(api: str) -> None:
    """One line instead of a retry storm when PREFECT_API_URL points at nothing."""
    import httpx

    try:
        httpx.get(api.rstrip("/") + "/health", timeout=5.0).raise_for_status()
    except httpx.HTTPError as exc:
        raise CliError(f"no Prefect server answers at PREFECT_API_URL={api} ({type(exc).__name__}); "
                       "is `prefect server start` running?", code=2) from None


def _nightly_without_prefect(settings, source, since, until, merge_mode, init=False) -> dict:
    """The same steps and lifecycle as the flow, no Prefect server; a due retrain runs in-process."""
    from trust_tagger.nightly.run import run_nightly
    from trust_tagger.retrain.loop import retrain, should_retrain
    from trust_tagger.store.store import Store

    store = Store(settings.resolved_db_url)
    result = run_nightly(settings, store, source=source, since=since, until=until, merge_mode=merge_mode,
                         init_list=init)
    if should_retrain(store, settings):
        console.print("enough new review decisions: retraining now")
        retrain(settings, store)
    return result
