"""What X refuses for the whole app: spent credits, the monthly cap, the app's 24-hour post
cap and endpoints outside the app's plan. Each concerns every account of the app."""

from __future__ import annotations

import pytest
import requests

from tests.emulator.helpers import CODE_32, Clock, api_session, body, call
from twitter_oauth.testing import DEMO_CONSUMER_KEY, EmulatorServer, XEmulator

CREDITS_DEPLETED = {
    "title": "Payment Required",
    "detail": "credits depleted",
    "status": 402,
    "type": "https://api.x.com/2/problems/credits-depleted",
}
USAGE_CAPPED = {
    "title": "Too Many Requests",
    "detail": "Usage cap exceeded: Monthly product cap",
    "status": 429,
    "type": "https://api.x.com/2/problems/usage-capped",
    "period": "Monthly",
    "scope": "Product",
}
API_REQUESTS = [
    ("GET", "/2/users/me", None),
    ("POST", "/2/tweets", {"text": "hello"}),
    ("GET", "/2/users/783214/tweets", None),
    ("GET", "/1.1/account/verify_credentials.json", None),
]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def emulator(clock):
    return XEmulator(clock=clock)


# --- credits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "json_body"), API_REQUESTS)
def test_depleted_credits_refuse_every_api_request_with_402(emulator, method, path, json_body):
    emulator.deplete_credits()
    response = call(emulator, method, path, json_body=json_body)
    assert (response.status, body(response)) == (402, CREDITS_DEPLETED)
    assert "x-rate-limit-reset" not in response.headers
    assert emulator.tweets == {}


def test_depleted_credits_concern_every_account_of_the_app(emulator):
    emulator.deplete_credits()
    assert call(emulator, "GET", "/2/users/me", screen_name="bob").status == 402
    assert call(emulator, "GET", "/2/users/me", screen_name="carol").status == 402


def test_credits_added_end_the_refusal(emulator):
    emulator.deplete_credits()
    assert call(emulator, "POST", "/2/tweets", json_body={"text": "one"}).status == 402
    emulator.add_credits()
    assert call(emulator, "POST", "/2/tweets", json_body={"text": "one"}).status == 201


def test_depleted_credits_are_checked_after_the_signature(emulator):
    emulator.deplete_credits()
    response = call(emulator, "GET", "/2/users/me", secret="not-the-apps-secret")
    assert (response.status, body(response)) == (401, CODE_32)


def test_depleted_credits_leave_oauth_and_the_authorize_page_alone(emulator):
    emulator.deplete_credits()
    assert emulator.handle("GET", "https://api.x.com/oauth/authorize", {}, b"").status != 402
    response = call(emulator, "POST", "/1.1/oauth/invalidate_token")
    assert response.status == 200
    assert emulator.handle("GET", "https://api.x.com/_emulator/state", {}, b"").status == 200


def test_a_refused_request_is_recorded_like_any_other(emulator):
    emulator.deplete_credits()
    call(emulator, "GET", "/2/users/me")
    [recorded] = emulator.requests
    assert (recorded.path, recorded.status, recorded.consumer_key) == (
        "/2/users/me",
        402,
        "test-consumer-key",
    )


# --- the monthly usage cap ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "json_body"), API_REQUESTS)
def test_usage_cap_refuses_every_api_request_with_429(emulator, method, path, json_body):
    emulator.cap_usage()
    response = call(emulator, method, path, json_body=json_body)
    assert (response.status, body(response)) == (429, USAGE_CAPPED)
    assert emulator.tweets == {}


def test_usage_cap_shows_the_endpoints_window_with_plenty_left(emulator, clock):
    call(emulator, "POST", "/2/tweets", json_body={"text": "before the cap"})
    emulator.cap_usage()
    response = call(emulator, "POST", "/2/tweets", json_body={"text": "after"})
    assert response.headers["x-rate-limit-limit"] == "100"
    assert response.headers["x-rate-limit-remaining"] == "99"
    assert int(response.headers["x-rate-limit-reset"]) == int(clock.now) + 900
    profile = call(emulator, "GET", "/2/users/me")
    assert (profile.headers["x-rate-limit-limit"], profile.headers["x-rate-limit-remaining"]) == (
        "75",
        "75",
    )


def test_usage_cap_gives_no_reset_of_the_cap_itself(emulator):
    emulator.cap_usage()
    response = call(emulator, "POST", "/2/tweets", json_body={"text": "capped"})
    assert not any(name.startswith("x-app-limit-24hour") for name in response.headers)
    assert "retry-after" not in {name.lower() for name in response.headers}


