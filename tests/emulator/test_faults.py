"""Injected faults, and the request log that shows what reached the emulator."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.emulator.helpers import KEY, api_session, call
from twitter_oauth.testing import EmulatorServer, XEmulator


def post(api, url, text="x"):
    return api.post(f"{url}/2/tweets", json={"text": text}, timeout=5)


def test_an_injected_503_answers_as_x_does_when_over_capacity(x_emulator):
    fault = x_emulator.state.inject("/2/tweets", status=503)
    response = post(api_session(x_emulator.state), x_emulator.url)
    assert response.status_code == 503
    assert response.json() == {
        "title": "Service Unavailable",
        "detail": "Service Unavailable",
        "type": "about:blank",
        "status": 503,
        "errors": [{"code": 130, "message": "Over capacity"}],
    }
    assert fault.applied == 1 and x_emulator.state.faults == []
    assert not x_emulator.state.tweets


def test_an_injected_500_answers_with_x_json(x_emulator):
    x_emulator.state.inject("/2/tweets", status=500)
    response = post(api_session(x_emulator.state), x_emulator.url)
    assert response.status_code == 500
    assert response.json()["title"] == "Internal Server Error"
    assert response.json()["errors"] == [{"code": 131, "message": "Internal error"}]


def test_an_injected_429_carries_the_rate_limit_headers(x_emulator):
    x_emulator.state.inject("/2/tweets", status=429, reset_in=120)
    before = int(time.time())
    response = post(api_session(x_emulator.state), x_emulator.url)
    assert response.status_code == 429
    assert response.json()["title"] == "Too Many Requests"
    assert response.headers["x-rate-limit-limit"] == "100"
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert before + 120 <= int(response.headers["x-rate-limit-reset"]) <= time.time() + 120


def test_an_injected_401_answers_as_x_does_for_credentials_it_cannot_verify(x_emulator):
    x_emulator.state.inject("/2/tweets", status=401)
    response = post(api_session(x_emulator.state), x_emulator.url)
    assert response.status_code == 401
    assert response.json() == {"errors": [{"code": 32, "message": "Could not authenticate you."}]}


def test_an_injected_status_without_an_answer_of_its_own_is_a_v2_problem(x_emulator):
    x_emulator.state.inject("/2/tweets", status=418)
    response = post(api_session(x_emulator.state), x_emulator.url)
    assert response.status_code == 418
    assert response.json() == {
        "title": "Error",
        "detail": "Error",
        "type": "about:blank",
        "status": 418,
    }
    assert x_emulator.state.requests[-1].fault


def test_an_injected_body_and_headers_replace_x_answer(x_emulator):
    x_emulator.state.inject(
        "/2/tweets",
        status=502,
        body="<html>Bad gateway</html>",
        headers={"Content-Type": "text/html"},
    )
    response = post(api_session(x_emulator.state), x_emulator.url)
    assert (response.status_code, response.text) == (502, "<html>Bad gateway</html>")
    assert response.headers["Content-Type"] == "text/html"


def test_a_delay_holds_the_answer_up_then_answers_normally(x_emulator):
    x_emulator.state.inject("/2/users/me", delay=0.15)
    api = api_session(x_emulator.state)
    started = time.monotonic()
    response = api.get(f"{x_emulator.url}/2/users/me", timeout=5)
    assert time.monotonic() - started >= 0.15
    assert response.status_code == 200
    assert x_emulator.state.requests[-1].fault


def test_a_delay_beyond_the_client_timeout_is_a_timeout(x_emulator):
    x_emulator.state.inject("/2/users/me", delay=0.3)
    with pytest.raises(requests.Timeout):
        api_session(x_emulator.state).get(f"{x_emulator.url}/2/users/me", timeout=0.05)


def test_a_dropped_connection_is_a_connection_error(x_emulator):
    x_emulator.state.inject("/2/tweets", drop=True)
    api = api_session(x_emulator.state)
    with pytest.raises(requests.ConnectionError):
        post(api, x_emulator.url)
    assert x_emulator.state.requests[-1].fault
    assert post(api, x_emulator.url).status_code == 201


def test_a_garbled_answer_cannot_be_read(x_emulator):
    x_emulator.state.inject("/2/users/me", garble=True)
    response = api_session(x_emulator.state).get(f"{x_emulator.url}/2/users/me", timeout=5)
    assert response.status_code == 200
    with pytest.raises(ValueError):  # noqa: PT011 - whatever the JSON decoder calls it
        response.json()
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")


def test_times_n_then_normal_again(x_emulator):
    x_emulator.state.inject("/2/tweets", status=503, times=2)
    api = api_session(x_emulator.state)
    assert [post(api, x_emulator.url, f"t{n}").status_code for n in range(3)] == [503, 503, 201]


def test_times_none_lasts_until_cleared(x_emulator):
    x_emulator.state.inject("/2/tweets", status=503, times=None)
    api = api_session(x_emulator.state)
    assert [post(api, x_emulator.url, f"t{n}").status_code for n in range(5)] == [503] * 5
    x_emulator.state.clear_faults()
    assert post(api, x_emulator.url).status_code == 201


def test_a_rate_applies_to_a_seeded_random_share():
    def outcomes(seed):
        emulator = XEmulator(seed=seed)
        emulator.inject("/2/users/me", status=503, times=None, rate=0.3)
        return [
            emulator.handle("GET", "http://x.test/2/users/me", {}, b"").status for _ in range(200)
        ]

    first = outcomes(5)
    assert first == outcomes(5)
    assert first != outcomes(6)
    assert 40 <= first.count(503) <= 80  # about 30% of 200
    assert set(first) == {503, 400}  # the others reach X, which refuses them unsigned


def test_a_rate_over_http(x_emulator):
    x_emulator.state.random.seed(3)
    x_emulator.state.inject("/2/users/me", status=503, times=None, rate=0.5)
    api = api_session(x_emulator.state)
    statuses = [api.get(f"{x_emulator.url}/2/users/me", timeout=5).status_code for _ in range(40)]
    assert set(statuses) == {200, 503}
    assert x_emulator.state.count("/2/users/me") == 40


def test_a_fault_may_be_limited_to_a_method(x_emulator):
    x_emulator.state.inject("/2/tweets", method="GET", status=503)
    assert post(api_session(x_emulator.state), x_emulator.url).status_code == 201
    assert len(x_emulator.state.faults) == 1


def test_a_path_with_a_trailing_slash_matches_what_is_below_it(x_emulator):
    api = api_session(x_emulator.state)
    tweet_id = post(api, x_emulator.url).json()["data"]["id"]
    x_emulator.state.inject("/2/tweets/", status=503, times=None)
    assert post(api, x_emulator.url, "not below").status_code == 201
    assert api.delete(f"{x_emulator.url}/2/tweets/{tweet_id}", timeout=5).status_code == 503


def test_faults_act_before_authentication(x_emulator):
    x_emulator.state.inject("/oauth/request_token", status=503)
    response = requests.post(f"{x_emulator.url}/oauth/request_token", timeout=5)
    assert response.status_code == 503


def test_every_request_is_recorded_and_counted(x_emulator):
    api = api_session(x_emulator.state)
    token = api.auth.client.resource_owner_key
    x_emulator.state.inject("/2/tweets", status=503)
    post(api, x_emulator.url, "faulted")
    post(api, x_emulator.url, "logged")
    api.get(f"{x_emulator.url}/2/users/me", params={"user.fields": "name"}, timeout=5)
    requests.get(f"{x_emulator.url}/2/users/me", timeout=5)

    recorded = x_emulator.state.requests
    assert [(r.method, r.path, r.status, r.fault) for r in recorded] == [
        ("POST", "/2/tweets", 503, True),
        ("POST", "/2/tweets", 201, False),
        ("GET", "/2/users/me", 200, False),
        ("GET", "/2/users/me", 400, False),
    ]
    assert [(r.consumer_key, r.token) for r in recorded] == [(KEY, token)] * 3 + [(None, None)]
    assert json.loads(recorded[1].body) == {"text": "logged"}
    assert recorded[2].query == {"user.fields": "name"}
    assert recorded[2].headers["Authorization"].startswith("OAuth ")
    assert recorded[1].response_headers["x-rate-limit-remaining"] == "99"
    assert x_emulator.state.count() == 4
    assert x_emulator.state.count("/2/tweets") == 2
    assert x_emulator.state.count("/2/users/me", "get") == 2
    assert x_emulator.state.count(method="DELETE") == 0


def test_an_emulator_failure_is_a_500_not_a_dropped_connection(x_emulator, caplog):
    def broken(call):
        raise RuntimeError("a bug")

    x_emulator.state.router.routes[("GET", "/_emulator/state")] = broken
    response = requests.get(f"{x_emulator.url}/_emulator/state", timeout=5)
    assert response.status_code == 500
    assert "a bug" in caplog.text


def test_a_server_stopping_cuts_a_delay_short():
    emulator = XEmulator()
    emulator.inject("/2/users/me", delay=30)
    server = EmulatorServer(emulator).start()
    api = api_session(emulator)
    try:
        with pytest.raises(requests.Timeout):
            api.get(f"{server.url}/2/users/me", timeout=0.05)
    finally:
        started = time.monotonic()
        server.stop()
    assert time.monotonic() - started < 1


# --- a lost answer: X did the work, the client never heard -------------------------------------


def test_a_lost_answer_posts_then_closes_the_connection_unanswered(x_emulator):
    x_emulator.state.inject("/2/tweets", lose_answer=True)
    api = api_session(x_emulator.state)
    with pytest.raises(requests.ConnectionError) as raised:
        post(api, x_emulator.url, "posted at X")
    assert not isinstance(raised.value, requests.Timeout)
    [tweet] = x_emulator.state.tweets.values()
    assert tweet.text == "posted at X"
    [recorded] = x_emulator.state.requests
    assert (recorded.status, recorded.fault, recorded.answer_lost) == (201, True, True)


def test_after_a_lost_answer_the_same_post_is_a_duplicate(x_emulator):
    x_emulator.state.inject("/2/tweets", lose_answer=True)
    api = api_session(x_emulator.state)
    with pytest.raises(requests.ConnectionError):
        post(api, x_emulator.url, "once")
    again = post(api, x_emulator.url, "once")
    assert again.status_code == 403
    assert again.json()["detail"] == "You are not allowed to create a Tweet with duplicate content."


def test_a_lost_answer_follows_times(x_emulator):
    x_emulator.state.inject("/2/tweets", lose_answer=True, times=2)
    api = api_session(x_emulator.state)
    for n in range(2):
        with pytest.raises(requests.ConnectionError):
            post(api, x_emulator.url, f"lost {n}")
    assert post(api, x_emulator.url, "heard").status_code == 201
    assert len(x_emulator.state.tweets) == 3


def test_a_lost_answer_follows_a_seeded_rate():
    def lost(seed):
        emulator = XEmulator(seed=seed)
        emulator.inject("/2/users/me", lose_answer=True, times=None, rate=0.5)
        return [call(emulator, "GET", "/2/users/me").drop for _ in range(40)]

    assert lost(1) == lost(1)
    assert 0 < sum(lost(1)) < 40


def test_a_lost_answer_in_process_is_a_drop_while_the_log_keeps_xs_answer():
    emulator = XEmulator()
    emulator.inject("/2/tweets", lose_answer=True)
    response = call(emulator, "POST", "/2/tweets", json_body={"text": "lost"})
    assert (response.status, response.drop, response.body) == (0, True, b"")
    assert emulator.requests[-1].status == 201
    assert emulator.requests[-1].response_headers["x-rate-limit-remaining"] == "99"


def test_a_lost_answer_after_a_delay(x_emulator):
    x_emulator.state.inject("/2/users/me", lose_answer=True, delay=0.05)
    with pytest.raises(requests.ConnectionError):
        api_session(x_emulator.state).get(f"{x_emulator.url}/2/users/me", timeout=5)
    assert x_emulator.state.requests[-1].status == 200


def test_a_drop_acts_before_x_handles_the_request(x_emulator):
    x_emulator.state.inject("/2/tweets", drop=True)
    with pytest.raises(requests.ConnectionError):
        post(api_session(x_emulator.state), x_emulator.url, "never posted")
    assert x_emulator.state.tweets == {}
    assert x_emulator.state.requests[-1].answer_lost is False
