"""``oauth/request_token`` and ``oauth/access_token`` over loopback: what they answer and refuse.

Requests are signed by requests-oauthlib, as the app under test signs them.
"""

from __future__ import annotations

import pytest
import requests
from requests_oauthlib import OAuth1

from tests.emulator.helpers import (
    CODE_32,
    CODE_89,
    CODE_89_V2,
    CODE_215,
    KEY,
    SECRET,
    VERIFIER_ERROR,
    Clock,
    ClockedOAuth1,
    api_session,
    body,
    exchange,
    fetch_request_token,
)
from twitter_oauth.testing import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, EmulatorServer, XEmulator


def request_token_answer(url, auth, **kwargs):
    return requests.post(f"{url}/oauth/request_token", auth=auth, timeout=5, **kwargs)


def authorized(x_emulator, screen_name="bob", callback="http://client.example/callback"):
    """A request token the person has authorized at X, and its verifier."""
    token = fetch_request_token(x_emulator.url, callback)
    person = x_emulator.state.user_by_screen_name(screen_name)
    return token, x_emulator.state.authorize(token["oauth_token"], person)


# --- request tokens -----------------------------------------------------------------------------


def test_a_request_token_is_answered_as_x_answers_it(x_emulator):
    response = request_token_answer(x_emulator.url, OAuth1(KEY, SECRET, callback_uri="oob"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.text.endswith("&oauth_callback_confirmed=true")
    token = dict(pair.split("=") for pair in response.text.split("&"))
    assert (
        x_emulator.state.request_tokens[token["oauth_token"]].secret == token["oauth_token_secret"]
    )


def test_the_access_type_asked_for_is_kept_with_the_request_token(x_emulator):
    token = fetch_request_token(x_emulator.url, params={"x_auth_access_type": "read"})
    assert x_emulator.state.request_tokens[token["oauth_token"]].access_type == "read"


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (OAuth1(KEY, "wrong", callback_uri="oob"), (401, CODE_32)),
        (OAuth1("nobody", "secret", callback_uri="oob"), (401, CODE_32)),
        (OAuth1(KEY, SECRET), (400, CODE_215)),
    ],
    ids=["wrong consumer secret", "unknown consumer", "missing oauth_callback"],
)
def test_request_token_refusals(x_emulator, auth, expected):
    response = request_token_answer(x_emulator.url, auth)
    assert (response.status_code, response.json()) == expected


def test_an_unapproved_callback_is_refused_with_xml_code_415():
    emulator = XEmulator(callback_urls=["https://registered.example/"])
    with EmulatorServer(emulator) as server:
        refused = request_token_answer(
            server.url, OAuth1(KEY, SECRET, callback_uri="https://other.example/cb")
        )
        approved = request_token_answer(
            server.url, OAuth1(KEY, SECRET, callback_uri="https://registered.example/cb?next=/")
        )
        pin = request_token_answer(server.url, OAuth1(KEY, SECRET, callback_uri="oob"))
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert refused.text == (
        '<?xml version="1.0" encoding="UTF-8"?><errors><error code="415">Callback URL not '
        "approved for this client application. Approved callback URLs can be adjusted in your "
        "application settings</error></errors>"
    )
    assert (approved.status_code, pin.status_code) == (200, 200)


def test_an_unapproved_callback_with_a_bad_signature_is_refused_for_the_signature():
    emulator = XEmulator(callback_urls=["https://registered.example/"])
    with EmulatorServer(emulator) as server:
        response = request_token_answer(
            server.url, OAuth1(KEY, "wrong", callback_uri="https://other.example/cb")
        )
    assert (response.status_code, response.json()) == (401, CODE_32)


def test_the_callback_may_travel_in_the_query_beside_a_signed_header(x_emulator):
    response = request_token_answer(
        x_emulator.url, OAuth1(KEY, SECRET), params={"oauth_callback": "oob"}
    )
    assert response.status_code == 200, response.text
    token = dict(pair.split("=") for pair in response.text.split("&"))
    assert x_emulator.state.request_tokens[token["oauth_token"]].callback == "oob"


# --- access tokens ------------------------------------------------------------------------------


def test_an_access_token_names_the_user(x_emulator):
    token, verifier = authorized(x_emulator, "bob")
    response = exchange(x_emulator.url, token, verifier=verifier)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    answer = dict(pair.split("=") for pair in response.text.split("&"))
    bob = x_emulator.state.user_by_screen_name("bob")
    assert answer["user_id"] == bob.id and answer["screen_name"] == "bob"
    assert answer["oauth_token"].startswith(f"{bob.id}-")
    assert len(answer["oauth_token"]) == len(bob.id) + 1 + 40
    assert len(answer["oauth_token_secret"]) == 45


def test_a_request_token_is_used_once(x_emulator):
    token, verifier = authorized(x_emulator)
    assert exchange(x_emulator.url, token, verifier=verifier).status_code == 200
    second = exchange(x_emulator.url, token, verifier=verifier)
    assert (second.status_code, second.json()) == (401, CODE_89)


def test_a_verifier_from_another_token_is_refused(x_emulator):
    mine, _ = authorized(x_emulator)
    _, theirs = authorized(x_emulator)
    response = exchange(x_emulator.url, mine, verifier=theirs)
    assert (response.status_code, response.text) == (401, VERIFIER_ERROR)
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_a_wrong_verifier_does_not_use_up_the_request_token(x_emulator):
    token, verifier = authorized(x_emulator)
    assert exchange(x_emulator.url, token, verifier="1234567").status_code == 401
    assert exchange(x_emulator.url, token, verifier=verifier).status_code == 200