def test_uncapped_usage_answers_again(emulator):
    emulator.cap_usage()
    emulator.uncap_usage()
    assert call(emulator, "GET", "/2/users/me").status == 200


def test_usage_cap_is_checked_after_the_signature(emulator):
    emulator.cap_usage()
    response = call(emulator, "GET", "/2/users/me", secret="not-the-apps-secret")
    assert (response.status, body(response)) == (401, CODE_32)


# --- the app's 24-hour post cap -----------------------------------------------------------------


def test_every_post_answer_carries_the_apps_24_hour_headers(clock):
    emulator = XEmulator(clock=clock, app_daily_post_limit=10)
    first = call(emulator, "POST", "/2/tweets", json_body={"text": "one"})
    duplicate = call(emulator, "POST", "/2/tweets", json_body={"text": "one"})
    assert (first.status, duplicate.status) == (201, 403)
    for response, remaining in ((first, "9"), (duplicate, "9")):
        assert response.headers["x-app-limit-24hour-limit"] == "10"
        assert response.headers["x-app-limit-24hour-remaining"] == remaining
        assert response.headers["x-app-limit-24hour-reset"] == str(int(clock.now) + 86400)
        assert "x-rate-limit-remaining" in response.headers
        assert "x-user-limit-24hour-remaining" in response.headers


def test_default_app_cap_is_out_of_an_ordinary_tests_way(emulator):
    response = call(emulator, "POST", "/2/tweets", json_body={"text": "one"})
    assert response.headers["x-app-limit-24hour-limit"] == "1000000"


def test_app_cap_counts_the_posts_of_every_user_of_the_app(clock):
    emulator = XEmulator(clock=clock, app_daily_post_limit=3)
    statuses = [
        call(
            emulator, "POST", "/2/tweets", screen_name=name, json_body={"text": f"by {name}"}
        ).status
        for name in ("alice", "bob", "carol")
    ]
    assert statuses == [201, 201, 201]
    refused = call(emulator, "POST", "/2/tweets", screen_name="alice", json_body={"text": "4"})
    assert (refused.status, body(refused)["title"]) == (429, "Too Many Requests")
    assert refused.headers["x-app-limit-24hour-remaining"] == "0"
    assert refused.headers["x-app-limit-24hour-reset"] == str(int(clock.now) + 86400)
    # The person's own windows are far from spent: it is the app that met its cap.
    assert refused.headers["x-rate-limit-remaining"] == "99"
    assert refused.headers["x-user-limit-24hour-remaining"] == "2399"
    assert len(emulator.tweets) == 3


def test_app_cap_is_per_consumer(clock):
    emulator = XEmulator(clock=clock, app_daily_post_limit=1)
    assert call(emulator, "POST", "/2/tweets", json_body={"text": "a"}).status == 201
    other = call(emulator, "POST", "/2/tweets", key=DEMO_CONSUMER_KEY, json_body={"text": "b"})
    assert other.status == 201


def test_app_cap_ends_at_its_reset_on_the_emulators_clock(clock):
    emulator = XEmulator(clock=clock, app_daily_post_limit=1)
    call(emulator, "POST", "/2/tweets", json_body={"text": "a"})
    refused = call(emulator, "POST", "/2/tweets", json_body={"text": "b"})
    clock.now = int(refused.headers["x-app-limit-24hour-reset"]) - 1
    assert call(emulator, "POST", "/2/tweets", json_body={"text": "b"}).status == 429
    clock.advance(1)
    again = call(emulator, "POST", "/2/tweets", json_body={"text": "b"})
    assert (again.status, again.headers["x-app-limit-24hour-remaining"]) == (201, "0")


def test_app_cap_429_can_come_without_its_reset(clock):
    emulator = XEmulator(clock=clock, app_daily_post_limit=1, app_cap_reset_header=False)
    assert (
        "x-app-limit-24hour-reset"
        in call(emulator, "POST", "/2/tweets", json_body={"text": "a"}).headers
    )
    refused = call(emulator, "POST", "/2/tweets", json_body={"text": "b"})
    assert refused.status == 429
    assert refused.headers["x-app-limit-24hour-remaining"] == "0"
    assert "x-app-limit-24hour-reset" not in refused.headers


def test_app_cap_headers_over_http(clock):
    with EmulatorServer(XEmulator(clock=clock, app_daily_post_limit=1)) as server:
        api = api_session(server.emulator)
        ok = api.post(f"{server.url}/2/tweets", json={"text": "a"}, timeout=5)
        refused = api.post(f"{server.url}/2/tweets", json={"text": "b"}, timeout=5)
    assert ok.headers["x-app-limit-24hour-remaining"] == "0"
    assert refused.status_code == 429
    assert refused.headers["x-app-limit-24hour-remaining"] == "0"
    assert refused.headers["x-app-limit-24hour-reset"] == str(int(clock.now) + 86400)
    assert refused.headers["x-rate-limit-remaining"] == "99"


