"""Prefect settings that keep a run local and off the network; must run before prefect is imported.

Without a configured server Prefect starts a temporary local one (SQLite under PREFECT_HOME).
Users with a real server set PREFECT_API_URL themselves; setdefault never overrides them.

Logging: Prefect's own internals stay at WARNING, but the run loggers (``get_run_logger()``) log at
INFO and the warnings of ``trust_tagger.*`` library loggers are sent too (PREFECT_LOGGING_EXTRA_LOGGERS),
so a run's counts and arXiv's retries reach the server (``prefect flow-run logs``). The terminal only shows WARNING and
up, as before: a CLI run prints its own summary.
"""

from __future__ import annotations

import os

from trust_tagger.config import project_root
from trust_tagger.model.encoder import set_offline_defaults

OFFLINE_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "trust_tagger",
    # Prefect waits 20 s for its temporary server; on this 2-core box at load 7 (a training and a test
    # suite alongside) it took longer and four nightly-flow tests failed with "Timed out while attempting
    # to connect to ephemeral Prefect API server": a busy machine must slow the night, not fail it.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}


def configure() -> None:
    os.environ.setdefault("PREFECT_HOME", str(project_root() / ".prefect"))
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
    set_offline_defaults()  # the flows load models too
