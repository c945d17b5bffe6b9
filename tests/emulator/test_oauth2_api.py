"""Bearer tokens on the API, with scopes and lifetimes; the OAuth 2.0 dance over loopback, and
driven by X's own SDK."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from xdk.oauth2_auth import OAuth2PKCEAuth

from tests.emulator.helpers import (
    ALL_SCOPES,
    CLIENT_ID,
    CLIENT_SECRET,
    PUBLIC_CLIENT_ID,
    REDIRECT_URI,
    VERIFIER,
    X_API,
    Clock,
    api_session,
    bearer,
    body,
    click,
    oauth2_authorize_url,
    query_of,
)
from twitter_oauth.testing import XEmulator

UNAUTHORIZED = {
    "title": "Unauthorized",
    "detail": "Unauthorized",
    "type": "about:blank",
    "status": 401,
}
FORBIDDEN = {"title": "Forbidden", "detail": "Forbidden", "type": "about:blank", "status": 403}
POSTING = ["tweet.read", "tweet.write", "users.read"]
READING = ["tweet.read", "users.read"]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def emulator(clock):
    return XEmulator(clock=clock)


def call(emulator, method, path, token, payload=None):
    data = json.dumps(payload).encode() if payload is not None else b""
    headers = {**bearer(token), "Content-Type": "application/json"}
    return emulator.handle(method, f"{X_API}{path}", headers, data)


def token_for(emulator, scopes, screen_name="alice", **kwargs):
    user = emulator.user_by_screen_name(screen_name)
    access, _refresh = emulator.issue_oauth2_token(CLIENT_ID, user, scopes, **kwargs)
    return access


# --- what a token may do --------------------------------------------------------------------------


def test_a_bearer_token_posts_reads_and_deletes(emulator):
    alice = emulator.user_by_screen_name("alice")
    token = token_for(emulator, POSTING)
    created = call(emulator, "POST", "/2/tweets", token, {"text": "over OAuth 2.0"})
    assert created.status == 201
    tweet_id = body(created)["data"]["id"]
    assert emulator.tweets[tweet_id].author_id == alice.id
    timeline = call(emulator, "GET", f"/2/users/{alice.id}/tweets", token)
    assert [t["id"] for t in body(timeline)["data"]] == [tweet_id]
    assert body(call(emulator, "GET", "/2/users/me", token))["data"]["id"] == alice.id
    deleted = call(emulator, "DELETE", f"/2/tweets/{tweet_id}", token)
    assert (deleted.status, body(deleted)) == (200, {"data": {"deleted": True}})


MISSING_SCOPES = {
    "posting without tweet.write": ("POST", "/2/tweets", ["tweet.read", "users.read"]),
    "posting without users.read": ("POST", "/2/tweets", ["tweet.read", "tweet.write"]),
    "deleting without tweet.write": ("DELETE", "/2/tweets/1", ["tweet.read", "users.read"]),
    "reading me without tweet.read": ("GET", "/2/users/me", ["users.read"]),
    "reading me without users.read": ("GET", "/2/users/me", ["tweet.read"]),
    "a timeline without users.read": ("GET", "/2/users/783214/tweets", ["tweet.read"]),
}


@pytest.mark.parametrize(
    ("method", "path", "scopes"), MISSING_SCOPES.values(), ids=MISSING_SCOPES.keys()
)
def test_a_token_without_a_scope_the_endpoint_needs_is_403(emulator, method, path, scopes):
    answer = call(emulator, method, path, token_for(emulator, scopes), {"text": "no"})
    assert (answer.status, body(answer)) == (403, FORBIDDEN)
    assert emulator.tweets == {}


def test_an_unknown_token_is_401(emulator):
    answer = call(emulator, "GET", "/2/users/me", "never-issued")
    assert (answer.status, body(answer)) == (401, UNAUTHORIZED)


def test_an_access_token_expires_after_two_hours_and_the_meeting_is_counted(emulator, clock):
    alice = emulator.user_by_screen_name("alice")
    token = token_for(emulator, READING)
    clock.advance(7199)
    assert call(emulator, "GET", "/2/users/me", token).status == 200
    assert emulator.expired_token_requests == {}
    clock.advance(1)
    answer = call(emulator, "GET", "/2/users/me", token)
    assert (answer.status, body(answer)) == (401, UNAUTHORIZED)
    call(emulator, "GET", "/2/users/me", token)
    assert emulator.expired_token_requests == {alice.id: 2}


def test_a_token_can_be_issued_shorter_lived(emulator, clock):
    token = token_for(emulator, READING, expires_in=60)
    clock.advance(60)
    assert call(emulator, "GET", "/2/users/me", token).status == 401


def test_expire_oauth2_tokens_expires_access_tokens_but_not_refresh_tokens(emulator):
    bob = emulator.user_by_screen_name("bob")
    access, refresh = emulator.issue_oauth2_token(CLIENT_ID, bob, [*READING, "offline.access"])
    emulator.expire_oauth2_tokens()
    assert call(emulator, "GET", "/2/users/me", access).status == 401
    assert emulator.expired_token_requests == {bob.id: 1}
    assert emulator.refresh_oauth2(CLIENT_ID, refresh)["access_token"]
    assert emulator.refreshes_by_user == {bob.id: 1}


def test_a_revoked_access_token_is_401(emulator):
    token = token_for(emulator, READING)
    emulator.revoke_oauth2(CLIENT_ID, token)
    assert body(call(emulator, "GET", "/2/users/me", token)) == UNAUTHORIZED
    assert emulator.expired_token_requests == {}


def test_confirmed_email_is_given_only_to_a_token_granted_users_email(emulator):
    with_email = token_for(emulator, [*READING, "users.email"])
    without = token_for(emulator, READING)
    path = "/2/users/me?user.fields=confirmed_email"
    assert (
        body(call(emulator, "GET", path, with_email))["data"]["confirmed_email"]
        == "alice@example.com"
    )
    assert "confirmed_email" not in body(call(emulator, "GET", path, without))["data"]


def test_a_person_has_an_email_address(emulator):
    assert emulator.user_by_screen_name("bob").email == "bob@example.com"
    assert emulator.add_user("Dora").email == "dora@example.com"


def test_oauth1_keeps_working_beside_oauth2_and_gets_no_email(x_emulator):
    api = api_session(x_emulator.state)
    response = api.get(
        f"{x_emulator.url}/2/users/me", params={"user.fields": "confirmed_email"}, timeout=5
    )
    assert response.status_code == 200
    assert "confirmed_email" not in response.json()["data"]


def test_oauth2_is_refused_where_x_takes_only_oauth1(emulator):
    token = token_for(emulator, ALL_SCOPES.split())
    v1 = emulator.handle("GET", f"{X_API}/1.1/account/verify_credentials.json", bearer(token), b"")
    assert (v1.status, body(v1)["errors"][0]["code"]) == (403, 220)
    invalidate = emulator.handle("POST", f"{X_API}/1.1/oauth/invalidate_token", bearer(token), b"")
    assert invalidate.status == 403
    assert call(emulator, "GET", "/2/users/me", token).status == 200


def test_every_oauth2_request_is_logged_with_its_client_and_token(emulator):
    token = token_for(emulator, READING)
    call(emulator, "GET", "/2/users/me", token)
    emulator.handle("GET", oauth2_authorize_url(), {}, b"")
    logged = [(r.method, r.path, r.consumer_key, r.token, r.status) for r in emulator.requests]
    assert logged == [
        ("GET", "/2/users/me", CLIENT_ID, token, 200),
        ("GET", "/i/oauth2/authorize", CLIENT_ID, None, 200),
    ]
    assert emulator.count("/2/users/me", "GET") == 1


# --- over loopback --------------------------------------------------------------------------------


def test_the_dance_over_loopback_signs_in_posts_and_revokes(x_emulator):
    url = x_emulator.url
    with requests.Session() as browser:
        answer = click(browser, oauth2_authorize_url(url), screen_name="carol")
    assert answer.status_code == 302
    callback = query_of(answer.headers["Location"])
    assert callback["state"] == "a-state"
    auth = (CLIENT_ID, CLIENT_SECRET)
    exchanged = requests.post(
        f"{url}/2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": VERIFIER,
        },
        auth=auth,
        timeout=5,
    )
    assert exchanged.status_code == 200, exchanged.text
    token = exchanged.json()
    headers = bearer(token["access_token"])
    me = requests.get(
        f"{url}/2/users/me", params={"user.fields": "confirmed_email"}, headers=headers, timeout=5
    )
    assert me.json()["data"]["confirmed_email"] == "carol@example.com"
    posted = requests.post(f"{url}/2/tweets", json={"text": "hello"}, headers=headers, timeout=5)
    assert posted.status_code == 201
    revoked = requests.post(
        f"{url}/2/oauth2/revoke", data={"token": token["access_token"]}, auth=auth, timeout=5
    )
    assert revoked.json() == {"revoked": True}
    assert requests.get(f"{url}/2/users/me", headers=headers, timeout=5).status_code == 401
    assert x_emulator.state.count("/2/oauth2/token", "POST") == 1


def test_a_browser_that_cancels_returns_with_access_denied(x_emulator):
    with requests.Session() as browser:
        answer = click(browser, oauth2_authorize_url(x_emulator.url), button="Cancel")
    assert query_of(answer.headers["Location"]) == {"error": "access_denied", "state": "a-state"}


# --- X's own SDK ----------------------------------------------------------------------------------


@pytest.fixture
def xdk_auth(x_emulator, monkeypatch):
    """xdk's OAuth 2.0 PKCE helper pointed at the emulator (plain HTTP allowed on loopback)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    return OAuth2PKCEAuth(
        base_url=x_emulator.url,
        authorization_base_url=f"{x_emulator.url}/i",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        scope=ALL_SCOPES.split(),
    )


