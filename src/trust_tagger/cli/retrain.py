"""Verbs of retraining: ``retrain`` (train a candidate, gate it, promote or keep) and ``audit-labels``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trust_tagger.cli.errors import one_line_run_logs
from trust_tagger.config import load_settings

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def retrain(
        base_model: Annotated[str | None, typer.Option("--base-model", help="HF model id or local folder (default: settings.base_model).")] = None,
        epochs: Annotated[int | None, typer.Option("--epochs", help="Fine-tuning epochs of the candidate.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Train even when the labels did not change since the current model.")] = False,
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store (review decisions).")] = None,
    ) -> None:
        """Retrain on list + annotations + review decisions; promote the candidate only if the gate passes."""
        from flows.retrain import retrain as retrain_flow

        with one_line_run_logs():
            result = retrain_flow(base_model=base_model, epochs=epochs, force=force, db=db)
        typer.echo((Path(result["report_dir"]) / "report.md").read_text())
        console.print(f"report: {Path(result['report_dir']) / 'report.json'}")

    @app.command("audit-labels")
    def audit_labels(
        queue: Annotated[bool, typer.Option("--queue", help="Put the listed suspects into the review queue.")] = False,
        top: Annotated[int, typer.Option("--top", min=1, help="How many suspects to list (and queue).")] = 50,
        db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store (for --queue).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the suspects as JSON.")] = False,
    ) -> None:
        """List labels that look wrong (out-of-fold model disagreement, wrong arXiv ids, list conflicts)."""
        from trust_tagger.retrain.dataset import load_pool
        from trust_tagger.retrain.label_audit import (
            audit_from_settings,
            queue_suspects,
            suspects_markdown,
            write_audit_report,
        )

        settings = load_settings(db_url=db)
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
