"""What every flow shares: steps as tasks, and logs a maintainer can read.

Prefect logs a failed task with its full traceback, then logs the same exception again, with its
traceback, when it reaches the flow: a night whose only problem was "arXiv answered 503 six times"
became ~120 lines of stack frames in ``prefect flow-run logs``. The errors a user can cause or fix
(``trust_tagger.errors.UserError``: arXiv, a missing model, git/GitHub delivery, a missing file) are
reported once, as one line: their traceback is dropped and a second record of the same exception is
suppressed. Anything else is a bug and keeps Prefect's full traceback.
"""

from __future__ import annotations

import logging

from prefect import task
from prefect.cache_policies import NO_CACHE


def as_task(fn, *args, **kwargs):
    """Run one step as a Prefect task named after it (no caching: every run recomputes)."""
    return task(fn, name=fn.__name__.replace("_", "-"), cache_policy=NO_CACHE)(*args, **kwargs)


def expected_errors() -> tuple[type[BaseException], ...]:
    from trust_tagger.errors import user_errors

    return user_errors()


class OneLineErrors(logging.Filter):
    """Drop the traceback of an expected error, and every record of it after the first."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not isinstance(exc, expected_errors()):
            return True
        if getattr(exc, "_trust_tagger_logged", False):
            return False
        try:
            exc._trust_tagger_logged = True
        except AttributeError:  # an exception type with __slots__: log it every time, still one line
            pass
        record.exc_info, record.exc_text = None, None
        return True


_FILTER = OneLineErrors()


def install_log_filter() -> None:
    """Attach the filter to the loggers Prefect's engines log runs with (idempotent)."""
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
