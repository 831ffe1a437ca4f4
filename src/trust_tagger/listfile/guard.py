"""What must hold before anything writes the list: the folder is an awesome list (or the user asked to
start one), one writer at a time, and no temp file of a killed write left behind.

A mistyped ``--list-dir`` used to become a new, empty list: the papers merged there were recorded as
merged and never reached the real one. Every writer (``merge``, the nightly's merge step and anything
else that calls :func:`trust_tagger.listfile.merge.merge_papers`) goes through :func:`list_writer`.
Two merges at once used to lose each other's lines (read-modify-write, 26 of 28 lines lost); they now
queue on one OS file lock per list folder (``files.directory_lock``, beside the folder).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from trust_tagger.files import directory_lock, remove_stale_temps
from trust_tagger.listfile.parse import ListError

log = logging.getLogger(__name__)

LIST_MARKERS = ("README.md", "papers/")  # what every awesome list of this shape has
NEW_README = "# Awesome list\n\n## Contents\n\n"


class NotAListError(ListError):
    """The folder given as the list is not one (no README.md or no papers/) and ``--init`` was not given."""


def is_list(list_dir: Path | str) -> bool:
    """A folder holding a README.md (the table of contents) and a papers/ folder."""
    list_dir = Path(list_dir)
    return (list_dir / "README.md").is_file() and (list_dir / "papers").is_dir()


def require_list(list_dir: Path | str) -> Path:
    """``list_dir`` as a Path, or :class:`NotAListError` with what is missing and what to do."""
    list_dir = Path(list_dir)
    if is_list(list_dir):
        return list_dir
    if not list_dir.exists():
        why = "does not exist"
    else:
        missing = [m for m in LIST_MARKERS if not (list_dir / m.rstrip("/")).exists()]
        why = f"has no {' and no '.join(missing)}" if missing else "is not a folder holding README.md and papers/"
    raise NotAListError(f"{list_dir} is not an awesome list ({why}): check --list-dir, "
                        f"or pass --init to start a new list there")


def init_list(list_dir: Path | str) -> bool:
    """Start a new list (README.md with an empty table of contents, papers/); True if one was made.

    Only in a new or empty folder: ``--init`` pointed at the wrong existing folder must not scatter a
    list into it. A folder that already is a list is left as it is.
    """
    list_dir = Path(list_dir)
    if is_list(list_dir):
        return False
    if list_dir.exists() and (not list_dir.is_dir() or any(list_dir.iterdir())):
        raise NotAListError(f"{list_dir} is not empty and not an awesome list: --init only starts a list "
                            f"in a new or empty folder")
    (list_dir / "papers").mkdir(parents=True, exist_ok=True)
    (list_dir / "README.md").write_text(NEW_README, encoding="utf-8")
    return True


@contextmanager
def list_writer(list_dir: Path | str, timeout: float = 300.0,
                notify: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Hold the list's lock for a read-modify-write: refuse a folder that is not a list, wait for (or
    time out on) another writer, then clear temp files a killed writer left (none can be live now)."""
    list_dir = require_list(list_dir)
    with directory_lock(list_dir, timeout=timeout, notify=notify):
        for tmp in remove_stale_temps(list_dir):
            log.warning("removed %s, left by a write that was killed", tmp)
        yield list_dir
