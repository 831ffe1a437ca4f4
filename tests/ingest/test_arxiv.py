"""The arXiv client against a local fault-injecting Atom server: nothing here touches arxiv.org."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Iterator
from typing import Any

import pytest

from trust_tagger.config import DEFAULT_ARXIV_QUERY, Settings
from trust_tagger.ingest.arxiv import ArxivClient, ArxivError, entry_to_record, parse_retry_after
from trust_tagger.ingest.records import FeedStatus, MalformedRecord, paper_from_dict

try:
    from tests.arxiv_server import ArxivStubServer, Fault, paper
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from arxiv_server import ArxivStubServer, Fault, paper

SINCE, UNTIL = dt.date(2025, 6, 1), dt.date(2025, 6, 30)
# The results end at an empty page that one re-read confirms (totalResults is only a hint): with the
# 7-paper server and 3-paper pages, paging ends with two requests at start=7.
END = ["7", "7"]


class FakeTime:
    """A clock that only moves when the client sleeps, so tests never really wait."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)

    @property
    def waits(self) -> list[float]:
        return [s for s in self.sleeps if s > 0]


@pytest.fixture
def papers() -> list[dict[str, Any]]:
    return [paper(n) for n in range(7)]


@pytest.fixture
def server(papers: list[dict[str, Any]]) -> Iterator[ArxivStubServer]:
    with ArxivStubServer(papers) as srv:
        yield srv


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_client(server: ArxivStubServer, fake: FakeTime, **kwargs: Any) -> ArxivClient:
    options: dict[str, Any] = dict(
        page_size=3, delay_seconds=3.0, timeout_seconds=5.0, max_retries=3,
        sleep=fake.sleep, clock=fake.clock,
    )
    options.update(kwargs)
    return ArxivClient(server.url, DEFAULT_ARXIV_QUERY, **options)


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["arxiv_id"] for r in records]


# -- normal operation -----------------------------------------------------------------------------


def test_pages_through_all_results_exactly_once_in_order(server, fake, papers):
    records = list(make_client(server, fake).fetch(SINCE, UNTIL))

    assert ids(records) == [p["id"] for p in papers]
    assert [r["start"] for r in server.requests] == ["0", "3", "6", *END]
    assert {r["max_results"] for r in server.requests} == {"3"}


def test_query_carries_categories_window_and_sort(server, fake):
    list(make_client(server, fake).fetch(dt.date(2025, 6, 1), dt.date(2025, 6, 2)))

    sent = server.requests[0]
    query = sent["search_query"]
    assert query.startswith(f"({DEFAULT_ARXIV_QUERY}) AND ")
    for category in ("cat:cs.SD", "cat:eess.AS", "cat:cs.CL", "cat:cs.CR"):
        assert category in query
    # inclusive window: through the end of 2 June, GMT
    assert query.endswith("submittedDate:[202506010000 TO 202506030000]")
    assert sent["sortBy"] == "submittedDate"
    assert sent["sortOrder"] == "ascending"


def test_date_field_can_be_last_updated(server, fake):
    list(make_client(server, fake, date_field="lastUpdatedDate").fetch(SINCE, SINCE))

    assert "lastUpdatedDate:[202506010000 TO 202506020000]" in server.requests[0]["search_query"]
    assert server.requests[0]["sortBy"] == "lastUpdatedDate"


def test_records_carry_the_entry_fields(server, fake, papers):
    record = next(iter(make_client(server, fake).fetch(SINCE, UNTIL)))
    source = papers[0]

    assert record["arxiv_id"] == source["id"]
    assert record["version"] == source["version"]
    assert "$\\mathcal{L}_0$" in record["title"]
    assert "& speaker privacy" in record["abstract"] and "<noise>" in record["abstract"]
    assert record["authors"] == source["authors"]
    assert record["categories"] == ["cs.SD", "eess.AS", "cs.CR"]  # primary first, ACM class dropped
    assert record["date"] == source["updated"][:10]

    built = paper_from_dict(record)
    assert built.title.startswith("Robust $\\mathcal{L}_0$ Speech Watermarking against")  # line break folded
    assert built.key == f"arxiv:{source['id']}"


