"""A local stand-in for the one GitHub REST endpoint delivery calls, ``POST /repos/{owner}/{repo}/pulls``.

Like GitHub, it answers 422 when the head branch does not exist on the repository (here: a bare git
repository on disk that the test pushes to), 401 without a token, and whatever a test scripts with
:meth:`FakeGitHub.fail_next`. Every request is recorded (method, path, headers, JSON body).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_PULLS = re.compile(r"^(?P<prefix>.*)/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls$")


class FakeGitHub:
    def __init__(self, bare_repo: Path | None = None, prefix: str = "/api/v3") -> None:
        self.bare_repo = bare_repo
        self.prefix = prefix
        self.requests: list[dict[str, Any]] = []
        self.pulls: list[dict[str, Any]] = []
        self._fail: list[tuple[int, dict]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    def fail_next(self, status: int, message: str) -> None:
        self._fail.append((status, {"message": message, "documentation_url": "https://docs.github.com/rest"}))

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _branch_exists(self, branch: str) -> bool:
        if self.bare_repo is None:
            return True
        proc = subprocess.run(["git", "-C", str(self.bare_repo), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
                              capture_output=True)
        return proc.returncode == 0

    def _answer(self, method: str, path: str, headers: dict, body: dict) -> tuple[int, dict]:
        self.requests.append({"method": method, "path": path, "headers": headers, "json": body})
        match = _PULLS.match(path.split("?")[0])
        if method != "POST" or not match or match["prefix"] != self.prefix:
            return 404, {"message": "Not Found"}
        if not headers.get("authorization", "").lower().startswith(("token ", "bearer ")):
            return 401, {"message": "Requires authentication"}
        if self._fail:
            return self._fail.pop(0)
        missing = [k for k in ("title", "head", "base") if not body.get(k)]
        if missing:
            return 422, {"message": "Validation Failed", "errors": [{"field": k, "code": "missing_field"} for k in missing]}
        if not self._branch_exists(body["head"]):
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}]}
        number = len(self.pulls) + 1
        owner, repo = match["owner"], match["repo"]
        pull = {"number": number, "state": "open", "title": body["title"], "body": body.get("body"),
                "head": {"ref": body["head"]}, "base": {"ref": body["base"]},
                "html_url": f"https://github.com/{owner}/{repo}/pull/{number}",
                "url": f"{self.url}/repos/{owner}/{repo}/pulls/{number}"}
        self.pulls.append(pull)
        return 201, pull

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = fake._answer(method, self.path, headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self._reply("POST")

            def do_GET(self) -> None:
                self._reply("GET")

        return Handler
