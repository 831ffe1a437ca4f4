"""Serve the nightly flow and the weekly retrain flow on cron schedules (``trust-tagger schedule``).

`flow.serve(cron=...)` cannot schedule on Prefect's temporary server, so this needs
`prefect server start` and PREFECT_API_URL pointing at it (see README). Both deployments carry the
settings resolved when ``schedule`` starts (source, list folder, store, merge mode) as parameters:
a deployment with no parameters would fall back to each run's own defaults, which is how the served
nightly once replayed the offline snapshot every night and fetched nothing. The window is left out
on purpose: each run starts after the watermark, so a missed night is caught up.
"""

from __future__ import annotations

from trust_tagger.prefect_env import configure

configure()

from prefect import serve  # noqa: E402

from flows.nightly import nightly  # noqa: E402
from flows.retrain import retrain  # noqa: E402
from trust_tagger.config import Settings  # noqa: E402


def deployment_parameters(settings: Settings, source: str | None = None) -> tuple[dict, dict]:
    """(nightly, retrain) parameters that pin a deployment to these settings."""
    common = {"list_dir": str(settings.path(settings.list_dir)), "db": settings.resolved_db_url,
              "reports_dir": str(settings.path(settings.reports_dir))}
    return ({"source": source or settings.run_source(scheduled=True), "merge_mode": settings.merge_mode, **common},
            dict(common))


def deployments(settings: Settings, cron: str = "0 3 * * *", retrain_cron: str = "0 4 * * 0",
                source: str | None = None) -> list:
    nightly_params, retrain_params = deployment_parameters(settings, source)
    # One run at a time each: two nights at once would race on the same watermark and list files.
    return [nightly.to_deployment(name="nightly", cron=cron, parameters=nightly_params, concurrency_limit=1),
            retrain.to_deployment(name="weekly-retrain", cron=retrain_cron, parameters=retrain_params,
                                  concurrency_limit=1)]


def serve_all(settings: Settings, cron: str = "0 3 * * *", retrain_cron: str = "0 4 * * 0",
              source: str | None = None) -> None:
    serve(*deployments(settings, cron, retrain_cron, source))


if __name__ == "__main__":
    from trust_tagger.config import load_settings

    serve_all(load_settings())