def test_updated_version_is_dated_by_updated_not_published(fake):
    p = paper(1, version=3, published="2024-01-15T09:00:00Z", updated="2025-06-10T23:30:00-04:00")
    with ArxivStubServer([p]) as srv:
        record = next(iter(make_client(srv, fake).fetch(SINCE, UNTIL)))

    assert record["version"] == 3
    assert record["date"] == "2025-06-11"  # UTC day of <updated>


def test_empty_result_is_not_an_error(fake):
    """0 results for a window with weekdays is suspicious (arXiv answers 0 transiently): it is read
    again max_retries times, then the fetch ends without an error but not known complete."""
    status = FeedStatus()
    with ArxivStubServer([]) as srv:
        assert list(make_client(srv, fake).fetch(SINCE, UNTIL, status=status)) == []
        assert len(srv.requests) == 1 + 3
    assert not status.complete and "0 results" in status.warnings[0]


def test_empty_weekend_window_is_complete_after_one_confirmation(fake):
    status = FeedStatus()
    with ArxivStubServer([]) as srv:
        saturday, sunday = dt.date(2025, 6, 7), dt.date(2025, 6, 8)
        assert list(make_client(srv, fake).fetch(saturday, sunday, status=status)) == []
        assert len(srv.requests) == 2
    assert status.complete and status.warnings == []


def test_record_missing_abstract_is_yielded_for_downstream_rejection(fake):
    papers = [paper(0), paper(1, abstract=None), paper(2)]
    with ArxivStubServer(papers) as srv:
        records = list(make_client(srv, fake).fetch(SINCE, UNTIL))

    assert ids(records) == [p["id"] for p in papers]
    assert records[1]["abstract"] is None
    with pytest.raises(MalformedRecord, match="abstract"):
        paper_from_dict(records[1])
    paper_from_dict(records[0])
    paper_from_dict(records[2])


def test_entry_without_id_is_still_yielded(fake):
    with ArxivStubServer([paper(0, id=None), paper(1)]) as srv:
        records = list(make_client(srv, fake).fetch(SINCE, UNTIL))

    assert len(records) == 2 and records[0]["arxiv_id"] is None
    with pytest.raises(MalformedRecord, match="arXiv id"):
        paper_from_dict(records[0])


# -- politeness -----------------------------------------------------------------------------------


def test_requests_are_spaced_by_the_delay(server, fake):
    seen_at: list[float] = []
    server.on_request = lambda params: seen_at.append(fake.now)

    list(make_client(server, fake).fetch(SINCE, UNTIL))

    assert len(seen_at) == 5
    assert all(b - a >= 3.0 for a, b in zip(seen_at, seen_at[1:]))
    assert fake.waits == [3.0, 3.0, 3.0, 5.0]  # the end's re-read backs off 5 s, more than the delay


def test_time_spent_by_the_caller_counts_towards_the_delay(server, fake):
    for record in make_client(server, fake).fetch(SINCE, UNTIL):
        if record["arxiv_id"] == "2506.22800":
            fake.now += 2.0  # the consumer works for 2 s on page one

    assert fake.waits == [1.0, 3.0, 3.0, 5.0]


def test_politeness_spans_successive_fetches(server, fake):
    client = make_client(server, fake, page_size=10)
    list(client.fetch(SINCE, UNTIL))
    list(client.fetch(SINCE, UNTIL))

    # fetch 1: page 0, end at 7 after the delay, its re-read after the back-off; fetch 2 waits the delay too
    assert fake.waits == [3.0, 5.0, 3.0, 3.0, 5.0]


# -- retries --------------------------------------------------------------------------------------


def test_503_retry_after_is_honoured(server, fake):
    server.script(3, Fault.http(503, retry_after="1"))

    records = list(make_client(server, fake, delay_seconds=0.0).fetch(SINCE, UNTIL))

    assert len(records) == 7
    assert fake.waits == [1.0, 5.0]  # Retry-After, then the end's re-read
    assert [r["start"] for r in server.requests] == ["0", "3", "3", "6", *END]


