"""``GET /2/users/:id/tweets``: start_time, end_time, since_id, max_results and meta, as at X."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.emulator.helpers import Clock, api_session, body, call
from twitter_oauth.testing import EmulatorServer, XEmulator

START = datetime(2030, 3, 17, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def emulator(clock):
    """Alice posted at 12:00:00, 12:00:10, ..., 12:01:30 (ten posts), on the emulator's clock."""
    emulator = XEmulator(clock=clock)
    alice = emulator.user_by_screen_name("alice")
    for n in range(10):
        emulator.add_tweet(alice.id, f"post {n}")
        clock.advance(10)
    return emulator


def timeline(emulator, query=""):
    alice = emulator.user_by_screen_name("alice")
    return call(emulator, "GET", f"/2/users/{alice.id}/tweets{query}")


def texts(response):
    return [tweet["text"] for tweet in body(response).get("data", [])]


def test_newest_first_ten_by_default_with_meta(emulator):
    response = timeline(emulator)
    data = body(response)["data"]
    assert texts(response) == [f"post {n}" for n in range(9, -1, -1)]
    assert body(response)["meta"] == {
        "result_count": 10,
        "newest_id": data[0]["id"],
        "oldest_id": data[-1]["id"],
    }


def test_start_time_keeps_posts_made_at_or_after_it(emulator):
    assert texts(timeline(emulator, "?start_time=2030-03-17T12:01:10Z")) == [
        "post 9",
        "post 8",
        "post 7",
    ]


def test_start_time_takes_fractional_seconds(emulator):
    assert texts(timeline(emulator, "?start_time=2030-03-17T12:01:09.500Z")) == [
        "post 9",
        "post 8",
        "post 7",
    ]
    assert texts(timeline(emulator, "?start_time=2030-03-17T12:01:10.001Z")) == [
        "post 9",
        "post 8",
    ]


def test_end_time_keeps_posts_made_before_it(emulator):
    query = "?start_time=2030-03-17T12:00:10Z&end_time=2030-03-17T12:00:30Z"
    assert texts(timeline(emulator, query)) == ["post 2", "post 1"]


def test_since_id_keeps_newer_posts(emulator):
    ids = [tweet.id for tweet in emulator.tweets.values()]
    assert texts(timeline(emulator, f"?since_id={ids[7]}")) == ["post 9", "post 8"]


def test_max_results_limits_to_the_newest(emulator):
    response = timeline(emulator, "?max_results=5")
    assert texts(response) == [f"post {n}" for n in range(9, 4, -1)]
    assert body(response)["meta"]["result_count"] == 5


def test_nothing_found_is_meta_alone(emulator):
    response = timeline(emulator, "?start_time=2030-03-18T00:00:00Z")
    assert (response.status, body(response)) == (200, {"meta": {"result_count": 0}})


def test_created_at_is_given_when_asked_for(emulator):
    response = timeline(emulator, "?max_results=5&tweet.fields=created_at")
    assert body(response)["data"][0]["created_at"] == "2030-03-17T12:01:30.000Z"
    assert "created_at" not in body(timeline(emulator, "?max_results=5"))["data"][0]


@pytest.mark.parametrize("value", ["4", "101", "0", "ten", "-5", ""])
def test_max_results_out_of_range_is_refused_naming_the_parameter(emulator, value):
    response = timeline(emulator, f"?max_results={value}")
    answer = body(response)
    assert response.status == 400
    assert answer["title"] == "Invalid Request"
    assert answer["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert answer["errors"][0]["parameters"] == {"max_results": [value]}
    assert "between 5 and 100" in answer["errors"][0]["message"]


@pytest.mark.parametrize(
    "value",
    [
        "2030-03-17",
        "2030-03-17T12:00:00",
        "2030-03-17 12:00:00Z",
        "2030-13-01T12:00:00Z",
        "2030-02-30T12:00:00Z",
        "yesterday",
    ],
)
@pytest.mark.parametrize("parameter", ["start_time", "end_time"])
def test_a_time_not_in_rfc_3339_is_refused_naming_the_parameter(emulator, parameter, value):
    response = timeline(emulator, f"?{parameter}={value.replace(' ', '%20')}")
    assert response.status == 400
    assert body(response)["errors"][0]["parameters"] == {parameter: [value]}


def test_end_time_before_start_time_is_refused(emulator):
    query = "?start_time=2030-03-17T12:01:00Z&end_time=2030-03-17T12:00:00Z"
    response = timeline(emulator, query)
    assert response.status == 400
    assert list(body(response)["errors"][0]["parameters"]) == ["end_time"]


def test_a_since_id_not_a_number_is_refused(emulator):
    response = timeline(emulator, "?since_id=abc")
    assert (response.status, body(response)["errors"][0]["parameters"]) == (
        400,
        {"since_id": ["abc"]},
    )


def test_an_offset_in_the_time_is_understood(emulator):
    assert texts(timeline(emulator, "?start_time=2030-03-17T13:01:10%2B01:00")) == [
        "post 9",
        "post 8",
        "post 7",
    ]


def test_posts_made_over_http_carry_the_emulators_clock(clock):
    with EmulatorServer(XEmulator(clock=clock)) as server:
        api = api_session(server.emulator)
        api.post(f"{server.url}/2/tweets", json={"text": "early"}, timeout=5)
        clock.advance(60)
        api.post(f"{server.url}/2/tweets", json={"text": "late"}, timeout=5)
        alice = server.emulator.user_by_screen_name("alice")
        response = api.get(
            f"{server.url}/2/users/{alice.id}/tweets",
            params={"start_time": "2030-03-17T12:00:30Z", "tweet.fields": "created_at"},
            timeout=5,
        )
    assert response.status_code == 200
    assert [(t["text"], t["created_at"]) for t in response.json()["data"]] == [
        ("late", "2030-03-17T12:01:00.000Z")
    ]