def test_credits_and_usage_cap_over_http(x_emulator):
    api = api_session(x_emulator.state)
    x_emulator.state.deplete_credits()
    depleted = api.post(f"{x_emulator.url}/2/tweets", json={"text": "a"}, timeout=5)
    assert (depleted.status_code, depleted.json()) == (402, CREDITS_DEPLETED)
    x_emulator.state.add_credits()
    x_emulator.state.cap_usage()
    capped = api.post(f"{x_emulator.url}/2/tweets", json={"text": "a"}, timeout=5)
    assert (capped.status_code, capped.json()) == (429, USAGE_CAPPED)
    assert capped.headers["x-rate-limit-remaining"] == "100"
    assert int(capped.headers["x-rate-limit-reset"]) > x_emulator.state.clock()


# --- endpoints outside the app's plan -----------------------------------------------------------


def test_unenrolled_endpoint_answers_client_forbidden(emulator):
    emulator.unenroll("GET /2/users/:id/tweets")
    response = call(emulator, "GET", "/2/users/783214/tweets?max_results=5")
    answer = body(response)
    assert response.status == 403
    assert answer["reason"] == "client-not-enrolled"
    assert answer["title"] == "Client Forbidden"
    assert answer["type"] == "https://api.x.com/2/problems/client-forbidden"
    assert answer["required_enrollment"] == "Appropriate Level of API Access"
    assert answer["registration_url"].startswith("https://developer.x.com/")
    assert "different access level" in answer["detail"]


def test_unenrolled_endpoint_is_refused_for_every_consumer_and_only_it(emulator):
    emulator.unenroll("GET /2/users/:id/tweets")
    assert call(emulator, "GET", "/2/users/6253282/tweets", key=DEMO_CONSUMER_KEY).status == 403
    assert call(emulator, "GET", "/2/users/me").status == 200


def test_enrolled_again_answers_again(emulator):
    emulator.unenroll("GET /2/users/:id/tweets")
    emulator.enroll("GET /2/users/:id/tweets")
    assert call(emulator, "GET", "/2/users/783214/tweets").status == 200


def test_reset_ends_every_refusal_of_the_app(emulator):
    emulator.deplete_credits()
    emulator.cap_usage()
    emulator.unenroll("GET /2/users/me")
    emulator.reset()
    assert call(emulator, "GET", "/2/users/me").status == 200


def test_unsigned_request_is_refused_for_its_signature_not_for_credits(x_emulator):
    x_emulator.state.deplete_credits()
    response = requests.get(f"{x_emulator.url}/2/users/me", timeout=5)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"code": 215, "message": "Bad Authentication data."}]}


# --- for an emulator in another process ---------------------------------------------------------


def test_the_account_control_sets_the_refusals_over_http(x_emulator):
    changed = requests.post(
        f"{x_emulator.url}/_emulator/account",
        json={"credits_depleted": True, "unenrolled": ["GET /2/users/:id/tweets"]},
        timeout=5,
    )
    assert changed.json() == {
        "credits_depleted": True,
        "usage_capped": False,
        "unenrolled": ["GET /2/users/:id/tweets"],
    }
    api = api_session(x_emulator.state)
    assert api.get(f"{x_emulator.url}/2/users/me", timeout=5).status_code == 402
    requests.post(
        f"{x_emulator.url}/_emulator/account",
        json={"credits_depleted": False, "usage_capped": True},
        timeout=5,
    )
    assert api.get(f"{x_emulator.url}/2/users/me", timeout=5).status_code == 429
    state = requests.get(f"{x_emulator.url}/_emulator/state", timeout=5).json()
    assert state["account"] == {
        "credits_depleted": False,
        "usage_capped": True,
        "unenrolled": ["GET /2/users/:id/tweets"],
    }


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        (b"not json", "The body must be a JSON object."),
        (b"[]", "The body must be a JSON object."),
        (b'{"credits": true}', "Unknown keys: credits."),
        (b'{"usage_capped": "yes"}', "usage_capped must be true or false."),
        (b'{"unenrolled": "GET /2/users/me"}', "unenrolled must be a list"),
    ],
)
def test_the_account_control_refuses_what_it_cannot_use(emulator, sent, error):
    response = emulator.handle("POST", "http://x.test/_emulator/account", {}, sent)
    assert response.status == 400
    assert body(response)["error"].startswith(error)
    assert emulator.account() == {
        "credits_depleted": False,
        "usage_capped": False,
        "unenrolled": [],
    }