def test_429_retry_after_is_honoured_and_delay_still_applies(server, fake):
    server.script(0, Fault.http(429, retry_after="7"))
    seen_at: list[float] = []
    server.on_request = lambda params: seen_at.append(fake.now)

    assert len(list(make_client(server, fake).fetch(SINCE, UNTIL))) == 7
    assert 7.0 in fake.sleeps
    assert seen_at[1] - seen_at[0] == pytest.approx(7.0)
    # a Retry-After shorter than the politeness delay does not shorten the delay
    assert all(b - a >= 3.0 for a, b in zip(seen_at, seen_at[1:]))


def test_retry_after_http_date_form(server, fake):
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    server.script(0, Fault.http(503, retry_after=when))

    list(make_client(server, fake, delay_seconds=0.0).fetch(SINCE, UNTIL))

    assert len(fake.waits) == 2 and 115 <= fake.waits[0] <= 121


def test_other_5xx_back_off_exponentially(server, fake):
    server.script(0, Fault.http(500), Fault.http(502), Fault.http(504))

    records = list(make_client(server, fake, delay_seconds=0.0, backoff_seconds=2.0).fetch(SINCE, UNTIL))

    assert len(records) == 7
    assert fake.waits == [2.0, 4.0, 8.0, 2.0]  # ... and the end's re-read backs off from the start


def test_503_exhausted_raises_with_url_and_reason(server, fake):
    server.script(0, *[Fault.http(503, retry_after="1")] * 4)

    with pytest.raises(ArxivError) as info:
        list(make_client(server, fake, max_retries=3).fetch(SINCE, UNTIL))

    message = str(info.value)
    assert "4 attempts" in message and "HTTP 503" in message
    assert server.url in message and "search_query=" in message
    assert len(server.requests) == 4


def test_empty_page_mid_paging_is_retried_not_taken_as_the_end(server, fake, papers):
    server.script(3, Fault.empty_page(), Fault.empty_page())

    records = list(make_client(server, fake).fetch(SINCE, UNTIL))

    assert ids(records) == [p["id"] for p in papers]
    assert [r["start"] for r in server.requests] == ["0", "3", "3", "3", "6", *END]


def test_persistent_empty_page_ends_the_fetch_not_known_complete(server, fake, papers):
    """An empty page where totalResults promises more, after every retry, is the end of what arXiv
    serves (a total too high must not fail every run forever): the papers received are kept, the
    window is not known complete (the watermark stays) and the report says why."""
    server.script(3, *[Fault.empty_page()] * 3)
    status = FeedStatus()

    records = list(make_client(server, fake, max_retries=2).fetch(SINCE, UNTIL, status=status))

    assert ids(records) == [p["id"] for p in papers[:3]]
    assert not status.complete and "empty page at start=3" in status.warnings[0]


def test_malformed_xml_is_retried_then_succeeds(server, fake, papers):
    server.script(3, Fault.malformed())

    records = list(make_client(server, fake).fetch(SINCE, UNTIL))

    assert ids(records) == [p["id"] for p in papers]


def test_persistent_malformed_xml_raises(server, fake):
    server.script(0, *[Fault.malformed()] * 3)

    with pytest.raises(ArxivError, match="malformed Atom feed"):
        list(make_client(server, fake, max_retries=2).fetch(SINCE, UNTIL))
    assert len(server.requests) == 3


def test_plain_text_rate_limit_body_is_retried(server, fake):
    server.script(0, Fault.rate_text())

    assert len(list(make_client(server, fake).fetch(SINCE, UNTIL))) == 7


def test_timeout_is_retried(server, fake, papers):
    server.script(3, Fault.slow(1.0))

    started = time.monotonic()
    records = list(make_client(server, fake, timeout_seconds=0.2).fetch(SINCE, UNTIL))

    assert ids(records) == [p["id"] for p in papers]
    assert time.monotonic() - started < 1.0  # gave up on the slow answer, did not wait it out
    assert [r["start"] for r in server.requests] == ["0", "3", "3", "6", *END]


