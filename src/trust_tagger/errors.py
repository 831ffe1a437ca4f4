"""The one mark of an error a user can cause or fix (a mistyped path or URL, an unreachable server,
a refused token, a broken model folder, bad input), as opposed to a bug.

Every room's own exception for such cases also derives from :class:`UserError`, so the two places
that must tell them apart need no list of rooms: the CLI's error boundary prints them as one line
with an exit code (``cli/errors``), and the flows' log filter drops their traceback from Prefect's
run logs (``flows/_prefect``), where one unreachable arXiv used to be 738 lines of stack frames.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; its message says what and where, in one line."""


def user_errors() -> tuple[type[BaseException], ...]:
    """What the boundary and the log filter treat as the user's to fix: every :class:`UserError`,
    and a file that is not there (the message names it)."""
    return (UserError, FileNotFoundError)
