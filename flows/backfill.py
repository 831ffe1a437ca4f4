"""The backfill Prefect flow: :func:`trust_tagger.nightly.backfill.run_backfill` with each chunk's
classification submitted to the flow's task runner: Prefect's thread pool by default, or Dask
through prefect-dask (``pip install 'trust-tagger[dask]'``): a ``LocalCluster`` of N worker
processes, or an existing cluster by its scheduler address. The store, the source and the routing
stay in the flow's own process (see the library module)."""

from __future__ import annotations

import datetime as dt

from trust_tagger.prefect_env import configure

configure()

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from flows._prefect import install_log_filter  # noqa: E402
from trust_tagger.config import load_settings  # noqa: E402
from trust_tagger.nightly.backfill import model_at, run_backfill  # noqa: E402
from trust_tagger.store.store import Store  # noqa: E402

install_log_filter()


def task_runner(workers: int = 2, dask: bool = False, dask_address: str | None = None):
    """Threads in this process (default), a LocalCluster of ``workers`` processes (``dask``), or the
    Dask cluster whose scheduler listens at ``dask_address`` (e.g. ``tcp://10.0.0.5:8786``)."""
    if not (dask or dask_address):
        return ThreadPoolTaskRunner(max_workers=workers)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ImportError("the Dask task runner needs prefect-dask: pip install 'trust-tagger[dask]'") from exc
    if dask_address:
        return DaskTaskRunner(address=dask_address)
    # One thread per worker process: the model is not shared between threads anyway, and torch gets
    # the cores it is given through TRUST_TAGGER_THREADS (cores / workers). No dashboard: no port to pick.
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


@flow(name="trust-tagger-backfill", log_prints=True)
def backfill(since: dt.date, until: dt.date, source: str | None = None, chunk_days: int | None = None,
             threads: int = 0, list_dir: str | None = None, db: str | None = None,
             model_dir: str | None = None) -> dict:
    """Classify [since, until] chunk by chunk; accepted papers wait for the usual merge.
    ``model_dir``: a model folder instead of the registry's current model."""
    settings = load_settings(list_dir=list_dir, db_url=db)
    tasks: dict = {}

    def submit(fn, *args):
        if fn not in tasks:
            tasks[fn] = task(fn, name="classify-chunk", cache_policy=NO_CACHE)
        return tasks[fn].submit(*args)

    result = run_backfill(settings, Store(settings.resolved_db_url), since, until,
                          source=source or settings.run_source(), chunk_days=chunk_days, submit=submit,
                          threads=threads, model=model_at(model_dir) if model_dir else None,
                          say=get_run_logger().info)
    return {**result.to_dict(), "task_runner": type(backfill_runner()).__name__}


def backfill_runner():
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx.task_runner if ctx else None


def run(since: dt.date, until: dt.date, *, workers: int = 2, dask: bool = False, dask_address: str | None = None,
        **params) -> dict:
    """The flow on the chosen task runner."""
    return backfill.with_options(task_runner=task_runner(workers, dask, dask_address))(since, until, **params)