def test_dropped_connection_is_retried(server, fake):
    server.script(0, Fault.disconnect())

    assert len(list(make_client(server, fake).fetch(SINCE, UNTIL))) == 7


def test_api_error_entry_raises_without_retrying(server, fake):
    server.script(0, Fault.api_error("incorrect id format for 1234.12345"))

    with pytest.raises(ArxivError, match="incorrect id format for 1234.12345"):
        list(make_client(server, fake).fetch(SINCE, UNTIL))
    assert len(server.requests) == 1


def test_client_error_raises_immediately(server, fake):
    server.script(0, Fault.rejected("max_results must be <= 30000"))

    with pytest.raises(ArxivError, match=r"HTTP 400: max_results must be <= 30000"):
        list(make_client(server, fake).fetch(SINCE, UNTIL))
    assert len(server.requests) == 1


def test_plain_404_raises_immediately(server, fake):
    server.script(0, Fault.http(404))

    with pytest.raises(ArxivError, match="HTTP 404"):
        list(make_client(server, fake).fetch(SINCE, UNTIL))
    assert len(server.requests) == 1


# -- construction and helpers ---------------------------------------------------------------------


def test_from_settings_uses_the_arxiv_settings(fake):
    settings = Settings(arxiv_base_url="http://127.0.0.1:9/api/query", arxiv_query="cat:cs.SD",
                        arxiv_page_size=50, arxiv_delay_seconds=4.0, arxiv_timeout_seconds=12.0,
                        arxiv_max_retries=2)

    client = ArxivClient.from_settings(settings, sleep=fake.sleep, clock=fake.clock)

    assert (client.base_url, client.query, client.page_size) == ("http://127.0.0.1:9/api/query", "cat:cs.SD", 50)
    assert (client.delay_seconds, client.timeout_seconds, client.max_retries) == (4.0, 12.0, 2)


@pytest.mark.parametrize("bad", [{"page_size": 0}, {"page_size": 2001}, {"date_field": "published"}])
def test_rejects_settings_arxiv_would_refuse(bad):
    with pytest.raises(ValueError):
        ArxivClient("http://127.0.0.1:9/api/query", "cat:cs.SD", **bad)


def test_window_must_not_be_reversed():
    client = ArxivClient("http://127.0.0.1:9/api/query", "cat:cs.SD")
    with pytest.raises(ValueError):
        client.search_query(dt.date(2025, 6, 2), dt.date(2025, 6, 1))


