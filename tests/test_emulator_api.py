"""The emulator's pages, posting API, rate limits, fault injection, log and command line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth1, OAuth1Session

from tests.signin_helpers import form_fields
from twitter_oauth.testing import DEMO_CONSUMER_KEY, EmulatorServer, XEmulator

KEY, SECRET = "test-consumer-key", "test-consumer-secret"


def signed(x_emulator, screen_name="alice"):
    user = x_emulator.state.user_by_screen_name(screen_name)
    token, secret = x_emulator.state.issue_access_token(KEY, user)
    session = requests.Session()
    session.auth = OAuth1(KEY, SECRET, token, secret)
    return session


def post(session, x_emulator, text):
    return session.post(f"{x_emulator.url}/2/tweets", json={"text": text}, timeout=5)


# --- the whole dance over HTTP ------------------------------------------------------------------


def test_the_three_legged_dance_then_post_and_delete(x_emulator):
    oauth = OAuth1Session(KEY, client_secret=SECRET, callback_uri="http://client.example/cb?x=1")
    token = oauth.fetch_request_token(f"{x_emulator.url}/oauth/request_token")
    assert token["oauth_callback_confirmed"] == "true"

    browser = requests.Session()
    page = browser.get(
        f"{x_emulator.url}/oauth/authorize", params={"oauth_token": token["oauth_token"]}
    )
    assert page.status_code == 200
    assert f"Authorize {KEY} to access your account?" in page.text
    assert 'value="authorize">Authorize app</button>' in page.text
    assert 'value="cancel">Cancel</button>' in page.text
    form = {**form_fields(page.text), "screen_name": "bob", "action": "authorize"}
    answer = browser.post(page.url, data=form, allow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert back.netloc == "client.example" and back.path == "/cb"
    query = parse_qs(back.query)
    assert query["x"] == ["1"] and query["oauth_token"] == [token["oauth_token"]]

    oauth = OAuth1Session(
        KEY,
        client_secret=SECRET,
        resource_owner_key=token["oauth_token"],
        resource_owner_secret=token["oauth_token_secret"],
        verifier=query["oauth_verifier"][0],
    )
    access = oauth.fetch_access_token(f"{x_emulator.url}/oauth/access_token")
    assert access["screen_name"] == "bob"

    api = OAuth1Session(
        KEY,
        client_secret=SECRET,
        resource_owner_key=access["oauth_token"],
        resource_owner_secret=access["oauth_token_secret"],
    )
    me = api.get(f"{x_emulator.url}/2/users/me", params={"user.fields": "profile_image_url"}).json()
    assert me["data"]["username"] == "bob" and me["data"]["profile_image_url"].endswith(".svg")
    assert (
        requests.get(me["data"]["profile_image_url"], timeout=5).headers["Content-Type"]
        == "image/svg+xml"
    )
    created = api.post(f"{x_emulator.url}/2/tweets", json={"text": "hello"})
    assert created.status_code == 201
    tweet_id = created.json()["data"]["id"]
    assert created.json()["data"]["edit_history_tweet_ids"] == [tweet_id]
    assert x_emulator.state.tweets[tweet_id].text == "hello"
    deleted = api.delete(f"{x_emulator.url}/2/tweets/{tweet_id}")
    assert deleted.json() == {"data": {"deleted": True}}
    assert tweet_id not in x_emulator.state.tweets


def test_cancel_redirects_with_denied(x_emulator):
    token = OAuth1Session(
        KEY, client_secret=SECRET, callback_uri="http://client.example/cb"
    ).fetch_request_token(f"{x_emulator.url}/oauth/request_token")
    answer = requests.post(
        f"{x_emulator.url}/oauth/authorize",
        data={"oauth_token": token["oauth_token"], "action": "cancel"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.headers["Location"] == f"http://client.example/cb?denied={token['oauth_token']}"


def test_oob_shows_a_seven_digit_pin(x_emulator):
    token = OAuth1Session(KEY, client_secret=SECRET, callback_uri="oob").fetch_request_token(
        f"{x_emulator.url}/oauth/request_token"
    )
    answer = requests.post(
        f"{x_emulator.url}/oauth/authorize",
        data={"oauth_token": token["oauth_token"], "action": "authorize", "screen_name": "alice"},
        timeout=5,
    )
    pin = answer.text.split('<code id="pin">')[1].split("</code>")[0]
    assert len(pin) == 7 and pin.isdigit()
    assert x_emulator.state.request_tokens[token["oauth_token"]].verifier == pin


def test_authenticate_skips_the_prompt_for_an_approved_app(x_emulator):
    browser = requests.Session()

    def request_token():
        oauth = OAuth1Session(KEY, client_secret=SECRET, callback_uri="http://client.example/cb")
        return oauth.fetch_request_token(f"{x_emulator.url}/oauth/request_token")["oauth_token"]

    first = request_token()
    page = browser.get(f"{x_emulator.url}/oauth/authenticate", params={"oauth_token": first})
    browser.post(
        page.url,
        data={**form_fields(page.text), "screen_name": "carol", "action": "authorize"},
        allow_redirects=False,
    )
    second = request_token()
    skipped = browser.get(
        f"{x_emulator.url}/oauth/authenticate",
        params={"oauth_token": second},
        allow_redirects=False,
    )
    assert skipped.status_code == 302 and "oauth_verifier=" in skipped.headers["Location"]
    forced = browser.get(
        f"{x_emulator.url}/oauth/authenticate",
        params={"oauth_token": request_token(), "force_login": "true"},
    )
    assert forced.status_code == 200 and "Authorize app" in forced.text
    prompted = browser.get(
        f"{x_emulator.url}/oauth/authorize", params={"oauth_token": request_token()}
    )
    assert prompted.status_code == 200


def test_an_unknown_request_token_gets_an_error_page(x_emulator):
    page = requests.get(
        f"{x_emulator.url}/oauth/authorize", params={"oauth_token": "nope"}, timeout=5
    )
    assert page.status_code == 400 and "Whoa there!" in page.text


def test_a_new_screen_name_creates_an_identity(x_emulator):
    token = OAuth1Session(KEY, client_secret=SECRET, callback_uri="oob").fetch_request_token(
        f"{x_emulator.url}/oauth/request_token"
    )
    requests.post(
        f"{x_emulator.url}/oauth/authorize",
        data={
            "oauth_token": token["oauth_token"],
            "action": "authorize",
            "new_screen_name": "@dora",
        },
        timeout=5,
    )
    assert x_emulator.state.user_by_screen_name("dora") is not None


# --- posting ------------------------------------------------------------------------------------


def test_duplicate_text_is_refused_with_x_403(x_emulator):
    api = signed(x_emulator)
    assert post(api, x_emulator, "same").status_code == 201
    again = post(api, x_emulator, "same")
    assert again.status_code == 403
    assert again.json()["detail"] == "You are not allowed to create a Tweet with duplicate content."
    assert post(signed(x_emulator, "bob"), x_emulator, "same").status_code == 201


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "x" * 281}, {"nope": 1}, "not json"])
def test_invalid_posts_are_400(x_emulator, body):
    api = signed(x_emulator)
    if isinstance(body, str):
        response = api.post(
            f"{x_emulator.url}/2/tweets", data=body, headers={"Content-Type": "application/json"}
        )
    else:
        response = api.post(f"{x_emulator.url}/2/tweets", json=body)
    assert response.status_code == 400
    assert response.json()["title"] == "Invalid Request"


def test_the_post_limit_answers_429_until_the_window_resets():
    now = [1_900_000_000.0]
    emulator = XEmulator(post_limit=3, clock=lambda: now[0])
    with EmulatorServer(emulator) as server:
        user = emulator.user_by_screen_name("alice")
        token, secret = emulator.issue_access_token(KEY, user)
        api = requests.Session()
        # The emulator's clock is fixed, so sign with it too.
        api.auth = OAuth1(KEY, SECRET, token, secret, timestamp=str(int(now[0])))
        for n in range(3):
            response = api.post(f"{server.url}/2/tweets", json={"text": f"post {n}"})
            assert response.status_code == 201
            assert response.headers["x-rate-limit-remaining"] == str(2 - n)
        limited = api.post(f"{server.url}/2/tweets", json={"text": "post 3"})
        assert limited.status_code == 429
        assert limited.headers["x-rate-limit-remaining"] == "0"
        reset = int(limited.headers["x-rate-limit-reset"])
        assert reset == int(now[0]) + 900
        assert "x-user-limit-24hour-remaining" in response.headers
        now[0] = reset
        api.auth = OAuth1(KEY, SECRET, token, secret, timestamp=str(int(now[0])))
        assert api.post(f"{server.url}/2/tweets", json={"text": "post 3"}).status_code == 201


def test_timeline_lists_the_newest_posts(x_emulator):
    api = signed(x_emulator)
    ids = [post(api, x_emulator, f"n{n}").json()["data"]["id"] for n in range(7)]
    alice = x_emulator.state.user_by_screen_name("alice")
    body = api.get(f"{x_emulator.url}/2/users/{alice.id}/tweets", params={"max_results": 5}).json()
    assert [t["id"] for t in body["data"]] == list(reversed(ids))[:5]
    assert body["meta"]["result_count"] == 5


def test_verify_credentials_and_invalidate_token(x_emulator):
    api = signed(x_emulator, "carol")
    me = api.get(f"{x_emulator.url}/1.1/account/verify_credentials.json").json()
    assert me["screen_name"] == "carol"
    assert api.post(f"{x_emulator.url}/1.1/oauth/invalidate_token").status_code == 200
    refused = api.get(f"{x_emulator.url}/2/users/me")
    assert refused.status_code == 401
    assert refused.json()["errors"] == [{"code": 89, "message": "Invalid or expired token."}]


def test_unknown_path_is_404_code_34(x_emulator):
    response = signed(x_emulator).get(f"{x_emulator.url}/2/nothing")
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == 34


def test_concurrent_posts_are_all_recorded_with_unique_ids(x_emulator):
    ids, lock = [], threading.Lock()

    def poster(n):
        api = signed(x_emulator, "alice")
        for m in range(5):
            tweet_id = post(api, x_emulator, f"thread {n} post {m}").json()["data"]["id"]
            with lock:
                ids.append(tweet_id)

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == len(set(ids)) == 40
    assert x_emulator.state.count("/2/tweets", "POST") == 40


# --- faults and the log -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429, 401, 418])
def test_a_status_fault_answers_with_x_shaped_body(x_emulator, status):
    x_emulator.state.inject("/2/tweets", status=status)
    response = post(signed(x_emulator), x_emulator, "x")
    assert response.status_code == status
    assert response.json()
    if status == 429:
        assert int(response.headers["x-rate-limit-reset"]) > time.time()
    assert x_emulator.state.requests[-1].fault


def test_faults_apply_times_then_stop(x_emulator):
    x_emulator.state.inject("/2/tweets", status=503, times=2)
    api = signed(x_emulator)
    assert [post(api, x_emulator, f"t{n}").status_code for n in range(3)] == [503, 503, 201]


def test_a_rate_fault_applies_to_a_share_of_requests():
    emulator = XEmulator(seed=7)
    with EmulatorServer(emulator) as server:
        emulator.inject("/2/users/me", status=503, times=None, rate=0.3)
        user = emulator.user_by_screen_name("alice")
        api = requests.Session()
        api.auth = OAuth1(KEY, SECRET, *emulator.issue_access_token(KEY, user))
        statuses = [api.get(f"{server.url}/2/users/me").status_code for _ in range(100)]
    assert 15 <= statuses.count(503) <= 45
    assert statuses.count(503) + statuses.count(200) == 100


def test_delay_drop_and_garble(x_emulator):
    api = signed(x_emulator)
    x_emulator.state.inject("/2/users/me", delay=0.3)
    with pytest.raises(requests.Timeout):
        api.get(f"{x_emulator.url}/2/users/me", timeout=0.1)
    x_emulator.state.inject("/2/users/me", drop=True)
    with pytest.raises(requests.ConnectionError):
        api.get(f"{x_emulator.url}/2/users/me", timeout=5)
    x_emulator.state.inject("/2/users/me", garble=True)
    garbled = api.get(f"{x_emulator.url}/2/users/me", timeout=5)
    with pytest.raises(ValueError):  # noqa: PT011 - whatever the JSON decoder calls it
        garbled.json()
    x_emulator.state.clear_faults()
    assert api.get(f"{x_emulator.url}/2/users/me", timeout=5).status_code == 200


def test_the_log_records_every_request(x_emulator):
    api = signed(x_emulator)
    post(api, x_emulator, "logged")
    api.get(f"{x_emulator.url}/2/users/me")
    recorded = x_emulator.state.requests
    assert [(r.method, r.path, r.status) for r in recorded] == [
        ("POST", "/2/tweets", 201),
        ("GET", "/2/users/me", 200),
    ]
    assert recorded[0].consumer_key == KEY and recorded[0].token.endswith(recorded[0].token[-8:])
    assert json.loads(recorded[0].body) == {"text": "logged"}
    assert x_emulator.state.count(method="GET") == 1
    x_emulator.state.reset()
    assert x_emulator.state.count() == 0 and not x_emulator.state.tweets


def test_control_endpoints(x_emulator):
    post(signed(x_emulator), x_emulator, "one")
    state = requests.get(f"{x_emulator.url}/_emulator/state", timeout=5).json()
    assert state["tweets"] == 1
    requests.post(f"{x_emulator.url}/_emulator/reset", timeout=5)
    assert not x_emulator.state.tweets


def test_connections_are_kept_alive(x_emulator):
    api = signed(x_emulator)
    for n in range(5):
        post(api, x_emulator, f"keep {n}")
    pools = api.get_adapter(x_emulator.url).poolmanager.pools
    assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118


# --- the command line ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_command_line_serves_until_terminated():
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "twitter_oauth.testing", "--port", str(port), "--consumer", "k:s"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith(
            f"X emulator listening on http://127.0.0.1:{port}"
        )
        url = f"http://127.0.0.1:{port}"
        token = OAuth1Session("k", client_secret="s", callback_uri="oob").fetch_request_token(
            f"{url}/oauth/request_token"
        )
        page = requests.get(
            f"{url}/oauth/authorize", params={"oauth_token": token["oauth_token"]}, timeout=5
        )
        assert page.status_code == 200 and "Authorize app" in page.text
        refused = requests.post(
            f"{url}/oauth/request_token",
            auth=OAuth1(DEMO_CONSUMER_KEY, "demo-consumer-secret", callback_uri="oob"),
            timeout=5,
        )
        assert refused.status_code == 401  # only the consumer given on the command line
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
