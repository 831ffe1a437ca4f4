"""How fast can a client guess the review token? Wrong tokens against the real review app (a live
uvicorn on a free loopback port), as fast as one client can send them, first with the login throttle
switched off (what main did: every token checked) and then with the app's default throttle.

Counted per run: attempts sent, tokens actually checked (401 "wrong token"), attempts refused unchecked
(429), the checked tokens per second, how long until the lockout, and whether the right token is then
refused too (it must be, or the lockout only slows a guesser down).

Writes the section "## Review page: login throttling" of benchmarks/RELIABILITY.md.
Usage: python benchmarks/reliability_login.py [--seconds 15]
"""

from __future__ import annotations

import argparse
import logging
import platform
import re
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from _results import replace_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RELIABILITY.md"
SECTION = "## Review page: login throttling"
TOKEN = "the-right-review-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def attack(base: str, seconds: float) -> dict:
    """One client sending wrong tokens back to back for ``seconds``, then the right one."""
    import httpx

    counts = {"sent": 0, "checked": 0, "refused": 0, "other": 0}
    first_refusal = last_check = None
    with httpx.Client(base_url=base, timeout=10) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            r = client.post("/login", data={"name": "mallory", "token": f"guess-{counts['sent']}", "csrf": csrf})
            counts["sent"] += 1
            if r.status_code == 401:
                counts["checked"] += 1
                last_check = time.perf_counter() - t0
            elif r.status_code == 429:
                counts["refused"] += 1
                first_refusal = first_refusal or time.perf_counter() - t0
            else:
                counts["other"] += 1
            found = re.search(r'name="csrf" value="([^"]+)"', r.text)
            csrf = found.group(1) if found else csrf  # each login form carries a fresh CSRF token
        elapsed = time.perf_counter() - t0
        right = client.post("/login", data={"name": "mallory", "token": TOKEN, "csrf": csrf}, follow_redirects=False)
    counts.update(seconds=round(elapsed, 2), checked_per_second=round(counts["checked"] / elapsed, 2),
                  sent_per_second=round(counts["sent"] / elapsed, 1),
                  first_refusal_s=None if first_refusal is None else round(first_refusal, 2),
                  last_check_s=None if last_check is None else round(last_check, 2),
                  right_token=right.status_code, retry_after=right.headers.get("retry-after"))
    return counts


class _Count(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.failed = self.lockouts = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.failed += "failed review login" in message
        self.lockouts += "locked out" in message


def run(seconds: float) -> dict:
    from trust_tagger.review.auth import LoginThrottle
    from trust_tagger.review.web import create_app
    from trust_tagger.store.store import Store

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'store.db'}")
        for name, throttle in (("throttle off (every token checked, as on main)", LoginThrottle(max_failures=10**9,
                                                                                 free_failures=10**9)),
                               ("default throttle", LoginThrottle())):
            server, thread, base = serve(create_app(store, TOKEN, throttle=throttle))
            counter = _Count()
            review_log = logging.getLogger("trust_tagger.review")
            review_log.addHandler(counter)
            review_log.propagate = False  # counted, not printed
            try:
                out[name] = attack(base, seconds)
                out[name].update(logged=counter.failed, lockouts_logged=counter.lockouts)
            finally:
                review_log.removeHandler(counter)
                server.should_exit = True
                thread.join(timeout=10)
        defaults = LoginThrottle()
        out["policy"] = {"free_failures": defaults.free_failures, "max_failures": defaults.max_failures,
                         "window": defaults.window, "lockout": defaults.lockout, "max_lockout": defaults.max_lockout}
    return out


def section(result: dict, seconds: float) -> str:
    p = result["policy"]
    delays = sum(2.0 ** k for k in range(p["max_failures"] - p["free_failures"] - 1))
    sustained = p["max_failures"] / (delays + p["lockout"])
    lines = [SECTION, "",
             f"`python benchmarks/reliability_login.py --seconds {seconds:g}`: one client sends wrong review tokens "
             f"back to back for {seconds:g} s against the real app (uvicorn on a loopback port, "
             f"{platform.machine()}, Python {platform.python_version()}), then the right token.", "",
             "| run | attempts sent | tokens checked | refused unchecked (429) | tokens checked / s | "
             "first refusal after | last token checked at | failed logins logged | right token afterwards |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in result.items():
        if name == "policy":
            continue
        right = "accepted (303)" if r["right_token"] == 303 else f"refused ({r['right_token']}, Retry-After {r['retry_after']} s)"
        first = "never" if r["first_refusal_s"] is None else f"{r['first_refusal_s']} s"
        lines.append(f"| {name} | {r['sent']} ({r['sent_per_second']}/s) | {r['checked']} | {r['refused']} | "
                     f"{r['checked_per_second']} | {first} | {r['last_check_s']} s | {r['logged']} | {right} |")
    lines += ["",
              f"Policy (`trust_tagger.review.auth.LoginThrottle` defaults): {p['free_failures']} quick retry, then "
              f"1, 2, 4 … s between failures; {p['max_failures']} failures within {p['window']:.0f} s lock the "
              f"client out for {p['lockout']:.0f} s (doubling on each further lockout, up to "
              f"{p['max_lockout'] / 3600:.0f} h), the right token included. Sustained, one address gets at most "
              f"{p['max_failures']} guesses per {delays + p['lockout']:.0f} s = {sustained:.4f} tokens/s "
              f"({sustained * 86400:.0f} a day, fewer as lockouts double). Every failed login is logged with the "
              "client address; the counts live in the server process (a restart forgets them).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    result = run(args.seconds)
    if not RESULTS.exists():
        RESULTS.write_text("# Reliability\n")
    text = section(result, args.seconds)
    replace_section(RESULTS, SECTION, text)
    print(text)


if __name__ == "__main__":
    main()