def test_a_request_token_never_authorized_is_refused(x_emulator):
    token = fetch_request_token(x_emulator.url)
    response = exchange(x_emulator.url, token, verifier="1234567")
    assert (response.status_code, response.json()) == (401, CODE_89)


def test_a_denied_request_token_is_refused(x_emulator):
    token, verifier = authorized(x_emulator)
    x_emulator.state.deny(token["oauth_token"])
    response = exchange(x_emulator.url, token, verifier=verifier)
    assert (response.status_code, response.json()) == (401, CODE_89)


def test_an_unknown_request_token_is_refused(x_emulator):
    token = {"oauth_token": "made-up", "oauth_token_secret": "made-up"}
    response = exchange(x_emulator.url, token, verifier="1234567")
    assert (response.status_code, response.json()) == (401, CODE_89)


def test_a_request_token_expires_after_fifteen_minutes():
    clock = Clock()
    emulator = XEmulator(clock=clock)
    with EmulatorServer(emulator) as server:
        auth = ClockedOAuth1(clock, KEY, SECRET, callback_uri="oob")
        answer = requests.post(f"{server.url}/oauth/request_token", auth=auth, timeout=5)
        token = dict(pair.split("=") for pair in answer.text.split("&"))
        verifier = emulator.authorize(token["oauth_token"], emulator.user_by_screen_name("bob"))
        clock.advance(15 * 60 + 1)
        auth = ClockedOAuth1(
            clock, KEY, SECRET, token["oauth_token"], token["oauth_token_secret"], verifier=verifier
        )
        response = requests.post(f"{server.url}/oauth/access_token", auth=auth, timeout=5)
    assert (response.status_code, response.json()) == (401, CODE_89)


def test_a_request_token_of_another_app_is_refused(x_emulator):
    token, verifier = authorized(x_emulator)
    response = exchange(
        x_emulator.url, token, verifier=verifier, key=DEMO_CONSUMER_KEY, secret=DEMO_CONSUMER_SECRET
    )
    assert (response.status_code, response.json()) == (401, CODE_89)


def test_a_wrong_token_secret_is_refused(x_emulator):
    token, verifier = authorized(x_emulator)
    response = exchange(x_emulator.url, token, verifier=verifier, token_secret="wrong")
    assert (response.status_code, response.json()) == (401, CODE_32)


def test_a_wrong_consumer_secret_is_refused_at_the_access_token_step(x_emulator):
    token, verifier = authorized(x_emulator)
    response = exchange(x_emulator.url, token, verifier=verifier, secret="wrong")
    assert (response.status_code, response.json()) == (401, CODE_32)


def test_a_missing_verifier_is_bad_authentication_data(x_emulator):
    token, _ = authorized(x_emulator)
    response = exchange(x_emulator.url, token)
    assert (response.status_code, response.json()) == (400, CODE_215)


def test_authorizing_a_dead_request_token_raises(x_emulator):
    token, _ = authorized(x_emulator)
    x_emulator.state.deny(token["oauth_token"])
    with pytest.raises(KeyError):
        x_emulator.state.authorize(
            token["oauth_token"], x_emulator.state.user_by_screen_name("bob")
        )


# --- access tokens in use -----------------------------------------------------------------------


def test_the_same_user_and_app_get_the_same_access_token_until_revoked(x_emulator):
    first_token, first_verifier = authorized(x_emulator, "carol")
    first = exchange(x_emulator.url, first_token, verifier=first_verifier).text
    again_token, again_verifier = authorized(x_emulator, "carol")
    assert exchange(x_emulator.url, again_token, verifier=again_verifier).text == first
    access = dict(pair.split("=") for pair in first.split("&"))["oauth_token"]
    x_emulator.state.revoke(access)
    after_token, after_verifier = authorized(x_emulator, "carol")
    assert exchange(x_emulator.url, after_token, verifier=after_verifier).text != first


def test_access_tokens_are_per_app(x_emulator):
    carol = x_emulator.state.user_by_screen_name("carol")
    mine = x_emulator.state.issue_access_token(KEY, carol)
    assert x_emulator.state.issue_access_token(DEMO_CONSUMER_KEY, carol) != mine


def test_a_revoked_token_is_refused_everywhere(x_emulator):
    api = api_session(x_emulator.state, "alice")
    x_emulator.state.revoke(api.auth.client.resource_owner_key)
    v1 = api.get(f"{x_emulator.url}/1.1/account/verify_credentials.json", timeout=5)
    v2 = api.get(f"{x_emulator.url}/2/users/me", timeout=5)
    post = api.post(f"{x_emulator.url}/2/tweets", json={"text": "after revocation"}, timeout=5)
    assert (v1.status_code, v1.json()) == (401, CODE_89)
    assert (v2.status_code, v2.json()) == (401, CODE_89_V2)
    assert (post.status_code, post.json()) == (401, CODE_89_V2)
    assert not x_emulator.state.tweets


def test_invalidate_token_revokes_the_token_that_signed_it(x_emulator):
    api = api_session(x_emulator.state, "carol")
    token = api.auth.client.resource_owner_key
    answer = api.post(f"{x_emulator.url}/1.1/oauth/invalidate_token", timeout=5)
    assert (answer.status_code, answer.json()) == (200, {"access_token": token})
    again = api.post(f"{x_emulator.url}/1.1/oauth/invalidate_token", timeout=5)
    assert (again.status_code, body(again)) == (401, CODE_89)
    assert x_emulator.state.access_tokens[token].revoked
