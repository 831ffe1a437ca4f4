"""The review queue as a small server-rendered web app, for several maintainers at once.

Everything a page shows goes through Jinja2 autoescaping (titles and abstracts come from arXiv, i.e.
from anyone), and a strict Content-Security-Policy with a per-request nonce stops any markup that
slipped through from running. Reading needs nothing; writing needs a session opened with the
configured ``review_token`` (none configured: the app is read-only), every form carries the
session's CSRF token, and a write whose ``Origin`` (or ``Referer``) is another site is refused.
Sessions, logout and the login throttle live in :mod:`trust_tagger.review.auth`. Two maintainers
deciding the same paper are told, never overwritten: the form carries the item revision it was
rendered from and :func:`trust_tagger.review.decide` compares it; bulk actions and the adjacent
view's one-click promotion go through the same function, paper by paper.

The paper page puts the decision first: at 1280x800 the title, abstract, the predictions that matter
and the action buttons are all above the fold (checked by the browser test); the full probability
table and the label editor are folded.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from trust_tagger import review
from trust_tagger.config import Settings
from trust_tagger.files import LockTimeout
from trust_tagger.review.auth import SESSION_TTL, LoginThrottle, Revocations, Session, SessionSigner, load_secret
from trust_tagger.review.export import decisions_path
from trust_tagger.review.queue import Conflict, QueueFilter, ReviewError, ReviewPaper
from trust_tagger.store.store import Store

log = logging.getLogger(__name__)
SESSION_COOKIE = "tt_review_session"
LOGIN_COOKIE = "tt_review_login"
FILTER_COOKIE = "tt_review_filters"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
TEMPLATES = Path(__file__).parent / "templates"


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
                       include_deferred=params.get("deferred", "1") in ("1", "on"),
                       search=(params.get("q") or "").strip() or None)


def _filter_qs(f: QueueFilter) -> str:
    """The filters as a query string, so "next paper" after a decision stays inside the same view."""
    params = {"q": f.search or "", "category": f.category or "", "since": f.since or "", "until": f.until or "",
              "relevant_only": "1" if f.relevant_only else "", "deferred": "" if f.include_deferred else "0"}
    return urlencode({k: v for k, v in params.items() if v})


def paper_url(key: str) -> str:
    return "/paper/" + quote(key, safe=":")


def _safe_next(target: str | None) -> str:
    """Only local paths after login: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/queue"


def _items(values) -> list[tuple[str, int]]:
    """``key@revision`` pairs from a bulk form (the revision each paper was shown at)."""
    out = []
    for value in values:
        key, _, rev = str(value).rpartition("@")
        if not key or not rev.isdigit():
            raise ReviewError(f"bad selection {value!r}")
        out.append((key, int(rev)))
    return out


def _client(request: Request) -> str:
    """The address the throttle counts against (the proxy's, behind a reverse proxy)."""
    return request.client.host if request.client else "unknown"


