"""Telling the maintainers: the night's digest, or the one-line reason a run failed, sent to every
apprise URL in ``notify_urls`` (``mailto://``, ``slack://``, ``discord://``, ``matrix://``, ``json://``
for a webhook of your own, ...; https://github.com/caronc/apprise/wiki lists them).

A message that cannot be sent is logged and reported, never raised: a Slack outage must not turn a
completed night into a failed one. A URL apprise cannot parse is an error in the settings, and is
reported as such on every run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

KINDS = ("info", "success", "warning", "failure")


@dataclass
class NotifyResult:
    sent: bool
    targets: int
    bad_urls: list[str] = field(default_factory=list)


def notify(urls: list[str], title: str, body: str, kind: str = "info") -> NotifyResult:
    """Send one markdown message to every URL; ``sent`` is False if any target failed."""
    if not urls:
        return NotifyResult(sent=False, targets=0)
    import apprise

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    ap = apprise.Apprise()
    bad = [url for url in urls if not ap.add(url)]
    for url in bad:
        log.warning("notify_urls: apprise cannot use %r (unknown scheme or malformed URL)", _redact(url))
    if not len(ap):
        return NotifyResult(sent=False, targets=0, bad_urls=bad)
    ok = bool(ap.notify(body=body, title=title, notify_type=kind, body_format=apprise.NotifyFormat.MARKDOWN))
    if not ok:
        log.warning("a notification could not be delivered to one of %d target(s)", len(ap))
    return NotifyResult(sent=ok and not bad, targets=len(ap), bad_urls=bad)


def _redact(url: str) -> str:
    """A URL for a log line without what may be a secret (tokens live in the URL's path or userinfo)."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}{sep}…" if sep else "…"