def test_parse_retry_after_forms():
    now = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(" 30 ") == 30.0
    assert parse_retry_after("Sun, 01 Jun 2025 12:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("Sun, 01 Jun 2025 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_entry_to_record_tolerates_an_empty_entry():
    record = entry_to_record({})
    assert record == {"arxiv_id": None, "version": None, "title": None, "abstract": None,
                      "authors": [], "categories": [], "date": None}


def test_exact_repeat_across_pages_is_yielded_once(fake):
    """A paper re-served on the next page (boundary shift) must not be yielded twice."""
    served = [paper(0), paper(1), paper(2), paper(2), paper(3)]
    with ArxivStubServer(served) as srv:
        records = list(make_client(srv, fake).fetch(SINCE, UNTIL))

    assert ids(records) == ["2506.22800", "2506.22801", "2506.22802", "2506.22803"]


# -- a lying totalResults (issue 10) --------------------------------------------------------------


def fetch_all(srv: ArxivStubServer, fake: FakeTime, **kwargs: Any) -> tuple[list[dict[str, Any]], FeedStatus]:
    status = FeedStatus()
    records = list(make_client(srv, fake, **kwargs).fetch(SINCE, UNTIL, status=status))
    return records, status


def test_total_too_low_loses_nothing(fake):
    """totalResults 30 for 45 papers: paging goes on past the total until an empty page is confirmed."""
    served = [paper(n) for n in range(45)]
    with ArxivStubServer(served, total=30) as srv:
        records, status = fetch_all(srv, fake, page_size=10)

    assert ids(records) == [p["id"] for p in served]
    assert status.complete and "served 45" in status.warnings[0]


def test_first_page_with_zero_results_is_read_again(fake, papers):
    """arXiv's transient "0 results" for a weekday window must not lose the window."""
    with ArxivStubServer(papers) as srv:
        srv.script(0, Fault.zero_results())
        records, status = fetch_all(srv, fake)

    assert ids(records) == [p["id"] for p in papers]
    assert status.complete and status.warnings == []


def test_zero_results_that_persist_are_not_a_complete_window(fake, papers):
    with ArxivStubServer(papers) as srv:
        srv.script(0, *[Fault.zero_results()] * 4)
        records, status = fetch_all(srv, fake, max_retries=3)

    assert records == [] and len(srv.requests) == 4
    assert not status.complete and "0 results" in status.warnings[0]


def test_total_too_high_ends_with_what_exists(fake):
    """totalResults 45 for 30 papers: the run ends with the 30 (not failing every night forever), and
    the window is not known complete."""
    served = [paper(n) for n in range(30)]
    with ArxivStubServer(served, total=45) as srv:
        records, status = fetch_all(srv, fake, page_size=10, max_retries=2)

    assert ids(records) == [p["id"] for p in served]
    assert not status.complete and "totalResults=45" in status.warnings[0]


def test_page_repeating_entries_skips_no_paper(fake, papers):
    """The page at start=3 re-serves two entries of page one in place of two of its own: counting
    those repeats in the offset would jump past papers 4 and 5."""
    with ArxivStubServer(papers) as srv:
        srv.script(3, Fault.repeat(2))
        records, status = fetch_all(srv, fake)

    assert ids(records) == [p["id"] for p in papers]  # each once, none missing
    assert status.complete


def test_a_page_of_nothing_but_repeats_still_ends(fake):
    served = [paper(0), paper(1), paper(1), paper(1), paper(2)]
    with ArxivStubServer(served) as srv:
        records, status = fetch_all(srv, fake, page_size=2)

    assert ids(records) == ["2506.22800", "2506.22801", "2506.22802"]
    assert status.complete and len(srv.requests) < 10


# -- deadlines and the wait budget (issue 11) -----------------------------------------------------


def test_a_trickling_answer_is_cut_at_the_whole_request_deadline(fake, papers):
    """One byte every 50 ms never trips a per-read timeout (0.5 s), and the whole answer would take
    over two minutes; the deadline ends the request after 0.5 s and the retry gets the page."""
    import threading

    with ArxivStubServer(papers) as srv:
        srv.script(0, Fault.trickle(0.05))
        out: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: out.update(
            records=fetch_all(srv, fake, timeout_seconds=0.5, page_size=10)[0]), daemon=True)
        worker.start()
        worker.join(timeout=15)  # only on a broken client: the trickle takes 150 s

        assert not worker.is_alive(), "the request was held past its deadline"
    assert ids(out["records"]) == [p["id"] for p in papers]


def test_a_huge_retry_after_fails_at_once_within_the_wait_budget(server, fake):
    """Retry-After: 86400 used to sleep 600 s per attempt for six attempts."""
    server.script(0, Fault.http(503, retry_after="86400"))

    with pytest.raises(ArxivError, match="arxiv_max_wait_seconds") as info:
        list(make_client(server, fake, max_wait_seconds=600.0).fetch(SINCE, UNTIL))

    assert "86400" in str(info.value)
    assert fake.waits == [] and len(server.requests) == 1


def test_retry_waits_add_up_against_one_budget(server, fake):
    server.script(0, *[Fault.http(500)] * 3)

    with pytest.raises(ArxivError, match="budget"):
        list(make_client(server, fake, delay_seconds=0.0, backoff_seconds=5.0, max_wait_seconds=20.0).fetch(SINCE, UNTIL))

    assert fake.waits == [5.0, 10.0]  # the third wait (20 s) would pass 20 s in all
