"""Serve the nightly flow (and the weekly retrain flow) on cron schedules.

`flow.serve(cron=...)` cannot schedule on Prefect's temporary server, so this needs
`prefect server start` and PREFECT_API_URL pointing at it (see README).
"""

from __future__ import annotations

from trust_tagger.prefect_env import configure

configure()

from prefect import serve  # noqa: E402

from flows.nightly import nightly  # noqa: E402
from flows.retrain import retrain  # noqa: E402


def serve_all(cron: str = "0 3 * * *", retrain_cron: str = "0 4 * * 0", *, list_dir: str | None = None,
              db: str | None = None, reports_dir: str | None = None) -> None:
    """Both flows on their crons, each run with the list, store and reports folder given here."""
    where = {k: v for k, v in {"list_dir": list_dir, "db": db, "reports_dir": reports_dir}.items() if v}
    serve(nightly.to_deployment(name="nightly", cron=cron, parameters=where),
          retrain.to_deployment(name="weekly-retrain", cron=retrain_cron, parameters=where))


if __name__ == "__main__":
    serve_all()
