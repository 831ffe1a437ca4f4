"""The nightly Prefect flow: :func:`trust_tagger.nightly.run.run_nightly` with each step as a task,
the report published as a markdown artifact, and a retrain started once enough decisions arrived.

Parameters left out come from the settings, read when the run starts; a deployment's run (no
``source``) reads arXiv unless the ``source`` setting says otherwise, and its window starts after the
watermark, so a night the machine was off is caught up by the next run."""

from __future__ import annotations

import datetime as dt

from trust_tagger.prefect_env import configure

configure()

from prefect import flow, get_run_logger  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402

from flows._prefect import as_task, install_log_filter  # noqa: E402
from flows.retrain import retrain_if_due  # noqa: E402
from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.nightly.run import run_nightly  # noqa: E402
from trust_tagger.store.store import Store  # noqa: E402

install_log_filter()


@flow(name="trust-tagger-nightly", log_prints=True)
def nightly(source: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
            list_dir: str | None = None, db: str | None = None, reports_dir: str | None = None,
            init_list: bool = False, merge_mode: str | None = None) -> dict:
    """Fetch a window of papers, decide on each, merge the accepted ones, deliver, and report."""
    logger = get_run_logger()
    settings = load_settings(list_dir=list_dir, db_url=db, reports_dir=reports_dir)
    store = Store(settings.resolved_db_url)
    result = run_nightly(settings, store, source=source, since=since, until=until, run_step=as_task,
                         init_list=init_list, merge_mode=merge_mode, scheduled=True, say=logger.info)
    create_markdown_artifact(markdown=result["markdown"], key="trust-tagger-nightly-report",
                             description=f"nightly run {result['counts']['run_id']}")
    retrain_if_due(settings, store)  # enough new review decisions: retrain now, behind the promotion gate
    return result


if __name__ == "__main__":
    nightly()