def create_app(source: Settings | Store, token: str | None = None, *, list_dir: Path | str | None = None,
               export_path: Path | str | None = None, random_share: float = 0.1,
               signer: SessionSigner | None = None, state_dir: Path | str | None = None,
               https: bool | None = None, throttle: LoginThrottle | None = None) -> FastAPI:
    """The review app over a store (or the store and list the settings name).

    ``token`` overrides ``settings.review_token``; empty means read-only. With settings, decisions are
    exported to ``<labeled_dir>/decisions.jsonl`` after each write (the audit log is the truth; the file
    is rebuilt from it), unless ``export_path`` says otherwise, and the session secret and logouts are
    kept in ``settings.state_dir`` (without a state dir: a random key, sessions die with the process).
    ``https`` (``settings.review_https``): served behind HTTPS, so cookies are ``Secure``.
    """
    if isinstance(source, Settings):
        store = Store(source.resolved_db_url)
        token = source.review_token if token is None else token
        list_dir = source.path(source.list_dir) if list_dir is None else list_dir
        state_dir = source.path(source.state_dir) if state_dir is None else state_dir
        https = source.review_https if https is None else https
        if export_path is None:
            export_path = decisions_path(source)
    else:
        store = source
    token = token or ""
    https = bool(https)
    if signer is None:
        signer = SessionSigner(load_secret(state_dir) if state_dir is not None else None,
                               revoked=Revocations(state_dir))
    throttle = throttle or LoginThrottle()
    lists = _ListCache(Path(list_dir) if list_dir is not None else None)
    export_lock = threading.Lock()
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["paper_url"] = paper_url
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * float(v):.0f}%"
    env.globals["list_files"] = review.list_files

    app = FastAPI(title="trust-tagger review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.throttle = throttle
    app.state.signer = signer

    def expected_origin(request: Request) -> str:
        scheme = "https" if https else request.url.scheme
        return f"{scheme}://{request.headers.get('host', '')}".lower()

    def cross_site(request: Request) -> str | None:
        """The foreign origin of a write, if it names one. Browsers send ``Origin`` on every form POST;
        without it the ``Referer`` is checked; with neither (scripts) the CSRF token still guards."""
        origin = request.headers.get("origin")
        if origin is None:
            referer = request.headers.get("referer")
            if not referer:
                return None
            parts = urlsplit(referer)
            origin = f"{parts.scheme}://{parts.netloc}"
        return None if origin.lower() == expected_origin(request) else origin

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        request.state.nonce = secrets.token_urlsafe(16)
        foreign = cross_site(request) if request.method in UNSAFE_METHODS else None
        if foreign is not None:
            log.warning("refused a %s %s from origin %s (client %s)", request.method, request.url.path,
                        foreign[:100], _client(request))
            response = message(request, 403, "Cross-site request refused",
                               "This form was sent from another site; nothing was saved. Open the review page "
                               "itself and try again.")
        else:
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

    def secure(request: Request) -> bool:
        return https or request.url.scheme == "https"

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

    def filters_of(params) -> QueueFilter:
        return _filters_from(params).validate(lists.get().taxonomy)

    async def writer(request: Request, back: str):
        """(form, session) of a write, or the page that says why it may not write."""
        form = await request.form()
        if not token:
            return form, None, message(request, 403, "Read-only", READ_ONLY, back)
        session = session_of(request)
        if session is None:
            return form, None, message(request, 401, "Not logged in", "Log in with the review token to decide.",
                                       "/login?" + urlencode({"next": back}))
        if not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
            return form, None, message(request, 403, "Form expired",
                                       "The form's CSRF token is invalid; reload and retry.", back)
        return form, session, None

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/queue", status_code=303)

    @app.get("/queue", response_class=HTMLResponse)
    def queue_page(request: Request):
        params = request.query_params
        remembered = request.cookies.get(FILTER_COOKIE, "")
        if not params and remembered:  # filters keep their state between visits; "clear" forgets them
            return RedirectResponse("/queue?" + remembered, status_code=303)
        try:
            filters = filters_of(params)
        except ReviewError as exc:
            return message(request, 400, "Bad filter", str(exc), "/queue?clear=1")
        index = lists.get()
        papers = review.load_queue(store, filters, random_share=random_share)
        listed = {p.key: bool(index.near_duplicates(p.key, p.title, limit=1)) for p in papers}
        qs = _filter_qs(filters)
        response = render(request, "queue.html", papers=papers, filters=filters, qs=qs,
                          filter_fields=parse_qsl(qs), categories=list(index.taxonomy), listed=listed,
                          bulk=_bulk_banner(params))
        if qs:
            response.set_cookie(FILTER_COOKIE, qs, httponly=True, samesite="strict", secure=secure(request),
                                max_age=30 * 86400)
        elif remembered:
            response.delete_cookie(FILTER_COOKIE)
        return response

    @app.get("/adjacent", response_class=HTMLResponse)
    def adjacent_page(request: Request):
        try:
            filters = filters_of(request.query_params)
        except ReviewError as exc:
            return message(request, 400, "Bad filter", str(exc), "/adjacent")
        papers = review.adjacent_papers(store, filters)
        promoted = review.get_paper(store, request.query_params.get("promoted", ""))
        rev = request.query_params.get("rev", "")
        return render(request, "adjacent.html", papers=papers, filters=filters, qs=_filter_qs(filters),
                      categories=list(lists.get().taxonomy), promoted=promoted,
                      promoted_rev=int(rev) if rev.isdigit() else None)

    @app.get("/paper/{key:path}", response_class=HTMLResponse)
    def paper_page(request: Request, key: str):
        paper = review.get_paper(store, key)
        if paper is None:
            return message(request, 404, "Not found", f"No paper {key} in the store.", "/queue")
        try:
            filters = filters_of(request.query_params)
        except ReviewError:
            filters = QueueFilter()
        index = lists.get()
        saved = request.query_params.get("saved")
        prev = review.get_paper(store, request.query_params.get("prev", "")) if saved in review.ACTIONS else None
        rev = request.query_params.get("rev", "")
        queue = review.load_queue(store, filters, random_share=random_share)
        position = next((p for p in queue if p.key == key), None)
        nxt = next((p for p in queue if p.key != key and p.item_state == "pending"), None)
        qs = _filter_qs(filters)
        return render(request, "item.html", paper=paper, position=position, total=len(queue), next=nxt,
                      dups=index.near_duplicates(paper.key, paper.title), taxonomy=index.taxonomy,
                      history=review.audit_log(store, key), qs=qs, filter_fields=parse_qsl(qs),
                      queued=paper.item_state in review.QUEUE_STATES and paper.status not in review.DECIDED_STATUSES,
                      saved=saved if prev else None, prev=prev, saved_rev=int(rev) if rev.isdigit() else None,
                      shown=_shown_predictions(paper))

    @app.post("/paper/{key:path}/decide")
    async def decide(request: Request, key: str):
        back = paper_url(key)
        form, session, refused = await writer(request, back)
        if refused is not None:
            return refused
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
        done = urlencode({"saved": outcome.action, "prev": key, "rev": outcome.revision})
        if outcome.action == "revert":  # undone: show the paper again, to decide it anew
            target = back
        else:
            nxt = await run_in_threadpool(review.next_in_queue, store, key, filters)
            target = paper_url(nxt.key) if nxt else "/queue"
        return RedirectResponse(f"{target}?{done}" + (f"&{qs}" if qs else ""), status_code=303)

    @app.post("/paper/{key:path}/promote")
    async def promote(request: Request, key: str):
        form, session, refused = await writer(request, "/adjacent")
        if refused is not None:
            return refused
        try:
            outcome = await run_in_threadpool(review.promote, store, key, session.name,
                                              revision=int(form.get("revision", "")), index=lists.get())
        except Conflict as exc:
            return message(request, 409, "Conflict: not saved", str(exc), "/adjacent")
        except (ReviewError, ValueError) as exc:
            return message(request, 400, "Not saved", str(exc), paper_url(key))
        await run_in_threadpool(export)
        return RedirectResponse("/adjacent?" + urlencode({"promoted": key, "rev": outcome.revision}), status_code=303)

    @app.post("/bulk")
    async def bulk(request: Request):
        form, session, refused = await writer(request, "/queue")
        if refused is not None:
            return refused
        action = str(form.get("action", ""))
        if action not in ("accept", "reject", "defer", "revert"):
            return message(request, 400, "Not saved", f"{action!r} cannot be applied to a selection", "/queue")
        try:
            filters = _filters_from(form)
            items = _items(form.getlist("item"))
        except ReviewError as exc:
            return message(request, 400, "Not saved", str(exc), "/queue")
        if not items:
            return message(request, 400, "Nothing selected", "Tick the papers to apply the action to.", "/queue")
        result = await run_in_threadpool(review.decide_each, store, items, action, session.name, index=lists.get())
        await run_in_threadpool(export)
        params = [("bulk", action)] + [("u", f"{o.key}@{o.revision}") for o in result.saved]
        params += [("f", key) for key, _ in result.failed]
        qs = _filter_qs(filters)
        return RedirectResponse("/queue?" + urlencode(params) + (f"&{qs}" if qs else ""), status_code=303)

    @app.get("/decided", response_class=HTMLResponse)
    def decided_page(request: Request, status: str = "", model_only: str = "1"):
        status = status if status in review.DECIDED_STATUSES else ""
        papers = review.decided_papers(store, status or None, by_model_only=model_only == "1")
        return render(request, "decided.html", papers=papers, status=status, model_only=model_only == "1")

    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request):
        return render(request, "audit.html", entries=review.audit_log(store, limit=500))

    def login_form(request: Request, target: str, code: int = 200, error: str | None = None) -> HTMLResponse:
        login_csrf = secrets.token_urlsafe(16)
        response = render(request, "login.html", code, next=target, login_csrf=login_csrf, error=error)
        response.set_cookie(LOGIN_COOKIE, login_csrf, httponly=True, samesite="strict", max_age=3600,
                            secure=secure(request))
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/queue"):
        return login_form(request, _safe_next(next))

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request):
        form = await request.form()
        target = _safe_next(str(form.get("next", "")))
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        client = _client(request)
        if not token:
            return message(request, 403, "Read-only", READ_ONLY)
        wait = throttle.wait(client)
        if wait > 0:
            response = login_form(request, target, 429, _too_many(wait))
            response.headers["Retry-After"] = str(int(wait + 0.999))
            return response
        if not cookie or not hmac.compare_digest(str(form.get("csrf", "")), cookie):
            return message(request, 403, "Form expired", "The login form expired; open it again.", "/login")
        try:
            name = review.clean_reviewer(str(form.get("name", "")))
        except ReviewError as exc:
            return login_form(request, target, 401, str(exc))
        if not hmac.compare_digest(str(form.get("token", "")).encode(), token.encode()):
            wait = throttle.failure(client)
            log.warning("failed review login from %s as %r", client, name)
            error = "Wrong review token." + (f" {_too_many(wait)}" if wait > 0 else "")
            return login_form(request, target, 401, error)
        throttle.success(client)
        value, _ = signer.issue(name)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict", max_age=SESSION_TTL,
                            secure=secure(request))
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        form = await request.form()
        session = session_of(request)
        if session is None or not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
            return message(request, 403, "Form expired", "Reload and retry.", "/queue")
        await run_in_threadpool(signer.revoke, session)  # a copy of the cookie is worthless from now on
        response = RedirectResponse("/queue", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return app


READ_ONLY = ("No review token is configured: this server is read-only. Whoever runs it can allow decisions "
             "with `trust-tagger serve-review --token-file FILE` or the TRUST_TAGGER_REVIEW_TOKEN variable.")


def _too_many(wait: float) -> str:
    when = f"{wait / 60:.0f} minutes" if wait >= 90 else f"{wait:.0f} seconds"
    return f"Too many failed logins from your address: try again in {when}."


def _bulk_banner(params) -> dict | None:
    """What the last bulk action did, from the redirect's query string (the undo form needs the revisions)."""
    action = params.get("bulk")
    if not action:
        return None
    undo = []
    for value in params.getlist("u"):
        key, _, rev = value.rpartition("@")
        if key and rev.isdigit():
            undo.append(value)
    return {"action": action, "undo": undo, "failed": params.getlist("f")}


def _shown_predictions(paper: ReviewPaper, floor: float = 0.2, most: int = 4) -> dict:
    """The few probabilities worth reading before deciding: the predicted files, then any other
    category or subcategory at ``floor`` or above (most of the 7 + 25 are near 0 %)."""
    pred = paper.prediction or {}
    subs = pred.get("subcategories", {})
    targets = paper.predicted_targets
    files = [(t, subs.get(t), f) for t, f in zip(targets, review.list_files(targets))]
    others = sorted(((k, v) for k, v in subs.items() if v >= floor and k not in targets), key=lambda kv: -kv[1])
    cats = sorted(((k, v) for k, v in pred.get("categories", {}).items() if v >= floor), key=lambda kv: -kv[1])
    return {"files": files, "others": others[:most], "categories": cats[:most]}


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, token: str | None = None) -> None:
    """Run the app with uvicorn; localhost unless the caller explicitly asks for another interface."""
    import uvicorn

    uvicorn.run(create_app(settings, token), host=host, port=port, log_level="info")
