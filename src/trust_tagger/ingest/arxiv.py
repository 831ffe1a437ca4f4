"""Client for the arXiv export API (``/api/query``, Atom 1.0).

The nightly job asks arXiv for the audio papers of a date window. Five things make that harder
than one GET, and this module exists to absorb them so callers only see records (and a
:class:`~trust_tagger.ingest.records.FeedStatus`) or ``ArxivError``:

* arXiv asks for at most one request every three seconds on one connection (Terms of Use for
  arXiv APIs; user manual §3.1.1.2), so requests are spaced with an injectable clock and sleep.
* The service is flaky: 429/503 (with ``Retry-After``), other 5xx, timeouts, a plain-text
  ``Rate exceeded.`` body and truncated XML. All of these are retried with tenacity.
* Errors the caller made (bad query syntax) come back as HTTP 4xx or as an Atom feed whose only
  entry has an id under ``http://arxiv.org/api/errors``; retrying cannot fix those, so they
  raise at once.
* ``opensearch:totalResults`` lies: too low (15 of 45 papers were lost past it), too high (the
  last pages never come: every run failed), a first page transiently holds 0 results, and pages
  come back empty mid-paging. So paging never stops at the total: it stops at an empty page that
  a re-read confirms (once where the total says the results end; ``max_retries`` times where it
  says more exist, or for 0 results on a window with weekdays), offsets count the new entries
  received (a page that repeats entries skipped 3 papers when repeats moved the offset), and the
  status says whether the window is known complete — only then may the watermark move.
* httpx timeouts are per socket read, so a server trickling a byte every 0.5 s held one request
  108 s against a 3 s timeout. ``timeout_seconds`` is a deadline for the whole request, enforced at
  every socket operation (:class:`_DeadlineBackend`). Waiting on the server (``Retry-After``,
  back-off) has a budget per fetch (``max_wait_seconds``); a server that asks for more fails the
  fetch at once with a clear error instead of sleeping for hours.

Records are plain dicts for :func:`trust_tagger.records.paper_from_dict`, which is the single
place where bad records are rejected and counted; entries with missing fields are therefore
passed through as they are, never dropped here.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import feedparser
import httpcore
import httpx
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from trust_tagger.errors import UserError
from trust_tagger.ids import parse_arxiv_id
from trust_tagger.ingest.records import FeedStatus

if TYPE_CHECKING:
    from trust_tagger.config import Settings

log = logging.getLogger(__name__)

DATE_FIELDS = ("submittedDate", "lastUpdatedDate")
MAX_PAGE_SIZE = 2000  # user manual §3.1.1.2: "slices of at most 2000"
MAX_RESULTS_PER_QUERY = 30000  # user manual §3.1.1.2: beyond this the API answers 400
USER_AGENT = "trust-tagger/0.1 (nightly arXiv audio-paper harvest; polite: 1 request / 3 s)"

_ERROR_ID_RE = re.compile(r"^https?://arxiv\.org/api/errors", re.IGNORECASE)
# arXiv archive/category terms (cs.SD, eess.AS, hep-ex, cond-mat.mes-hall); ACM (I.2.6) and
# MSC (68T05) classes share the <category> element and the scheme, so they are told apart by form.
_ARXIV_CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")
# bozo exceptions feedparser raises for a well-formed document it merely had to re-decode.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


class ArxivError(UserError, RuntimeError):
    """arXiv could not be read: a request error, an API error entry, or retries exhausted."""


class _Retryable(Exception):
    """A failure another attempt may not repeat; carries the server's wait hint when it sent one."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class _Page:
    total: int
    records: list[dict[str, Any]]


