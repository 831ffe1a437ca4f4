"""The one error boundary of the command: the project's exceptions become one line and an exit code.

A user who mistypes a path, points at a broken model or an unreachable server must read what went
wrong and where, not a traceback. Every registered verb is wrapped once in ``cli/__init__.py``; a
verb raises :class:`CliError` when it wants a specific exit code (2: the command cannot run as
asked), any listed project error exits 1.

Prefect logs a failed task and flow with the whole traceback (a chained ArxivError: 12 tracebacks,
738 lines for one unreachable server). The flows install ``flows._prefect.OneLineErrors`` on
Prefect's run loggers, which drops the traceback of the errors listed here (and the repeated records
of one exception), so Prefect says it in one line, scheduled or not, and the boundary says it once
more, with what to do.
"""

from __future__ import annotations

import functools

import typer


class CliError(Exception):
    """Stop the command with ``message`` on stderr and exit ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def project_errors() -> tuple[type[BaseException], ...]:
    """Exceptions users can cause (``trust_tagger.errors``: every room marks its own)."""
    from trust_tagger.errors import user_errors

    return user_errors()


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
