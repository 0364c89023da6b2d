"""``GET /metrics`` of the wallet (issue 7): organizer credentials, the text exposition format, the
organizer's own figures from the database, and request timings labelled by route template.

Runs on SQLite and PostgreSQL (the ``wallet`` fixture: a sandbox wallet with a test clock, over HTTP).
"""

from __future__ import annotations

import pytest

from tests.support.metrics import Samples, parse, value
from tests.support.wallet import Wallet, run, ticket_payload
from tixtrace.kernel.metrics import _MarkerCounter
from tixtrace.wallet.metrics import RECORD_MARKER
from tixtrace.wallet.services.organizers import create_organizer

ANA, BOB, CARA = "ana@example.com", "bob@example.com", "cara@example.com"
def scrape(wallet: Wallet, auth: tuple[str, str] | None = None) -> Samples:
    response = wallet.client.get("/metrics", auth=auth or wallet.auth)
    assert response.status_code == 200, response.text
    return parse(response.text)


def tickets_by_status(samples: Samples) -> dict[str, float]:
    return {dict(labels)["status"]: v for (name, labels), v in samples.items()
            if name == "tixtrace_wallet_tickets" and v}


def _story(wallet: Wallet) -> None:
    """Three tickets for Ana; T2 given to Bob (accepted), T1 offered to Cara (pending), T3 kept."""
    wallet.inject(*(ticket_payload(t, ANA) for t in ("T1", "T2", "T3")))
    assert wallet.as_spectator(ANA, "GET", "/spectator/tickets").status_code == 200  # DOWNLOADED
    given = wallet.transfer(ANA, "T2", BOB)
    assert given.status_code == 201, given.text
    wallet.profile(BOB)
    assert wallet.act(BOB, given.json()["transferId"], "accept").status_code == 200
    assert wallet.transfer(ANA, "T1", CARA).status_code == 201


def test_metrics_refuse_missing_or_wrong_credentials(wallet: Wallet) -> None:
    """No credentials, a wrong API key, or a spectator's token: 401 with the error envelope, no figures."""
    assert wallet.client.get("/metrics").status_code == 401
    wrong = wallet.client.get("/metrics", auth=(wallet.auth[0], "not-the-key"))
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "BAD_CREDENTIALS"
    spectator = wallet.client.get("/metrics", headers={"Authorization": f"Bearer {wallet.token(ANA)}"})
    assert spectator.status_code == 401 and "tixtrace_" not in spectator.text