class _Deadline:
    """The wall-clock end of the request in flight (``time.monotonic``; None between requests)."""

    def __init__(self) -> None:
        self.at: float | None = None

    def timeout(self, timeout: float | None) -> float | None:
        """The per-operation timeout, shortened to what is left of the whole request."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the whole-request deadline passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.timeout(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.timeout(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._deadline.timeout(timeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """Every connect, read and write waits at most until the request's deadline, so no answer —
    trickled headers included — holds a request longer than ``timeout_seconds``."""

    def __init__(self, inner: httpcore.NetworkBackend, deadline: _Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._inner.connect_tcp(host, port, self._deadline.timeout(timeout), local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        stream = self._inner.connect_unix_socket(path, self._deadline.timeout(timeout), socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _deadline_transport(base_url: str, deadline: _Deadline) -> httpx.HTTPTransport:
    """httpx's own transport (the environment's proxy for ``base_url`` included) with the deadline
    backend underneath. httpx 0.28 has no public hook for the network backend (encode/httpx#3749
    adds one), so it is set on the transport's connection pool, which every httpx 0.2x keeps there."""
    scheme = httpx.URL(base_url).scheme
    host = httpx.URL(base_url).host
    proxy = None if urllib.request.proxy_bypass(host) else urllib.request.getproxies().get(scheme)
    transport = httpx.HTTPTransport(proxy=proxy)
    pool = getattr(transport, "_pool", None)
    if not hasattr(pool, "_network_backend"):
        raise RuntimeError(f"httpx {httpx.__version__} keeps no connection pool on its transport; "
                           "the arXiv client's whole-request deadline needs httpx 0.2x")
    pool._network_backend = _DeadlineBackend(pool._network_backend, deadline)
    return transport


