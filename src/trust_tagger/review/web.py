"""The review queue as a small server-rendered web app, for several maintainers at once.

Everything a page shows goes through Jinja2 autoescaping (titles and abstracts come from arXiv, i.e.
from anyone), and a strict Content-Security-Policy with a per-request nonce stops any markup that
slipped through from running. Reading needs nothing; writing needs a session opened with the
configured ``review_token`` (none configured: the app is read-only), and every form carries the
session's CSRF token. Two maintainers deciding the same paper are told, never overwritten: the form
carries the item revision it was rendered from and :func:`trust_tagger.review.decide` compares it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from trust_tagger import review
from trust_tagger.config import Settings
from trust_tagger.files import LockTimeout
from trust_tagger.review.export import decisions_path
from trust_tagger.review.queue import Conflict, QueueFilter, ReviewError
from trust_tagger.store.store import Store

log = logging.getLogger(__name__)
SESSION_COOKIE = "tt_review_session"
LOGIN_COOKIE = "tt_review_login"
SESSION_TTL = 12 * 3600
TEMPLATES = Path(__file__).parent / "templates"


# -- sessions -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    name: str
    csrf: str


class SessionSigner:
    """Stateless signed sessions: ``payload.mac`` with the reviewer's name, a CSRF token and an expiry.

    The key is random per process, so restarting the server logs everyone out; that is the price of
    keeping no session table, and a cheap one for a tool used by a handful of people.
    """

    def __init__(self, key: bytes | None = None, ttl: int = SESSION_TTL):
        self.key = key or secrets.token_bytes(32)
        self.ttl = ttl

    def _mac(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.key, payload, hashlib.sha256).digest()).decode().rstrip("=")

    def issue(self, name: str) -> tuple[str, Session]:
        session = Session(name, secrets.token_urlsafe(24))
        body = json.dumps({"n": session.name, "c": session.csrf, "e": int(time.time()) + self.ttl}).encode()
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
        except ValueError:
            return None
        if data.get("e", 0) < time.time():
            return None
        return Session(data["n"], data["c"])


# -- the app ----------------------------------------------------------------------------------------------
class _ListCache:
    """The list index, re-read only when a list file changed (a merge ran, someone edited a file)."""

    def __init__(self, list_dir: Path | None):
        self.list_dir = list_dir
        self._lock = threading.Lock()
        self._sig: tuple | None = None
        self._index: review.ListIndex | None = None

    def get(self) -> review.ListIndex:
        sig = None
        if self.list_dir is not None and self.list_dir.is_dir():
            sig = tuple(sorted((str(p), p.stat().st_mtime_ns) for p in self.list_dir.rglob("*.md")))
        with self._lock:
            if self._index is None or sig != self._sig:
                self._index, self._sig = review.load_list_index(self.list_dir), sig
            return self._index


def _filters_from(params) -> QueueFilter:
    return QueueFilter(category=params.get("category") or None, since=params.get("since") or None,
                       until=params.get("until") or None, relevant_only=params.get("relevant_only") in ("1", "on"),
                       include_deferred=params.get("deferred", "1") in ("1", "on"))


def _filter_qs(f: QueueFilter) -> str:
    """The filters as a query string, so "next paper" after a decision stays inside the same view."""
    params = {"category": f.category or "", "since": f.since or "", "until": f.until or "",
              "relevant_only": "1" if f.relevant_only else "", "deferred": "" if f.include_deferred else "0"}
    return urlencode({k: v for k, v in params.items() if v})


def paper_url(key: str) -> str:
    return "/paper/" + quote(key, safe=":")


def _safe_next(target: str | None) -> str:
    """Only local paths after login: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/queue"


