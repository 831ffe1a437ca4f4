"""Who may write on the review page: signed sessions that survive a restart and die on logout, and a
login throttle that makes guessing the review token hopeless.

Sessions are ``payload.mac`` cookies (name, CSRF token, session id, expiry) signed with a secret kept
in the project's state dir (``review-secret``, mode 0600): restarting the server no longer logs
everyone out. Logging out records the session id as revoked until the cookie would have expired
anyway, in the same state dir, so a copied cookie is worthless after logout, across restarts too.

Before the throttle, 637 wrong tokens a second were checked, then the right one accepted. Now a client
(its address) gets ``free_failures`` quick retries, then waits 1, 2, 4 … s between failures, and after
``max_failures`` failures within ``window`` seconds it is locked out for ``lockout`` seconds (doubling
on every further lockout, up to a day); the right token is refused while locked out. Every failed
login is logged with the client's address. See ``benchmarks/reliability_login.py`` for the measured
rate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from trust_tagger.files import atomic_write_json

log = logging.getLogger(__name__)
SECRET_FILE = "review-secret"
REVOKED_FILE = "review-revoked.json"
SESSION_TTL = 12 * 3600


# -- the persistent secret ------------------------------------------------------------------------
def load_secret(state_dir: Path | str) -> bytes:
    """The session key in ``state_dir/review-secret``, created (mode 0600) on first use.

    Created by writing a private temp file and hard-linking it into place, so two servers starting at
    once agree on one secret and neither ever reads a half-written file. A secret readable by others
    is narrowed to 0600 with a warning (anyone who can read it can forge a session).
    """
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / SECRET_FILE
    if not path.exists():
        tmp = state_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process created it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); narrowed to 0600", path, mode)
        os.chmod(path, 0o600)
    key = path.read_text().strip()
    if len(key) < 32:
        raise ValueError(f"{path} holds no usable secret (delete it to create a new one; everyone logs in again)")
    return key.encode()


# -- revoked sessions -----------------------------------------------------------------------------
class Revocations:
    """Session ids logged out before they expired: in ``state_dir/review-revoked.json`` (shared by every
    server process on the machine, kept across restarts) or, without a state dir, in memory."""

    def __init__(self, state_dir: Path | str | None = None, clock: Callable[[], float] = time.time):
        self.path = Path(state_dir) / REVOKED_FILE if state_dir is not None else None
        self.clock = clock
        self._mem: dict[str, int] = {}
        self._sig: tuple | None = None
        self._lock = threading.Lock()

    def _read(self) -> dict[str, int]:
        if self.path is None:
            return self._mem
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        sig = (st.st_mtime_ns, st.st_size)
        if sig != self._sig:
            try:
                data = json.loads(self.path.read_text())
            except (OSError, ValueError):
                log.warning("%s is unreadable; treating every session as not revoked", self.path)
                data = {}
            self._mem = {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}
            self._sig = sig
        return self._mem

    def revoke(self, sid: str, expires: int) -> None:
        now = int(self.clock())
        with self._lock:
            if self.path is None:
                self._mem = {k: v for k, v in self._mem.items() if v > now}
                self._mem[sid] = expires
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.path) + ".lock", timeout=10):
                self._sig = None
                current = {k: v for k, v in self._read().items() if v > now}  # expired ones are harmless
                current[sid] = expires
                atomic_write_json(self.path, current)
                os.chmod(self.path, 0o600)
                self._sig = None

    def __contains__(self, sid: str) -> bool:
        with self._lock:
            return sid in self._read()


# -- signed sessions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    name: str
    csrf: str
    sid: str = ""
    expires: int = 0


class SessionSigner:
    """Issue, read and revoke signed session cookies. Without a key (tests, one-off servers) the key is
    random per process; ``create_app`` passes the persistent one from the state dir."""

    def __init__(self, key: bytes | None = None, ttl: int = SESSION_TTL, revoked: Revocations | None = None,
                 clock: Callable[[], float] = time.time):
        self.key = key or secrets.token_bytes(32)
        self.ttl = ttl
        self.revoked = revoked if revoked is not None else Revocations(None, clock)
        self.clock = clock

    def _mac(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.key, payload, hashlib.sha256).digest()).decode().rstrip("=")

    def issue(self, name: str) -> tuple[str, Session]:
        session = Session(name, secrets.token_urlsafe(24), secrets.token_urlsafe(16), int(self.clock()) + self.ttl)
        body = json.dumps({"n": session.name, "c": session.csrf, "s": session.sid, "e": session.expires}).encode()
        payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{payload}.{self._mac(payload.encode())}", session

    def read(self, value: str | None) -> Session | None:
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(payload.encode())):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            session = Session(str(data["n"]), str(data["c"]), str(data.get("s", "")), int(data.get("e", 0)))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires < self.clock() or not session.sid or session.sid in self.revoked:
            return None
        return session

    def revoke(self, session: Session) -> None:
        self.revoked.revoke(session.sid, session.expires)


# -- login throttle -------------------------------------------------------------------------------
@dataclass
class _Client:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    next_try: float = 0.0
    lockouts: int = 0


class LoginThrottle:
    """Failed logins per client address; :meth:`wait` says how long a client must wait before trying again.

    In memory and per process: a restart forgets the counts, which costs an attacker a restart of our
    server they cannot trigger. Bounded: at most ``max_clients`` addresses are tracked (oldest dropped).
    """

    def __init__(self, max_failures: int = 5, window: float = 900.0, lockout: float = 900.0,
                 free_failures: int = 1, max_lockout: float = 86400.0, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.max_failures, self.window, self.lockout = max_failures, window, lockout
        self.free_failures, self.max_lockout, self.max_clients = free_failures, max_lockout, max_clients
        self.clock = clock
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds until ``client`` may try a token again (0: now)."""
        now = self.clock()
        with self._lock:
            c = self._clients.get(client)
            if c is None:
                return 0.0
            return max(0.0, c.locked_until - now, c.next_try - now)

    def failure(self, client: str) -> float:
        """Record a wrong token; returns the seconds the client must now wait."""
        now = self.clock()
        with self._lock:
            c = self._clients.pop(client, None) or _Client()
            self._clients[client] = c  # most recently seen last, for the bound below
            while len(self._clients) > self.max_clients:
                self._clients.pop(next(iter(self._clients)))
            c.failures = [t for t in c.failures if t > now - self.window] + [now]
            n = len(c.failures)
            if n >= self.max_failures:
                c.lockouts += 1
                c.locked_until = now + min(self.max_lockout, self.lockout * 2 ** (c.lockouts - 1))
                c.failures = []
                log.warning("review login: %s locked out for %.0f s after %d failed logins",
                            client, c.locked_until - now, n)
            elif n > self.free_failures:
                c.next_try = now + 2.0 ** (n - self.free_failures - 1)
            return max(0.0, c.locked_until - now, c.next_try - now)

    def success(self, client: str) -> None:
        with self._lock:
            c = self._clients.get(client)
            if c is not None:  # a lockout history stays: the next lockout is still the longer one
                c.failures, c.next_try = [], 0.0