class ArxivClient:
    """Pages through one search of the export API, politely and with retries."""

    def __init__(
        self,
        base_url: str,
        query: str,
        page_size: int = 200,
        delay_seconds: float = 3.0,
        timeout_seconds: float = 30.0,
        max_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        *,
        date_field: str = "submittedDate",
        backoff_seconds: float = 5.0,
        max_wait_seconds: float = 600.0,
        end_confirmations: int = 1,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE} (arXiv's slice limit), got {page_size}")
        if date_field not in DATE_FIELDS:
            raise ValueError(f"date_field must be one of {DATE_FIELDS}, got {date_field!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url
        self.query = query
        self.page_size = page_size
        self.delay_seconds = delay_seconds
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.date_field = date_field
        self.backoff_seconds = backoff_seconds
        self.max_wait_seconds = max_wait_seconds  # all retry waits of one fetch together
        self.end_confirmations = end_confirmations  # re-reads of the empty page that ends the results
        self._sleep = sleep
        self._clock = clock
        self._last_request_at: float | None = None
        self._waited = 0.0  # retry waits of the fetch in progress
        self._deadline = _Deadline()

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ArxivClient:
        """Build the client the nightly job uses; overrides (sleep, clock, ...) are for tests."""
        kwargs: dict[str, Any] = dict(
            base_url=settings.arxiv_base_url,
            query=settings.arxiv_query,
            page_size=settings.arxiv_page_size,
            delay_seconds=settings.arxiv_delay_seconds,
            timeout_seconds=settings.arxiv_timeout_seconds,
            max_retries=settings.arxiv_max_retries,
            backoff_seconds=settings.arxiv_backoff_seconds,
            max_wait_seconds=settings.arxiv_max_wait_seconds,
        )
        kwargs.update(overrides)
        try:
            return cls(**kwargs)
        except ValueError as exc:  # a setting arXiv would refuse (page size over 2000, ...): the user's to fix
            from trust_tagger.config import ConfigError

            raise ConfigError(f"arxiv settings: {exc}") from exc

    # -- public -------------------------------------------------------------------------------

    def search_query(self, since: dt.date, until: dt.date) -> str:
        """The configured query restricted to the window.

        The user query is parenthesised because the default one has a top-level ``OR``, which
        would otherwise bind looser than the ``AND`` of the window. The window is inclusive of
        ``until``: it ends at 00:00 GMT of the following day, so nothing submitted in the last
        minute of ``until`` is lost whether arXiv treats the upper bound as open or closed.
        """
        if until < since:
            raise ValueError(f"empty window: until {until} is before since {since}")
        end = until + dt.timedelta(days=1)
        window = f"{self.date_field}:[{since:%Y%m%d}0000 TO {end:%Y%m%d}0000]"
        return f"({self.query}) AND {window}"

    def fetch(self, since: dt.date, until: dt.date, status: FeedStatus | None = None) -> Iterator[dict[str, Any]]:
        """Yield one raw record per paper in the window, in arXiv's order (date ascending).

        Each record has ``arxiv_id, version, title, abstract, authors, categories, date``;
        ``date`` is the UTC day of the entry's ``<updated>`` (the day the returned version was
        submitted; equals ``<published>`` for v1), falling back to ``<published>``. Fields the
        entry lacks are None/empty so that ``paper_from_dict`` rejects and counts the record.
        Sorting on the same field as the window keeps paging stable: ``submittedDate`` never
        changes, so a paper revised while we page cannot move across a page boundary.

        ``totalResults`` is only a hint. Paging goes on past it and ends at an empty page: one that
        comes where the total says results end is re-read ``end_confirmations`` times; one the total
        says should hold results — or the first page of a window with a weekday, which arXiv answers
        with 0 transiently — gets the full ``max_retries``. ``status.complete`` is set only when the
        end was confirmed and nothing contradicts it; otherwise ``status.warnings`` say why, and the
        papers received are yielded all the same. Requests that keep failing raise ArxivError.
        """
        status = status if status is not None else FeedStatus()
        search = self.search_query(since, until)
        seen: set[tuple[str, int | None]] = set()
        start = received = empty_reads = 0
        self._waited = 0.0
        with self._http() as http:
            while True:
                page = self._get_page(http, search, start)
                if page.records:
                    empty_reads = 0
                    fresh = 0
                    for record in page.records:
                        if self._is_repeat(record, seen):
                            continue
                        fresh += 1
                        yield record
                    received += fresh
                    # The offset moves by the new entries only: a page that re-serves entries in place
                    # of others must not skip the others. A page of nothing but repeats moves one on.
                    start += max(fresh, 1)
                    continue
                suspicious = start < page.total or (start == 0 and _has_weekday(since, until))
                if empty_reads < (self.max_retries if suspicious else self.end_confirmations):
                    empty_reads += 1
                    self._retry_wait(self._backoff(empty_reads), f"empty page at start={start} "
                                     f"(totalResults={page.total}); reading it again", loud=suspicious)
                    continue
                self._judge_end(status, since, until, start, received, page.total, empty_reads + 1)
                return

    def _judge_end(self, status: FeedStatus, since: dt.date, until: dt.date, start: int, received: int,
                   total: int, reads: int) -> None:
        """The results ended at an empty page read ``reads`` times: is the window complete?"""
        warning = None
        if start < total:
            warning = (f"arXiv said totalResults={total} but the results ended at start={start} "
                       f"(empty page at start={start} over {reads} reads); {received} papers received")
        elif start == 0 and _has_weekday(since, until):
            warning = (f"arXiv returned 0 results for {since}..{until}, a window with weekdays, "
                       f"over {reads} reads")
        elif received > total:
            # Too low a total: everything past it was fetched anyway; worth knowing, not a gap.
            status.warnings.append(f"arXiv said totalResults={total} but served {received} papers")
        if warning is not None:
            log.warning("%s; the window is not known complete", warning)
            status.warnings.append(warning + "; the window is not known complete, the next run re-reads it")
        status.complete = warning is None

    # -- paging and retries ------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        return httpx.Client(
            timeout=httpx.Timeout(self.timeout_seconds),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,  # export.arxiv.org redirects http -> https
            transport=_deadline_transport(self.base_url, self._deadline),
        )

    def _params(self, search: str, start: int) -> dict[str, str | int]:
        return {
            "search_query": search,
            "start": start,
            "max_results": self.page_size,
            "sortBy": self.date_field,
            "sortOrder": "ascending",
        }

    def _get_page(self, http: httpx.Client, search: str, start: int) -> _Page:
        """One page, retried until it is trustworthy or the retries run out."""
        request = http.build_request("GET", self.base_url, params=self._params(search, start))
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            before_sleep=self._before_sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._try_page(http, request, start)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            reason = last.reason if isinstance(last, _Retryable) else repr(last)
            raise ArxivError(
                f"arXiv request failed after {self.max_retries + 1} attempts: {self._where(search, start)} "
                f"(last problem: {reason}); check the network and arxiv_base_url, or rerun later"
            ) from last
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _where(self, search: str, start: int) -> str:
        """The request in a form that fits one line: the URL, the window end of the query, the offset."""
        tail = search if len(search) <= 60 else "..." + search[-50:]
        return f"{self.base_url}?search_query={tail}&start={start}"

    def _try_page(self, http: httpx.Client, request: httpx.Request, start: int) -> _Page:
        body = self._send(http, request)
        parsed = feedparser.parse(body)
        _raise_on_api_error(parsed, request.url)
        total = _total_results(parsed)
        if _unreadable(parsed) or total is None:
            problem = parsed.get("bozo_exception") or "no opensearch:totalResults"
            raise _Retryable(f"malformed Atom feed ({problem}); body starts {body[:80]!r}")
        if total > MAX_RESULTS_PER_QUERY:
            raise ArxivError(
                f"{request.url} matches {total} papers; the API serves at most "
                f"{MAX_RESULTS_PER_QUERY} per query, so split the date window"
            )
        return _Page(total=total, records=[entry_to_record(e) for e in parsed.entries])

    def _send(self, http: httpx.Client, request: httpx.Request) -> bytes:
        """Send one request after the politeness pause; classify HTTP failures."""
        self._pause_for_politeness()
        self._deadline.at = time.monotonic() + self.timeout_seconds
        try:
            response = http.send(request)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"no complete answer within {self.timeout_seconds}s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__}: {exc})") from exc
        finally:
            self._deadline.at = None
        status = response.status_code
        if status in (429, 503):
            hint = parse_retry_after(response.headers.get("Retry-After"))
            raise _Retryable(f"HTTP {status}", retry_after=hint)
        if status >= 500:
            raise _Retryable(f"HTTP {status}")
        if status >= 400:
            detail = _error_summary(feedparser.parse(response.content)) or response.text[:200]
            raise ArxivError(f"arXiv rejected {request.url}: HTTP {status}: {detail}")
        return response.content

    def _pause_for_politeness(self) -> None:
        """Keep request starts at least ``delay_seconds`` apart, retries included."""
        if self._last_request_at is not None:
            remaining = self.delay_seconds - (self._clock() - self._last_request_at)
            if remaining > 0:
                self._sleep(remaining)
        self._last_request_at = self._clock()

    def _wait(self, state: RetryCallState) -> float:
        """Honour the server's Retry-After; otherwise back off exponentially."""
        exc = state.outcome.exception() if state.outcome else None
        hint = getattr(exc, "retry_after", None)
        return hint if hint is not None else self._backoff(state.attempt_number)

    def _backoff(self, attempt: int) -> float:
        return self.backoff_seconds * 2 ** (attempt - 1)

    def _charge(self, wait: float, reason: str) -> None:
        """Count a retry wait against the fetch's budget; refuse one that would exceed it.

        A ``Retry-After: 86400`` used to sleep 600 s per attempt for six attempts: failing now, with
        nothing committed for the window, lets the next night catch up instead."""
        if self._waited + wait > self.max_wait_seconds:
            raise ArxivError(
                f"arXiv asked to wait {wait:g}s ({reason}) after {self._waited:g}s of waiting in this fetch, "
                f"past the {self.max_wait_seconds:g}s budget (arxiv_max_wait_seconds); giving up on "
                f"{self.base_url} for now, rerun later")
        self._waited += wait

    def _retry_wait(self, wait: float, reason: str, loud: bool = True) -> None:
        self._charge(wait, reason)
        log.log(logging.WARNING if loud else logging.INFO, "arXiv: %s in %.1fs", reason, wait)
        self._sleep(wait)

    def _before_sleep(self, state: RetryCallState) -> None:
        """Tenacity calls this only when it is about to sleep: charge the wait, then say so."""
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        hint = getattr(exc, "retry_after", None)
        self._charge(wait, f"Retry-After: {hint:g}s" if hint is not None else f"back-off after {exc}")
        log.warning("arXiv attempt %d failed (%s); retrying in %.1fs", state.attempt_number, exc, wait)

    @staticmethod
    def _is_repeat(record: dict[str, Any], seen: set[tuple[str, int | None]]) -> bool:
        """Skip an exact repeat (same id and version) that a shifted page boundary can cause."""
        if not record.get("arxiv_id"):
            return False  # nothing to compare; paper_from_dict will reject it anyway
        key = (record["arxiv_id"], record.get("version"))
        if key in seen:
            log.debug("skipping repeated entry %s", key)
            return True
        seen.add(key)
        return False