def create_app(source: Settings | Store, token: str | None = None, *, list_dir: Path | str | None = None,
               export_path: Path | str | None = None, random_share: float = 0.1,
               signer: SessionSigner | None = None) -> FastAPI:
    """The review app over a store (or the store and list the settings name).

    ``token`` overrides ``settings.review_token``; empty means read-only. With settings, decisions are
    exported to ``<labeled_dir>/decisions.jsonl`` after each write (the audit log is the truth; the file
    is rebuilt from it), unless ``export_path`` says otherwise.
    """
    if isinstance(source, Settings):
        store = Store(source.resolved_db_url)
        token = source.review_token if token is None else token
        list_dir = source.path(source.list_dir) if list_dir is None else list_dir
        if export_path is None:
            export_path = decisions_path(source)
    else:
        store = source
    token = token or ""
    signer = signer or SessionSigner()
    lists = _ListCache(Path(list_dir) if list_dir is not None else None)
    export_lock = threading.Lock()
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["paper_url"] = paper_url
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * float(v):.0f}%"
    env.globals["list_files"] = review.list_files

    app = FastAPI(title="trust-tagger review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        request.state.nonce = secrets.token_urlsafe(16)
        response = await call_next(request)
        nonce = request.state.nonce
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return response

    def session_of(request: Request) -> Session | None:
        return signer.read(request.cookies.get(SESSION_COOKIE)) if token else None

    def render(request: Request, template: str, code: int = 200, **ctx) -> HTMLResponse:
        ctx.update(request=request, session=session_of(request), nonce=request.state.nonce, writable=bool(token))
        return HTMLResponse(env.get_template(template).render(**ctx), status_code=code)

    def message(request: Request, code: int, title: str, text: str, back: str | None = None) -> HTMLResponse:
        return render(request, "message.html", code, title=title, text=text, back=back)

    def export() -> None:
        if export_path is None:
            return
        try:
            with export_lock:
                review.export_decisions(store, export_path)
        except (OSError, LockTimeout):  # the decision is safe in the audit log; the next export merges it in
            log.exception("could not export decisions to %s", export_path)

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/queue", status_code=303)

    @app.get("/queue", response_class=HTMLResponse)
    def queue_page(request: Request):
        try:
            filters = _filters_from(request.query_params)
        except ReviewError as exc:
            return message(request, 400, "Bad filter", str(exc), "/queue")
        index = lists.get()
        papers = review.load_queue(store, filters, random_share=random_share)
        listed = {p.key: bool(index.near_duplicates(p.key, p.title, limit=1)) for p in papers}
        return render(request, "queue.html", papers=papers, filters=filters, qs=_filter_qs(filters),
                      categories=list(index.taxonomy), listed=listed)

    @app.get("/paper/{key:path}", response_class=HTMLResponse)
    def paper_page(request: Request, key: str):
        paper = review.get_paper(store, key)
        if paper is None:
            return message(request, 404, "Not found", f"No paper {key} in the store.", "/queue")
        try:
            filters = _filters_from(request.query_params)
        except ReviewError:
            filters = QueueFilter()
        index = lists.get()
        saved = request.query_params.get("saved")
        prev = review.get_paper(store, request.query_params.get("prev", "")) if saved in review.ACTIONS else None
        queue = review.load_queue(store, filters, random_share=random_share)
        position = next((p for p in queue if p.key == key), None)
        nxt = next((p for p in queue if p.key != key and p.item_state == "pending"), None)
        return render(request, "item.html", paper=paper, position=position, total=len(queue), next=nxt,
                      dups=index.near_duplicates(paper.key, paper.title), taxonomy=index.taxonomy,
                      history=review.audit_log(store, key), qs=_filter_qs(filters),
                      filter_fields=parse_qsl(_filter_qs(filters)),
                      queued=paper.item_state in review.QUEUE_STATES and paper.status not in review.DECIDED_STATUSES,
                      saved=saved if prev else None, prev=prev)

    @app.post("/paper/{key:path}/decide")
    async def decide(request: Request, key: str):
        form = await request.form()
        session = session_of(request)
        back = paper_url(key)
        if not token:
            return message(request, 403, "Read-only", "No review token is configured: this server is read-only.", back)
        if session is None:
            return message(request, 401, "Not logged in", "Log in with the review token to decide.",
                           "/login?" + urlencode({"next": back}))
        if not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
            return message(request, 403, "Form expired", "The form's CSRF token is invalid; reload and retry.", back)
        try:
            filters = _filters_from(form)
            revision = int(form.get("revision", ""))
            relevance = form.get("relevance")
            outcome = await run_in_threadpool(
                review.decide, store, key, str(form.get("action", "")), session.name, revision=revision,
                relevance=int(relevance) if relevance not in (None, "") else None,
                subcategories=[str(s) for s in form.getlist("sub")], categories=[],
                note=str(form.get("note", "")), audio_llm={"yes": True, "no": False}.get(str(form.get("audio_llm"))),
                index=lists.get())
        except Conflict as exc:
            return message(request, 409, "Conflict: not saved", str(exc), back)
        except (ReviewError, ValueError) as exc:
            return message(request, 400, "Not saved", str(exc), back)
        await run_in_threadpool(export)
        qs = _filter_qs(filters)
        done = urlencode({"saved": outcome.action, "prev": key})
        nxt = await run_in_threadpool(review.next_in_queue, store, key, filters)
        target = paper_url(nxt.key) if nxt else "/queue"
        return RedirectResponse(f"{target}?{done}" + (f"&{qs}" if qs else ""), status_code=303)

    @app.get("/decided", response_class=HTMLResponse)
    def decided_page(request: Request, status: str = "", model_only: str = "1"):
        status = status if status in review.DECIDED_STATUSES else ""
        papers = review.decided_papers(store, status or None, by_model_only=model_only == "1")
        return render(request, "decided.html", papers=papers, status=status, model_only=model_only == "1")

    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request):
        return render(request, "audit.html", entries=review.audit_log(store, limit=500))

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/queue"):
        login_csrf = secrets.token_urlsafe(16)
        response = render(request, "login.html", next=_safe_next(next), login_csrf=login_csrf, error=None)
        response.set_cookie(LOGIN_COOKIE, login_csrf, httponly=True, samesite="strict", max_age=3600)
        return response

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request):
        form = await request.form()
        target = _safe_next(str(form.get("next", "")))
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not token:
            return message(request, 403, "Read-only", "No review token is configured: this server is read-only.")
        if not cookie or not hmac.compare_digest(str(form.get("csrf", "")), cookie):
            return message(request, 403, "Form expired", "The login form expired; open it again.", "/login")
        error = None
        try:
            name = review.clean_reviewer(str(form.get("name", "")))
        except ReviewError as exc:
            error = str(exc)
        if error is None and not hmac.compare_digest(str(form.get("token", "")).encode(), token.encode()):
            error = "Wrong review token."
        if error:
            login_csrf = secrets.token_urlsafe(16)
            response = render(request, "login.html", 401, next=target, login_csrf=login_csrf, error=error)
            response.set_cookie(LOGIN_COOKIE, login_csrf, httponly=True, samesite="strict", max_age=3600)
            return response
        value, _ = signer.issue(name)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict", max_age=SESSION_TTL)
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        form = await request.form()
        session = session_of(request)
        if session is None or not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
            return message(request, 403, "Form expired", "Reload and retry.", "/queue")
        response = RedirectResponse("/queue", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the app with uvicorn; localhost unless the caller explicitly asks for another interface."""
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
