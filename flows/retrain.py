"""The retrain Prefect flow: every step of ``trust_tagger.retrain.retrain`` runs as a task, and the
decision with its figures is published as a markdown artifact. Served weekly by ``flows/serve.py``;
:func:`retrain_if_due` starts it after a nightly run once enough review decisions have arrived."""

from __future__ import annotations

from trust_tagger.prefect_env import configure

configure()

from prefect import flow, get_run_logger  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402

from flows._prefect import as_task, install_log_filter  # noqa: E402
from trust_tagger.config import Settings, load_settings  # noqa: E402
from trust_tagger.retrain import loop as R  # noqa: E402
from trust_tagger.store.store import Store  # noqa: E402

install_log_filter()


@flow(name="trust-tagger-retrain", log_prints=True)
def retrain(base_model: str | None = None, epochs: int | None = None, force: bool = False,
            list_dir: str | None = None, db: str | None = None, reports_dir: str | None = None,
            update: str = "full") -> dict:
    """Gather labels, train a candidate (``update="heads"``: refit the current model's heads), gate it
    against the current model on the frozen test split."""
    settings = load_settings(list_dir=list_dir, db_url=db, reports_dir=reports_dir)
    logger = get_run_logger()
    result = R.retrain(settings, Store(settings.resolved_db_url), base_model=base_model, epochs=epochs,
                       force=force, update=update, run_step=as_task, log=logger.info,
                       progress=R.progress_log(logger.info))
    create_markdown_artifact(markdown=R.report_markdown(result), key="trust-tagger-retrain",
                             description=f"retrain: {result.verdict}")
    return result.to_dict()


def retrain_if_due(settings: Settings, store: Store) -> dict | None:
    """Call at the end of the nightly flow: retrains (as a subflow) once ``settings.retrain_min_decisions``
    review decisions arrived since the last retrain; None when not due."""
    if not R.should_retrain(store, settings):
        return None
    return retrain(list_dir=str(settings.list_dir), db=settings.db_url, reports_dir=str(settings.reports_dir))


if __name__ == "__main__":
    retrain()
