"""The project's file I/O: atomic writes (a run killed mid-write leaves the old file or the new one,
never half of one), the one lock for a directory's writers, and the one JSON-lines reader (every bad
line becomes a located error value, so a single poisoned line never stops a reader)."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from trust_tagger.errors import UserError

log = logging.getLogger(__name__)

# mkstemp(prefix=".<name>.", suffix=".tmp") names: a dot, the file's name, 8 random characters.
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
LOCK_NOTICE_SECONDS = 2.0  # a writer that waited this long says what it is waiting for


class LockTimeout(UserError):
    """Another writer held a directory's lock for longer than the caller would wait."""


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file and a rename.

    A symlink is written through: the file it points to is replaced and the link stays (a list
    checkout may link a section file to a shared copy; renaming over the link would cut it).
    """
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temps(root: Path | str) -> list[Path]:
    """Delete the temp files :func:`atomic_write_bytes` leaves behind when its process is killed
    between creating the temp file and renaming it; returns what was removed.

    Only call it while holding the :func:`directory_lock` every writer of ``root`` takes: a temp file
    seen then belongs to no live write. Hidden folders (``.git``) are not searched.
    """
    root = Path(root)
    removed = []
    for tmp in root.rglob(".*.tmp"):
        rel = tmp.relative_to(root).parts
        if any(part.startswith(".") for part in rel[:-1]) or not _TEMP_NAME.match(tmp.name) or not tmp.is_file():
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def lock_path(directory: Path | str) -> Path:
    """Where the lock of a directory's writers lives: beside the directory, not in it.

    Inside, a lock file would show up among the directory's files (in a list checkout's ``git status``,
    next to ``decisions.jsonl``). The path is resolved, so every spelling of the directory (relative,
    through a symlink) meets the same lock.
    """
    resolved = Path(directory).resolve()
    return resolved.parent / f".{resolved.name}.lock"


@contextmanager
def directory_lock(directory: Path | str, timeout: float = 300.0,
                   notify: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Hold the one lock of ``directory``'s writers (an OS file lock, released if the holder dies).

    A second writer waits: after :data:`LOCK_NOTICE_SECONDS` it says what it waits for (``notify``,
    a warning by default), after ``timeout`` seconds it gives up with :class:`LockTimeout`. Re-entrant
    within a thread, so a command may hold it around a library call that takes it again.
    """
    from filelock import FileLock, Timeout

    path = lock_path(directory)
    lock = FileLock(path, is_singleton=True)
    try:
        lock.acquire(timeout=min(LOCK_NOTICE_SECONDS, timeout))
    except Timeout:
        (notify or log.warning)(f"waiting for another writer of {directory} to finish (lock {path}, "
                                f"up to {timeout:.0f} s)")
        try:
            lock.acquire(timeout=max(0.0, timeout - LOCK_NOTICE_SECONDS))
        except Timeout as exc:
            raise LockTimeout(f"another process has been writing {directory} for over {timeout:.0f} s "
                              f"(lock {path}); try again when it is done") from exc
    try:
        yield path
    finally:
        lock.release()


def atomic_write_text(path: Path | str, text: str) -> None:
    # newline="" semantics: the text is written byte for byte, so untouched lines keep their endings.
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: object) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


class BadLine(ValueError):
    """A JSON-lines line that cannot be read; ``where`` is ``path:line``."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


def iter_jsonl(path: Path | str) -> Iterator[tuple[int, object]]:
    """(line number, parsed value or :class:`BadLine`) for every non-blank line of a .jsonl(.gz) file.

    Invalid UTF-8 is reported, never replaced; JSON that is too deep (RecursionError) or holds a
    number Python cannot represent is a bad line like any other.
    """
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                yield n, json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield n, BadLine(f"{path}:{n}", "not valid UTF-8")
            except json.JSONDecodeError as exc:
                yield n, BadLine(f"{path}:{n}", f"not valid JSON ({exc.msg})")
            except (RecursionError, ValueError, OverflowError) as exc:
                yield n, BadLine(f"{path}:{n}", f"unreadable JSON ({exc.__class__.__name__})")


def write_jsonl(path: Path | str, rows) -> int:
    """Write rows as JSON lines atomically; returns how many."""
    rows = list(rows)
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows)
