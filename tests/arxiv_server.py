"""A local stand-in for ``export.arxiv.org/api/query`` with scripted faults.

Tests of the client must exercise real HTTP (status codes, headers, timeouts, dropped
connections) without ever touching arXiv, so this serves arXiv-shaped Atom feeds from a list of
paper dicts on 127.0.0.1 and injects the failures arXiv is known for, in the order a test asks.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ATOM = "http://www.w3.org/2005/Atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
ARXIV = "http://arxiv.org/schemas/atom"
ET.register_namespace("", ATOM)
ET.register_namespace("opensearch", OPENSEARCH)
ET.register_namespace("arxiv", ARXIV)


@dataclass
class Fault:
    """One scripted misbehaviour, consumed by the next request it matches."""

    kind: str  # status | empty | zero | repeat | malformed | slow | trickle | api_error | rejected | disconnect | rate_text
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    message: str = ""
    count: int = 0

    @classmethod
    def http(cls, status: int, retry_after: str | None = None) -> Fault:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls("status", status=status, headers=headers)

    @classmethod
    def empty_page(cls) -> Fault:
        return cls("empty")

    @classmethod
    def zero_results(cls) -> Fault:
        """arXiv's transient "nothing found": totalResults 0 and no entries, for a window that has papers."""
        return cls("zero")

    @classmethod
    def repeat(cls, count: int) -> Fault:
        """The page re-serves the ``count`` entries before ``start`` in place of as many of its own."""
        return cls("repeat", count=count)

    @classmethod
    def trickle(cls, seconds_per_byte: float) -> Fault:
        """The whole answer, status line and headers included, one byte every ``seconds_per_byte``."""
        return cls("trickle", seconds=seconds_per_byte)

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls("slow", seconds=seconds)

    @classmethod
    def api_error(cls, message: str) -> Fault:
        return cls("api_error", message=message)

    @classmethod
    def rejected(cls, message: str) -> Fault:
        """HTTP 400 carrying an Atom error entry, as arXiv answers e.g. max_results > 30000."""
        return cls("rejected", status=400, message=message)

    @classmethod
    def disconnect(cls) -> Fault:
        return cls("disconnect")

    @classmethod
    def rate_text(cls) -> Fault:
        """arXiv's throttling answer seen in the wild: HTTP 200 with the body ``Rate exceeded.``."""
        return cls("rate_text")


def paper(n: int, **overrides: Any) -> dict[str, Any]:
    """A realistic paper dict; keys set to None are left out of the feed entry."""
    base = {
        "id": f"2506.{22800 + n:05d}",
        "version": 1 + n % 3,
        "title": f"Robust $\\mathcal{{L}}_{n}$ Speech Watermarking\n  against Voice Cloning, Part {n}",
        "abstract": (
            f"  We study paper {n}: audio deepfake detection & speaker privacy.\n"
            "Results hold for $x < y$ under <noise>.\n  "
        ),
        "authors": [f"Ada Lovelace {n}", "Alan Turing", "Grace Hopper"],
        "primary": "cs.SD",
        "categories": ["cs.SD", "eess.AS", "cs.CR", "I.2.7"],
        "published": f"2025-06-{1 + n % 28:02d}T10:00:00Z",
        "updated": f"2025-06-{1 + n % 28:02d}T17:30:00Z",
    }
    base.update(overrides)
    return base


def _sub(parent: ET.Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _entry(feed: ET.Element, p: dict[str, Any]) -> None:
    entry = _sub(feed, ATOM, "entry")
    if p.get("id"):
        version = f"v{p['version']}" if p.get("version") else ""
        _sub(entry, ATOM, "id", f"http://arxiv.org/abs/{p['id']}{version}")
        _sub(entry, ATOM, "link", href=f"https://arxiv.org/abs/{p['id']}{version}", rel="alternate", type="text/html")
        _sub(entry, ATOM, "link", title="pdf", href=f"https://arxiv.org/pdf/{p['id']}{version}", rel="related",
             type="application/pdf")
    for key in ("updated", "published"):
        if p.get(key):
            _sub(entry, ATOM, key, p[key])
    if p.get("title") is not None:
        _sub(entry, ATOM, "title", p["title"])
    if p.get("abstract") is not None:
        _sub(entry, ATOM, "summary", p["abstract"])
    for name in p.get("authors") or []:
        author = _sub(entry, ATOM, "author")
        _sub(author, ATOM, "name", name)
    _sub(entry, ARXIV, "comment", "5 pages, 2 figures")
    if p.get("primary"):
        _sub(entry, ARXIV, "primary_category", term=p["primary"], scheme=ARXIV)
    for term in p.get("categories") or []:
        _sub(entry, ATOM, "category", term=term, scheme=ARXIV)


def _feed(total: int, start: int, entries: list[dict[str, Any]], query: str) -> ET.Element:
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, ATOM, "id", "https://arxiv.org/api/stub-query-id")
    _sub(feed, ATOM, "title", f"arXiv Query: search_query={query}&id_list=&start={start}")
    _sub(feed, ATOM, "updated", "2025-07-01T00:00:00Z")
    _sub(feed, ATOM, "link", href="https://arxiv.org/api/query?stub", type="application/atom+xml")
    _sub(feed, OPENSEARCH, "itemsPerPage", str(len(entries)))
    _sub(feed, OPENSEARCH, "totalResults", str(total))
    _sub(feed, OPENSEARCH, "startIndex", str(start))
    for p in entries:
        _entry(feed, p)
    return feed


