"""Verbs of retraining: ``retrain`` (train a candidate, gate it, promote or keep) and ``audit-labels``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trust_tagger.cli.options import DbOpt, ListDirOpt, ReportsDirOpt
from trust_tagger.config import load_settings

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def retrain(
        base_model: Annotated[str | None, typer.Option("--base-model", help="HF model id or local folder (default: settings.base_model).")] = None,
        epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Fine-tuning epochs of the candidate.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Train even when the labels did not change since the current model.")] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what it would do (labels, new decisions, "
                                              "expected time) and write nothing.")] = False,
        prefect: Annotated[bool, typer.Option("--prefect/--no-prefect", help="Run as a Prefect flow (progress in "
                                              "its log) or in-process (a progress bar).")] = True,
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
        reports_dir: ReportsDirOpt = None,
        update: Annotated[str, typer.Option("--update", help="full: fine-tune a candidate (minutes); heads: refit the "
                                            "current model's heads, tf-idf member and calibration (seconds).")] = "full",
    ) -> None:
        """Retrain on list + annotations + review decisions; promote the candidate only if the gate passes."""
        from trust_tagger.cli.errors import CliError
        from trust_tagger.retrain import loop as R
        from trust_tagger.store.store import Store

        if update not in R.UPDATES:
            raise CliError(f"--update must be one of {', '.join(R.UPDATES)}, got {update!r}", 2)

        settings = load_settings(list_dir=list_dir, db_url=db, reports_dir=reports_dir)
        store = Store(settings.resolved_db_url)
        plan = R.plan(settings, store, epochs=epochs, force=force)
        for line in plan.lines():
            console.print(line, highlight=False)
        if dry_run:
            return
        if prefect:
            from flows.retrain import retrain as retrain_flow

            result = retrain_flow(base_model=base_model, epochs=epochs, force=force, list_dir=str(settings.list_dir),
                                  db=settings.db_url, reports_dir=str(settings.reports_dir), update=update)
            report_dir = Path(result["report_dir"])
        else:
            from trust_tagger.cli.progress import StagedProgress

            with StagedProgress() as progress:
                result = R.retrain(settings, store, base_model=base_model, epochs=epochs, force=force,
                                   update=update, progress=progress, log=lambda s: console.print(s, highlight=False))
            report_dir = Path(result.report_dir)
        typer.echo((report_dir / "report.md").read_text())
        console.print(f"report: {report_dir / 'report.json'}")

    @app.command("audit-labels")
    def audit_labels(
        queue: Annotated[bool, typer.Option("--queue", help="Put the listed suspects into the review queue.")] = False,
        top: Annotated[int, typer.Option("--top", min=1, help="How many suspects to list (and queue).")] = 50,
        as_json: Annotated[bool, typer.Option("--json", help="Print the suspects as JSON.")] = False,
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
        reports_dir: ReportsDirOpt = None,
    ) -> None:
        """List labels that look wrong (out-of-fold model disagreement, wrong arXiv ids, list conflicts)."""
        from trust_tagger.retrain.dataset import load_pool
        from trust_tagger.retrain.label_audit import (
            audit_from_settings,
            queue_suspects,
            suspects_markdown,
            write_audit_report,
        )

        settings = load_settings(list_dir=list_dir, db_url=db, reports_dir=reports_dir)
        suspects = audit_from_settings(settings)
        shown = suspects[:top]
        out = write_audit_report(settings, suspects)
        if as_json:
            console.print_json(json.dumps([s.to_dict() for s in shown]))
        else:
            typer.echo(suspects_markdown(shown))  # plain: a markdown table must not be re-wrapped
        console.print(f"{len(suspects)} suspects in all, written to {out / 'suspects.md'}")
        if queue:
            from trust_tagger.store.store import Store

            queued, missing = queue_suspects(Store(settings.resolved_db_url), shown,
                                             load_pool(settings.path(settings.snapshot_path)))
            console.print(f"queued {queued} papers for review")
            if missing:
                console.print(f"not in the paper pool, fix these list entries by hand: {', '.join(missing)}")