def test_xdk_gets_a_token_refreshes_it_and_is_refused_the_old_refresh_token(x_emulator, xdk_auth):
    with requests.Session() as browser:
        answer = click(browser, xdk_auth.get_authorization_url(state="xdk-state"))
    callback = answer.headers["Location"]
    assert query_of(callback)["state"] == "xdk-state"

    first = xdk_auth.fetch_token(callback)
    assert first["expires_in"] == 7200 and first["refresh_token"]
    headers = bearer(xdk_auth.access_token)
    assert (
        requests.get(f"{x_emulator.url}/2/users/me", headers=headers, timeout=5).status_code == 200
    )

    second = xdk_auth.refresh_token()
    assert second["refresh_token"] != first["refresh_token"]
    headers = bearer(xdk_auth.access_token)
    assert (
        requests.get(f"{x_emulator.url}/2/users/me", headers=headers, timeout=5).status_code == 200
    )

    stale = OAuth2PKCEAuth(
        base_url=x_emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        token=first,
    )
    with pytest.raises(OAuth2Error, match="Value passed for the token was invalid") as refused:
        stale.refresh_token()
    assert refused.value.error == "invalid_request"
    state = x_emulator.state
    assert state.refresh_token_presented_twice
    assert state.refresh_presentations[first["refresh_token"]] == 2
    assert state.refreshes_by_user == {state.user_by_screen_name("alice").id: 1}