def feed_xml(total: int, start: int, entries: list[dict[str, Any]], query: str = "") -> bytes:
    return ET.tostring(_feed(total, start, entries, query), encoding="utf-8", xml_declaration=True)


def error_feed_xml(message: str) -> bytes:
    """The shape of arXiv's error answer (user manual §3.4): one entry with an api/errors id."""
    feed = _feed(1, 0, [], "")
    entry = _sub(feed, ATOM, "entry")
    slug = message.replace(" ", "_")
    _sub(entry, ATOM, "id", f"http://arxiv.org/api/errors#{slug}")
    _sub(entry, ATOM, "title", "Error")
    _sub(entry, ATOM, "summary", message)
    _sub(entry, ATOM, "updated", "2025-07-01T00:00:00Z")
    author = _sub(entry, ATOM, "author")
    _sub(author, ATOM, "name", "arXiv api core")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


class ArxivStubServer:
    """Serves ``papers`` with start/max_results paging; ``faults`` are keyed by ``start`` (None = any).

    ``total`` is the ``opensearch:totalResults`` every page reports (default: the truth,
    ``len(papers)``); set it to make the server lie too low or too high."""

    def __init__(self, papers: list[dict[str, Any]], total: int | None = None) -> None:
        self.papers = papers
        self.total = total
        self.faults: dict[int | None, list[Fault]] = {}
        self.requests: list[dict[str, str]] = []
        self.served_ids: set[str] = set()  # ids of entries in answers that were sent completely
        self.on_request: Callable[[dict[str, str]], None] | None = None
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # slow handlers must not hold up test teardown
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/api/query"

    def script(self, start: int | None, *faults: Fault) -> None:
        """Queue faults for the next requests at ``start`` (None: whichever request comes next)."""
        self.faults.setdefault(start, []).extend(faults)

    def __enter__(self) -> ArxivStubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_fault(self, start: int) -> Fault | None:
        with self._lock:
            for key in (start, None):
                queue = self.faults.get(key)
                if queue:
                    return queue.pop(0)
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                try:
                    stub._serve(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        params = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        with self._lock:
            self.requests.append(params)
        if self.on_request:
            self.on_request(params)
        start = int(params.get("start", 0))
        size = int(params.get("max_results", 10))
        fault = self._next_fault(start)
        body, status, headers = self._answer(fault, params, start, size)
        if fault and fault.kind == "disconnect":
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        if fault and fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault and fault.kind == "trickle":
            head = f"HTTP/1.1 {status} OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            raw = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
            for i in range(len(raw)):
                handler.wfile.write(raw[i:i + 1])
                handler.wfile.flush()
                time.sleep(fault.seconds)
            self._record_served(body)
            return
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        self._record_served(body)

    def _record_served(self, body: bytes) -> None:
        """Remember which papers this complete answer carried (a truncated feed carries none)."""
        try:
            feed = ET.fromstring(body)
        except ET.ParseError:
            return
        ids = {el.text.rsplit("/", 1)[-1].split("v")[0] for el in feed.iter(f"{{{ATOM}}}id")
               if el.text and "/abs/" in el.text}
        with self._lock:
            self.served_ids |= ids

    def _answer(self, fault: Fault | None, params: dict[str, str], start: int,
                size: int) -> tuple[bytes, int, dict[str, str]]:
        atom = {"Content-Type": "application/atom+xml; charset=UTF-8"}
        query = params.get("search_query", "")
        total = len(self.papers) if self.total is None else self.total
        normal = feed_xml(total, start, self.papers[start:start + size], query)
        if fault is None or fault.kind in ("slow", "disconnect", "trickle"):
            return normal, 200, atom
        if fault.kind == "zero":
            return feed_xml(0, start, [], query), 200, atom
        if fault.kind == "repeat":
            begin = max(0, start - fault.count)
            return feed_xml(total, start, self.papers[begin:begin + size], query), 200, atom
        if fault.kind == "status":
            return b"<html><body>Service Unavailable</body></html>", fault.status, {
                "Content-Type": "text/html", **fault.headers}
        if fault.kind == "empty":
            return feed_xml(total, start, [], query), 200, atom
        if fault.kind == "malformed":
            return normal[: len(normal) // 2], 200, atom  # truncated mid-document
        if fault.kind == "rate_text":
            return b"Rate exceeded.", 200, {"Content-Type": "text/plain"}
        if fault.kind == "api_error":
            return error_feed_xml(fault.message), 200, atom
        if fault.kind == "rejected":
            return error_feed_xml(fault.message), fault.status, atom
        raise ValueError(f"unknown fault {fault.kind}")