# -- parsing helpers (feedparser does the XML; these only read its result) -----------------------


def _has_weekday(since: dt.date, until: dt.date) -> bool:
    """arXiv takes submissions every day but most come Monday to Friday; an audio query with none
    on a weekday is far more likely a transient empty answer than an empty window."""
    return any((since + dt.timedelta(days=d)).weekday() < 5 for d in range(min((until - since).days + 1, 7)))


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def entry_to_record(entry: Any) -> dict[str, Any]:
    """Map one feedparser entry to the raw record shape; missing fields stay missing."""
    raw_id = entry.get("id") or ""
    parsed = parse_arxiv_id(raw_id)
    return {
        "arxiv_id": parsed.id if parsed else (raw_id or None),
        "version": parsed.version if parsed else None,
        "title": entry.get("title"),
        "abstract": entry.get("summary"),
        "authors": [a["name"] for a in entry.get("authors") or [] if a.get("name")],
        "categories": _categories(entry),
        "date": _entry_date(entry),
    }


def _categories(entry: Any) -> list[str]:
    """arXiv categories, primary first, without ACM/MSC classes or repeats."""
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    terms = [primary] + [t.get("term") for t in entry.get("tags") or []]
    result: list[str] = []
    for term in terms:
        if term and _ARXIV_CATEGORY_RE.match(term) and term not in result:
            result.append(term)
    return result


def _entry_date(entry: Any) -> str | None:
    stamp = entry.get("updated_parsed") or entry.get("published_parsed")
    if stamp is None:
        return None
    return f"{stamp.tm_year:04d}-{stamp.tm_mon:02d}-{stamp.tm_mday:02d}"


def _total_results(parsed: Any) -> int | None:
    try:
        return int(str(parsed.feed.get("opensearch_totalresults", "")).strip())
    except ValueError:
        return None


def _unreadable(parsed: Any) -> bool:
    """True for a body that is not a complete feed: a truncated page would silently lose entries."""
    if not parsed.get("bozo"):
        return False
    return not isinstance(parsed.get("bozo_exception"), _BENIGN_BOZO)


def _error_summary(parsed: Any) -> str | None:
    for entry in parsed.get("entries") or []:
        if _ERROR_ID_RE.match(entry.get("id") or ""):
            return (entry.get("summary") or entry.get("title") or entry["id"]).strip()
    return None


def _raise_on_api_error(parsed: Any, url: httpx.URL) -> None:
    """arXiv reports bad requests as a 200 feed with one error entry; retrying cannot help."""
    message = _error_summary(parsed)
    if message is not None:
        raise ArxivError(f"arXiv API error for {url}: {message}")
