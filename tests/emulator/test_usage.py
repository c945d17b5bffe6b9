"""The emulator's cost record: what the app asked of X per UTC day and endpoint, and what X
bills for it, priced by ``twitter_oauth.pricing``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import requests

from tests.emulator.helpers import Clock, api_session, body, call
from twitter_oauth.testing import XEmulator

DAY_ONE = datetime(2030, 3, 17, 23, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def clock():
    return Clock(DAY_ONE)


@pytest.fixture
def emulator(clock):
    return XEmulator(clock=clock)


def row(day, endpoint, requests=1, succeeded=1, billed_units=0, usd=0.0):
    return {
        "day": day,
        "endpoint": endpoint,
        "requests": requests,
        "succeeded": succeeded,
        "billed_units": billed_units,
        "usd": usd,
    }


def test_usage_is_one_row_per_day_and_endpoint_in_the_ledgers_shape(emulator, clock):
    call(emulator, "POST", "/2/tweets", json_body={"text": "plain"})
    call(emulator, "POST", "/2/tweets", json_body={"text": "with example.com in it"})
    call(emulator, "GET", "/2/users/me")
    clock.advance(3600)  # past midnight UTC
    call(emulator, "GET", "/2/users/me")
    call(emulator, "GET", "/2/users/me")
    assert emulator.usage() == [
        row("2030-03-17", "GET /2/users/me", billed_units=1, usd=0.01),
        row("2030-03-17", "POST /2/tweets", billed_units=1, usd=0.015),
        row("2030-03-17", "POST /2/tweets (with URL)", billed_units=1, usd=0.2),
        row("2030-03-18", "GET /2/users/me", requests=2, succeeded=2, billed_units=2, usd=0.02),
    ]


def test_reads_are_billed_per_resource_returned(emulator):
    alice = emulator.user_by_screen_name("alice")
    for n in range(7):
        emulator.add_tweet(alice.id, f"post {n}")
    call(emulator, "GET", f"/2/users/{alice.id}/tweets?max_results=5")
    assert emulator.usage() == [
        row("2030-03-17", "GET /2/users/:id/tweets", billed_units=5, usd=0.025)
    ]


def test_refusals_are_counted_and_free(emulator):
    call(emulator, "POST", "/2/tweets", json_body={"text": "once"})
    call(emulator, "POST", "/2/tweets", json_body={"text": "once"})  # the duplicate 403
    call(emulator, "GET", "/2/users/me", secret="wrong")  # 401
    emulator.deplete_credits()
    call(emulator, "GET", "/2/users/me")  # 402
    assert emulator.usage() == [
        row("2030-03-17", "GET /2/users/me", requests=2, succeeded=0),
        row("2030-03-17", "POST /2/tweets", requests=2, succeeded=1, billed_units=1, usd=0.015),
    ]


def test_faulted_requests_are_counted_the_dropped_ones_too(emulator):
    emulator.inject("/2/users/me", status=503)
    emulator.inject("/2/tweets", drop=True)
    call(emulator, "GET", "/2/users/me")
    call(emulator, "POST", "/2/tweets", json_body={"text": "dropped"})
    assert emulator.usage() == [
        row("2030-03-17", "GET /2/users/me", succeeded=0),
        row("2030-03-17", "POST /2/tweets", succeeded=0),
    ]
    assert emulator.billed_usd() == 0


def test_a_lost_answer_is_billed_for_x_did_the_work(emulator):
    emulator.inject("/2/tweets", lose_answer=True)
    assert call(emulator, "POST", "/2/tweets", json_body={"text": "lost"}).drop
    assert emulator.usage() == [row("2030-03-17", "POST /2/tweets", billed_units=1, usd=0.015)]
    assert emulator.billed_usd() == 0.015


def test_oauth_requests_are_counted_and_free(emulator):
    call(emulator, "POST", "/1.1/oauth/invalidate_token")
    emulator.handle("POST", "https://api.x.com/oauth/request_token", {}, b"")
    assert emulator.usage() == [
        row("2030-03-17", "POST /1.1/oauth/invalidate_token"),
        row("2030-03-17", "POST /oauth/request_token", succeeded=0),
    ]


def test_pages_avatars_and_controls_are_not_calls_to_xs_api(emulator):
    alice = emulator.user_by_screen_name("alice")
    emulator.handle("GET", "https://api.x.com/oauth/authorize?oauth_token=x", {}, b"")
    emulator.handle("GET", f"https://api.x.com/avatars/{alice.id}.svg", {}, b"")
    emulator.handle("GET", "https://api.x.com/_emulator/state", {}, b"")
    assert emulator.usage() == []


def test_billed_usd_bills_a_read_resource_once_per_utc_day(emulator, clock):
    alice = emulator.user_by_screen_name("alice")
    for n in range(5):
        emulator.add_tweet(alice.id, f"post {n}")
    for _ in range(3):
        call(emulator, "GET", f"/2/users/{alice.id}/tweets?max_results=5")
        call(emulator, "GET", "/2/users/me")
    # The record prices every answer, before X's per-day de-duplication...
    assert [(r["endpoint"], r["usd"]) for r in emulator.usage()] == [
        ("GET /2/users/:id/tweets", 0.075),
        ("GET /2/users/me", 0.03),
    ]
    # ...while the bill counts each post and the user once that day.
    assert emulator.billed_usd() == 0.035
    clock.advance(3600)
    call(emulator, "GET", "/2/users/me")
    assert emulator.billed_usd("2030-03-18") == 0.01
    assert emulator.billed_usd(date(2030, 3, 17)) == 0.035
    assert emulator.billed_usd() == 0.045


def test_billed_usd_bills_every_post_made(emulator):
    for n in range(3):
        call(emulator, "POST", "/2/tweets", json_body={"text": f"post {n}"})
    assert emulator.billed_usd() == 0.045


def test_prices_can_be_configured(clock):
    emulator = XEmulator(clock=clock, prices={"post": 0.02})
    call(emulator, "POST", "/2/tweets", json_body={"text": "one"})
    call(emulator, "GET", "/2/users/me")
    assert emulator.billed_usd() == 0.03
    assert emulator.prices["user_read"] == 0.01


def test_reset_forgets_the_bill(emulator):
    call(emulator, "GET", "/2/users/me")
    emulator.reset()
    assert (emulator.usage(), emulator.billed_usd()) == ([], 0)


def test_the_state_endpoint_gives_the_cost_record(x_emulator):
    api = api_session(x_emulator.state)
    api.post(f"{x_emulator.url}/2/tweets", json={"text": "over http"}, timeout=5)
    api.get(f"{x_emulator.url}/2/users/me", timeout=5)
    state = requests.get(f"{x_emulator.url}/_emulator/state", timeout=5).json()
    day = datetime.fromtimestamp(x_emulator.state.requests[0].at, UTC).date().isoformat()
    assert state["usage"] == [
        row(day, "GET /2/users/me", billed_units=1, usd=0.01),
        row(day, "POST /2/tweets", billed_units=1, usd=0.015),
    ]
    assert state["billed_usd"] == 0.025
    assert body(requests.post(f"{x_emulator.url}/_emulator/reset", timeout=5)) == {"reset": True}
