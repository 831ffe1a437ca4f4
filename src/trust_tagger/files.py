"""The project's file I/O: atomic writes (a run killed mid-write leaves the old file or the new one,
never half of one) and the one JSON-lines reader (every bad line becomes a located error value, so a
single poisoned line never stops a reader)."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    path = Path(path)
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
