"""The one error boundary of the command: the project's exceptions become one line and an exit code.

A user who mistypes a path, points at a broken model or an unreachable server must read what went
wrong and where, not a traceback. Every registered verb is wrapped once in ``cli/__init__.py``; a
verb raises :class:`CliError` when it wants a specific exit code (2: the command cannot run as
asked), any listed project error exits 1.

Prefect logs a failed task and flow with the whole traceback (a chained ArxivError: 12 tracebacks,
738 lines for one unreachable server). While the CLI runs a flow, :func:`one_line_run_logs` keeps
those log records but drops the traceback of the errors listed here, so Prefect says it in one line
and the boundary says it once more, with what to do.
"""

from __future__ import annotations

import contextlib
import functools
import logging

import typer

PREFECT_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class CliError(Exception):
    """Stop the command with ``message`` on stderr and exit ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def project_errors() -> tuple[type[BaseException], ...]:
    """Exceptions users can cause; imported lazily so ``--help`` stays fast."""
    from trust_tagger.config import ConfigError
    from trust_tagger.files import LockTimeout
    from trust_tagger.ingest.arxiv import ArxivError
    from trust_tagger.listfile.parse import ListError
    from trust_tagger.model.artifacts import ModelIntegrityError
    from trust_tagger.model.registry import RegistryError
    from trust_tagger.nightly.steps import WindowError
    from trust_tagger.review.queue import ReviewError
    from trust_tagger.simulate.workspace import SimulationError
    from trust_tagger.store.database import StoreError

    return (ArxivError, ConfigError, ListError, LockTimeout, ModelIntegrityError, RegistryError, ReviewError,
            SimulationError, StoreError, WindowError, FileNotFoundError)


def _one_line(exc: BaseException) -> str:
    """The message and any notes a layer above added (``run_nightly`` says where the watermark stayed)."""
    parts = [str(exc) or exc.__class__.__name__, *getattr(exc, "__notes__", ())]
    return "error: " + "; ".join(" ".join(p.split()) for p in parts)


def boundary(fn):
    """Wrap a verb: project errors print one line on stderr and exit non-zero."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CliError as exc:
            typer.echo(_one_line(exc), err=True)
            raise typer.Exit(exc.code) from exc
        except project_errors() as exc:
            typer.echo(_one_line(exc), err=True)
            raise typer.Exit(1) from exc

    return wrapper


def wrap_commands(app: typer.Typer) -> None:
    """Apply :func:`boundary` to every verb of ``app`` and of its sub-groups."""
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "__wrapped__", None):
            info.callback = boundary(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            wrap_commands(group.typer_instance)


class _NoTracebackForProjectErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], project_errors()):
            record.exc_info, record.exc_text = None, None
        return True


@contextlib.contextmanager
def one_line_run_logs():
    """Around a flow run from the CLI: Prefect's failure logs of project errors lose their traceback."""
    quiet = _NoTracebackForProjectErrors()
    loggers = [logging.getLogger(name) for name in PREFECT_RUN_LOGGERS]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)
