"""The ``simulate`` verb: replay months of nights, reviews and retrains (``trust_tagger.simulate``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trust_tagger.cli.options import parse_date
from trust_tagger.config import load_settings
from trust_tagger.simulate.run import FINE_TUNE, fine_tune_recipe

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        since: Annotated[str, typer.Option(help="First night of the replay, YYYY-MM-DD.")] = "2026-02-01",
        until: Annotated[str, typer.Option(help="Last night of the replay, YYYY-MM-DD.")] = "2026-05-31",
        review_budget: Annotated[int, typer.Option("--review-budget", min=0,
                                                   help="Papers the oracle reviews each week, from the queue's head.")] = 15,
        retrain: Annotated[str, typer.Option(help="When the full fine-tune runs: weekly, monthly or never.")] = "monthly",
        update: Annotated[str, typer.Option(help="Between full retrains: heads (refit heads, tf-idf member and "
                                            "calibration every week, seconds) or full (no weekly update).")] = "heads",
        max_train_seconds: Annotated[float, typer.Option("--max-train-seconds",
                                                         help="Fine-tuning time guard of the start model and of "
                                                              "each full retrain (best epoch kept).")] = FINE_TUNE["max_train_seconds"],
        epochs: Annotated[int, typer.Option(min=1, help="Fine-tuning epochs of the start model and of each full "
                                            "retrain.")] = FINE_TUNE["epochs"],
        train_layers: Annotated[int, typer.Option("--train-layers", min=0, help="Transformer blocks the start model "
                                                  "and each full retrain fine-tune, from the top (0 = all, as "
                                                  "`train` does).")] = FINE_TUNE["train_layers"],
        base_model: Annotated[str | None, typer.Option("--base-model", help="HF id or local folder of the encoder.")] = None,
        start_model: Annotated[Path | None, typer.Option("--start-model", help="Reuse a start model trained on the "
                                                         "labels before --since (checked by its data hash).")] = None,
        compare: Annotated[bool, typer.Option("--compare/--no-compare", help="Also replay the frozen start model "
                                              "and run the tf-idf active-learning baselines.")] = True,
        work_dir: Annotated[Path | None, typer.Option("--work-dir", help="Scratch folder (kept; a start model "
                                                      "there is reused). Default: inside the report, removed.")] = None,
        keep_work: Annotated[bool, typer.Option("--keep-work", help="Keep the scratch projects (lists, stores, "
                                                "models) next to the report.")] = False,
        sim_id: Annotated[str | None, typer.Option("--id", help="Report folder name: reports/simulate-<id>.")] = None,
    ) -> None:
        """Replay the bundled feed night by night through the real loop and measure what maintainers are spared."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from trust_tagger.cli.errors import CliError
        from trust_tagger.simulate.replay import SCHEDULES, UPDATES, weeks
        from trust_tagger.simulate.run import SimulationConfig
        from trust_tagger.simulate.run import simulate as run_simulation

        if retrain not in SCHEDULES:
            raise CliError(f"--retrain must be one of {', '.join(SCHEDULES)}, got {retrain!r}", 2)
        if update not in UPDATES:
            raise CliError(f"--update must be one of {', '.join(UPDATES)}, got {update!r}", 2)
        since_d, until_d = parse_date(since, "--since"), parse_date(until, "--until")
        if since_d > until_d:
            raise CliError(f"--since {since_d} is after --until {until_d}", 2)
        overrides = fine_tune_recipe(epochs, max_train_seconds, train_layers)
        cfg = SimulationConfig(since=since_d, until=until_d, review_budget=review_budget, retrain=retrain,
                               update=update, base_model=base_model, overrides=overrides, start_model=start_model,
                               compare=compare, work_dir=work_dir, keep_work=keep_work, sim_id=sim_id)
        nights = (until_d - since_d).days + 1
        variants = 2 if compare and (retrain, update) != ("never", "full") else 1
        settings = load_settings()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            task = progress.add_task(f"{len(weeks(since_d, until_d))} weeks", total=nights * variants)

            def advance(description: str) -> None:
                progress.update(task, advance=1, description=description)

            result = run_simulation(settings, cfg, advance=advance, log=progress.console.print)
        typer.echo((Path(result["dir"]) / "report.md").read_text())
        console.print(f"report: {Path(result['dir']) / 'report.md'}")
