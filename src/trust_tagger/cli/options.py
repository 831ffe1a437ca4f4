"""Options shared by the verbs, defined once so every verb spells them the same way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

ListDirOpt = Annotated[Path | None, typer.Option("--list-dir", help="Awesome-list checkout to merge into.")]
DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store.")]
InitListOpt = Annotated[bool, typer.Option("--init", help="Start a new awesome list in --list-dir if it is not one "
                                           "(a new or empty folder); without it such a folder is refused.")]
ModelOpt = Annotated[Path | None, typer.Option("--model", help="Model folder (default: the registry's current model).")]


def parse_date(value: str | None, option: str = "--since") -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a YYYY-MM-DD date", param_hint=option) from exc