def test_xdk_as_a_public_client_exchanges_the_code_with_client_id(x_emulator, xdk_auth):
    xdk_auth.client_id, xdk_auth.client_secret = PUBLIC_CLIENT_ID, None
    with requests.Session() as browser:
        answer = click(browser, xdk_auth.get_authorization_url(state="s"))
    token = xdk_auth.fetch_token(answer.headers["Location"])
    assert token["access_token"]
    assert x_emulator.state.requests[-1].consumer_key == PUBLIC_CLIENT_ID


def test_two_refreshes_of_one_refresh_token_at_once_get_one_new_token(x_emulator):
    state = x_emulator.state
    alice = state.user_by_screen_name("alice")
    _, refresh = state.issue_oauth2_token(CLIENT_ID, alice, [*READING, "offline.access"])
    statuses, barrier = [], threading.Barrier(2)

    def worker():
        barrier.wait(timeout=5)
        answer = requests.post(
            f"{x_emulator.url}/2/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=5,
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses) == [200, 400]
    assert state.refreshes_by_user == {alice.id: 1}
    assert state.refresh_token_presented_twice


def test_a_fault_at_the_token_endpoint_answers_before_the_client_is_judged(x_emulator):
    x_emulator.state.inject("/2/oauth2/token", status=503)
    answer = requests.post(
        f"{x_emulator.url}/2/oauth2/token", data={"grant_type": "refresh_token"}, timeout=5
    )
    assert answer.status_code == 503
    assert x_emulator.state.requests[-1].fault


GARBAGE = {
    "a Basic header that is not base64": ({"Authorization": "Basic !!!"}, b"grant_type=x"),
    "a Basic header without a colon": ({"Authorization": "Basic Y2xpZW50"}, b"grant_type=x"),
    "a body that is not UTF-8": ({}, b"grant_type=\xff\xfe&code=\x80"),
    "a body of bad percent-encoding": ({}, b"grant_type=%zz&client_id=%"),
    "an oversized code": (
        {},
        b"grant_type=authorization_code&client_id=test-public-client-id&code_verifier="
        + b"v" * 50
        + b"&code="
        + b"c" * 100_000,
    ),
}


@pytest.mark.parametrize(("headers", "sent"), GARBAGE.values(), ids=GARBAGE.keys())
@pytest.mark.parametrize("path", ["/2/oauth2/token", "/2/oauth2/revoke"])
def test_garbage_at_the_token_and_revoke_endpoints_is_a_4xx(emulator, headers, sent, path):
    answer = emulator.handle(
        "POST",
        f"{X_API}{path}",
        {"Content-Type": "application/x-www-form-urlencoded", **headers},
        sent,
    )
    assert 400 <= answer.status < 500
    assert body(answer)["error"] in {"invalid_request", "unauthorized_client"}


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "bearer x y", "Bearer \u00e9"])
def test_an_unusable_bearer_header_is_401(emulator, header):
    answer = emulator.handle("GET", f"{X_API}/2/users/me", {"Authorization": header}, b"")
    assert (answer.status, body(answer)) == (401, UNAUTHORIZED)


def test_garbage_on_the_authorize_page_is_the_error_page(emulator):
    page = emulator.handle("GET", f"{X_API}/i/oauth2/authorize?client_id=%ff%fe&scope=%", {}, b"")
    assert page.status == 400 and "Something went wrong" in page.text
    answer = emulator.handle(
        "POST", f"{X_API}/i/oauth2/authorize", {"Content-Type": "text/plain"}, b"\xff" * 10
    )
    assert answer.status == 400 and "Something went wrong" in answer.text