def test_metrics_speak_the_text_format_or_openmetrics_when_asked(wallet: Wallet) -> None:
    """The default answer is the Prometheus text format with its versioned content type; a scraper
    that asks for OpenMetrics gets it (and its ``# EOF`` terminator)."""
    text = wallet.client.get("/metrics", auth=wallet.auth)
    assert text.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE tixtrace_wallet_tickets gauge" in text.text
    open_metrics = wallet.client.get("/metrics", auth=wallet.auth,
                                     headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert open_metrics.text.rstrip().endswith("# EOF")


def test_tickets_and_pending_transfers_are_the_organizers_own(wallet: Wallet) -> None:
    """Tickets by status and pending transfers match the story; a transfer past its expiry stops counting
    as pending at once (expiry is a function of now, W6); another organizer sees only its own figures."""
    _story(wallet)
    samples = scrape(wallet)
    assert tickets_by_status(samples) == {"PENDING_TRANSFER": 1, "TRANSFERRED": 1, "DOWNLOADED": 1}
    assert value(samples, "tixtrace_wallet_tickets", status="DELETED") == 0  # every status is present
    assert value(samples, "tixtrace_wallet_transfers_pending") == 1

    wallet.advance(3601)
    assert value(scrape(wallet), "tixtrace_wallet_transfers_pending") == 0

    engine = wallet.client.app.state.engine  # type: ignore[attr-defined]
    other, key = run(engine, create_organizer, wallet.clock, "other@wc26.example")
    response = wallet.client.post("/organizer/tickets", json={"tickets": [ticket_payload("X1", CARA)]},
                                  auth=(other.email, key))
    assert response.status_code == 200, response.text
    theirs = scrape(wallet, (other.email, key))
    assert tickets_by_status(theirs) == {"INJECTED": 1}
    assert value(theirs, "tixtrace_wallet_transfers_pending") == 0
    assert value(theirs, "tixtrace_wallet_feed_records_served_total") == 0  # not the first organizer's feed


def test_feed_figures_count_each_successful_call_and_its_records(wallet: Wallet) -> None:
    """Records served equals the records the diff pages held (read two at a time), the feed histogram
    counts one observation per successful call, and a refused call (bad batchSize) counts in the API
    histogram only. The figures belong to the organizer that read the feed."""
    _story(wallet)
    records, key, calls = 0, None, 0
    while True:
        page = wallet.diff(key, batch_size=2)
        calls += 1
        records += len(page["records"])
        key = page["paginationKey"]
        if not page["hasMore"]:
            break
    assert records >= 8 and calls >= 4
    bad = wallet.client.get("/organizer/tickets/diff", params={"batchSize": 0}, auth=wallet.auth)
    assert bad.status_code == 422

    samples = scrape(wallet)
    assert value(samples, "tixtrace_wallet_feed_records_served_total") == records
    assert value(samples, "tixtrace_wallet_feed_request_duration_seconds_count") == calls
    route = {"route": "/organizer/tickets/diff", "method": "GET"}
    assert value(samples, "tixtrace_wallet_http_request_duration_seconds_count", status="200", **route) == calls
    assert value(samples, "tixtrace_wallet_http_request_duration_seconds_count", status="422", **route) == 1


def test_request_histogram_labels_by_route_template_never_the_raw_path(wallet: Wallet) -> None:
    """Two ticket details are one series of the template ``/organizer/tickets/{ticket_id}``; a path no
    route matches is nobody's traffic (no organizer opened it); no label ever holds a ticket id."""
    wallet.inject(ticket_payload("T1", ANA), ticket_payload("T2", ANA))
    wallet.detail("T1")
    wallet.detail("T2")
    assert wallet.client.get("/no/such/path/T1", auth=wallet.auth).status_code == 404

    samples = scrape(wallet)
    count = "tixtrace_wallet_http_request_duration_seconds_count"
    assert value(samples, count, route="/organizer/tickets/{ticket_id}", method="GET", status="200") == 2
    assert value(samples, count, route="/organizer/tickets", method="POST", status="200") == 1
    routes = {dict(labels).get("route") for name, labels in samples if name == count}
    assert "<unmatched>" not in routes
    assert not any(route and ("T1" in route or "T2" in route) for route in routes)


def test_request_figures_show_only_the_calling_organizers_traffic(wallet: Wallet) -> None:
    """Organizer A injects, reads details and the feed; spectators and /health are used; someone sends
    A's e-mail with a wrong key. Organizer B's scrape shows none of it (before: every organizer's
    requests, service-wide), A's shows its own requests only, never the refused ones or the others'."""
    wallet.inject(ticket_payload("T1", ANA))
    wallet.detail("T1")
    wallet.diff()
    assert wallet.as_spectator(ANA, "GET", "/spectator/tickets").status_code == 200
    assert wallet.client.get("/health").status_code == 200
    assert wallet.client.get("/organizer/tickets/T1", auth=(wallet.auth[0], "wrong")).status_code == 401
    engine = wallet.client.app.state.engine  # type: ignore[attr-defined]
    other, key = run(engine, create_organizer, wallet.clock, "other@wc26.example")

    count = "tixtrace_wallet_http_request_duration_seconds_count"
    theirs = scrape(wallet, (other.email, key))
    assert {labels for name, labels in theirs.items() if name == count and theirs[(name, labels)]} == set()
    mine = scrape(wallet)
    routes = {(dict(labels)["route"], dict(labels)["status"]) for name, labels in mine if name == count}
    assert routes == {("/organizer/tickets", "200"), ("/organizer/tickets/{ticket_id}", "200"),
                      ("/organizer/tickets/diff", "200")}  # a scrape is counted once answered
    assert value(mine, count, route="/organizer/tickets/{ticket_id}", method="GET", status="200") == 1


@pytest.mark.parametrize("chunk", [1, 3, 11, 1000])
def test_record_marker_is_counted_across_body_chunks(chunk: int) -> None:
    """A streamed body cut anywhere (even inside a marker) counts each record once; an escaped marker
    inside a string value is not a record."""
    body = b'{"records":[' + b",".join(b'{"recordId":%d,"x":"\\"recordId\\":"}' % i for i in range(7)) + b"]}"
    counter = _MarkerCounter(RECORD_MARKER)
    for start in range(0, len(body), chunk):
        counter.feed(body[start:start + chunk])
    assert counter.count == 7
