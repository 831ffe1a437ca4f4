"""Verbs of the classifier: ``train``, ``classify``, ``evaluate``, ``build-dataset`` and ``models ...``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trust_tagger.cli.errors import CliError
from trust_tagger.cli.options import DbOpt, ListDirOpt, ModelOpt, ReportsDirOpt
from trust_tagger.cli.progress import StagedProgress, progress_bar
from trust_tagger.config import load_settings

console = Console()
err = Console(stderr=True)



def _load_model(model: Path | None, settings):
    from trust_tagger.model import registry
    from trust_tagger.model.artifacts import ModelIntegrityError
    from trust_tagger.model.tagger import TrustTagger

    try:
        if model is not None:
            return TrustTagger.load(model)
        return registry.load_current(settings)
    except (ModelIntegrityError, registry.RegistryError) as exc:
        raise CliError(f"cannot load model: {exc}", code=2) from exc


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        base_model: Annotated[str | None, typer.Option("--base-model", help="HF model id or local folder (default: settings.base_model, bundled all-MiniLM-L6-v2).")] = None,
        output: Annotated[Path | None, typer.Option("--output", help="Model folder to write (default: models/vN, the next version).")] = None,
        epochs: Annotated[int | None, typer.Option("--epochs", help="Fine-tuning epochs (default 1; more are early-stopped on validation).")] = None,
        max_length: Annotated[int | None, typer.Option("--max-length", help="Tokens per paper (default 256).")] = None,
        holdout_list: Annotated[Path | None, typer.Option("--holdout-list", help="A later copy of the list: papers it adds are kept out of training (temporal check).")] = None,
        make_current: Annotated[bool | None, typer.Option("--current/--no-current", help="Make the new model current (default: only when there is none yet).")] = None,
        no_register: Annotated[bool, typer.Option("--no-register", help="Only write the folder.")] = False,
        refit: Annotated[bool | None, typer.Option("--refit/--no-refit", help="Once the temporal holdout is scored, train again on train + holdout and keep that model (default: the `refit` setting).")] = None,
        list_dir: ListDirOpt = None,
    ) -> None:
        """Build the dataset, fine-tune, calibrate, evaluate on the frozen test split, register the model."""
        from trust_tagger.retrain.train import summary_lines, train_version

        settings = load_settings(list_dir=list_dir)
        with StagedProgress() as progress:
            result = train_version(settings, base_model=base_model, output=output, epochs=epochs, max_length=max_length,
                                   holdout_list=holdout_list, register_model=not no_register, make_current=make_current,
                                   refit=refit, progress=progress, log=lambda s: err.print(s, highlight=False))
        for line in summary_lines(result):
            console.print(line, highlight=False)

    @app.command()
    def classify(
        input: Annotated[Path, typer.Option("--input", help="JSON lines: {arxiv_id, title, abstract, ...}.", exists=True, dir_okay=False)],
        output: Annotated[Path, typer.Option("--output", help="JSON lines of predictions (one per valid input line).")],
        model: ModelOpt = None,
    ) -> None:
        """Classify papers: relevance, categories, subcategories and accept/review/reject per paper."""
        from trust_tagger.model.predict import classify_file

        settings = load_settings()
        tagger = _load_model(model, settings)
        report = classify_file(tagger, input, output, progress_factory=lambda n: progress_bar("classifying", n),
                               policy=settings.merge_policy)
        for s in report.skipped:
            err.print(f"[yellow]skipped {s.where}:[/yellow] {s.reason}", highlight=False)
        console.print(f"classified {report.classified} papers ({report.papers_per_second:.1f}/s), "
                      f"skipped {len(report.skipped)} malformed; wrote {output}", highlight=False)

    @app.command()
    def evaluate(
        model: ModelOpt = None,
        output: Annotated[Path | None, typer.Option("--output", help="Report folder (default reports/eval-<version>).")] = None,
        later_list: Annotated[Path | None, typer.Option("--later-list", help="A later copy of the list for the temporal check (default: tests/fixtures/awesome-list-2026-06-10 when present).")] = None,
        list_dir: ListDirOpt = None,
        reports_dir: ReportsDirOpt = None,
    ) -> None:
        """Write report.md with PR curve, reliability diagram and per-category figures for a model."""
        from trust_tagger.retrain.evaluate import evaluate_model, metrics_table

        settings = load_settings(list_dir=list_dir, reports_dir=reports_dir)
        tagger = _load_model(model, settings)
        if later_list is None:
            default = settings.root / "tests" / "fixtures" / "awesome-list-2026-06-10"
            later_list = default if default.exists() else None
        res = evaluate_model(tagger, settings, output, later_list)
        console.print(metrics_table(res["results"]), highlight=False)
        console.print(f"report: {Path(res['dir']) / 'report.md'}")

    @app.command("build-dataset")
    def build_dataset(
        output: Annotated[Path | None, typer.Option("--output", help="Default data/labeled/dataset.jsonl.")] = None,
        list_dir: ListDirOpt = None,
        db: DbOpt = None,
    ) -> None:
        """Merge list, annotations and review decisions into the labeled set with its frozen split.

        With --db, that store's review decisions are exported into the labels first (as retrain does)."""
        from trust_tagger.retrain import dataset as D

        settings = load_settings(list_dir=list_dir, db_url=db)
        if db is not None:
            from trust_tagger.review.export import decisions_path, export_decisions
            from trust_tagger.store.store import Store

            count = export_decisions(Store(settings.resolved_db_url), decisions_path(settings))
            err.print(f"{count} review decisions exported to {decisions_path(settings)}", highlight=False)
        problems: list[str] = []
        ds = D.build_dataset(settings.path(settings.list_dir), settings.path(settings.labeled_dir),
                             settings.path(settings.snapshot_path), problems=problems)
        out = output or settings.path(settings.labeled_dir) / D.DATASET_FILE
        D.write_dataset(ds, out)
        for p in problems:
            err.print(f"[yellow]skipped label[/yellow] {p}", highlight=False)
        counts = ds.counts()
        console.print(f"wrote {out}: {counts['total']} papers (train {counts['train']['n']}, validation "
                      f"{counts['validation']['n']}, test {counts['test']['n']}), sources {counts['sources']}, "
                      f"data hash {ds.data_hash[:16]}", highlight=False)
        if ds.missing_abstract:
            console.print(f"{len(ds.missing_abstract)} labeled entries have no abstract in the pool (left out): "
                          + ", ".join(ds.missing_abstract), highlight=False)

    models = typer.Typer(help="List, inspect, promote, roll back and prune model versions.", no_args_is_help=True)
    app.add_typer(models, name="models")

    @models.command("list")
    def models_list() -> None:
        """One line per version: id, current mark, test AP, category macro-F1, created."""
        from trust_tagger.model import registry

        versions = registry.list_versions(load_settings())
        if not versions:
            console.print("no models registered yet; run `trust-tagger train`")
        for v in versions:
            m = v.get("metrics") or {}
            ap, f1 = m.get("relevance_ap"), m.get("category_macro_f1")
            console.print(f"{v['id']:>5} {'*' if v.get('current') else ' '} AP {ap if ap is None else f'{ap:.3f}'}  "
                          f"macro-F1 {f1 if f1 is None else f'{f1:.3f}'}  created {v.get('created')}", highlight=False)

    @models.command("show")
    def models_show(version: Annotated[str, typer.Argument(help="Version id, e.g. v1.")]) -> None:
        """Everything the registry knows about one version."""
        from trust_tagger.model import registry

        console.print_json(json.dumps(registry.show(version, load_settings()), default=str))

    @models.command("promote")
    def models_promote(version: Annotated[str, typer.Argument(help="Version id to make current.")]) -> None:
        """Make a version current (its files are verified first)."""
        from trust_tagger.model import registry

        registry.promote(version, load_settings())
        console.print(f"{version} is now current")

    @models.command("rollback")
    def models_rollback() -> None:
        """Make the previously promoted version current again."""
        from trust_tagger.model import registry

        entry = registry.rollback(load_settings())
        console.print(f"rolled back: {entry['id']} is now current")

    @models.command("prune")
    def models_prune(keep: Annotated[int, typer.Option("--keep", help="How many newest versions to keep (the current one always stays).")] = 3) -> None:
        """Delete old model versions and their folders."""
        from trust_tagger.model import registry

        removed = registry.prune(keep, load_settings())
        console.print(f"removed {', '.join(removed) if removed else 'nothing'}")
