"""Options shared by the verbs, defined once so every verb spells them the same way.

Every verb that reads or writes the list or the store takes ``--list-dir`` and ``--db``; every verb
that writes a report takes ``--reports-dir``. All three override the settings for that one run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

ListDirOpt = Annotated[Path | None, typer.Option("--list-dir", help="Awesome-list checkout to read and merge into.")]
DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store.")]
ReportsDirOpt = Annotated[Path | None, typer.Option("--reports-dir", help="Where reports are written (default: reports/).")]
InitListOpt = Annotated[bool, typer.Option("--init", help="Start a new awesome list in --list-dir if it is not one "
                                           "(a new or empty folder); without it such a folder is refused.")]
ModelOpt = Annotated[Path | None, typer.Option("--model", help="Model folder (default: the registry's current model).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def parse_date(value: str | None, option: str = "--since") -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a YYYY-MM-DD date", param_hint=option) from exc


def _print_version(value: bool) -> None:
    if value:
        from trust_tagger import __version__

        typer.echo(f"trust-tagger {__version__}")
        raise typer.Exit()


VersionOpt = Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")]
