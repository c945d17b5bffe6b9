"""OAuth 2.0 with PKCE: the token endpoint (code exchange, refresh) and revoke, as X answers them."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.emulator.helpers import (
    CLIENT_ID,
    FORM,
    PUBLIC_CLIENT_ID,
    REDIRECT_URI,
    SIGN_IN_SCOPES,
    VERIFIER,
    X_API,
    Clock,
    basic,
    bearer,
    body,
    oauth2_authorize_url,
    query_of,
)
from twitter_oauth.testing import XEmulator
from twitter_oauth.testing.oauth2 import s256

TOKEN_URL = f"{X_API}/2/oauth2/token"
REVOKE_URL = f"{X_API}/2/oauth2/revoke"
UNAUTHORIZED_CLIENT = {
    "error": "unauthorized_client",
    "error_description": "Missing valid authorization header",
}
CODE_INVALID = {
    "error": "invalid_request",
    "error_description": "Value passed for the authorization code was invalid.",
}
TOKEN_INVALID = {
    "error": "invalid_request",
    "error_description": "Value passed for the token was invalid.",
}


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def emulator(clock):
    return XEmulator(clock=clock)


def post(emulator, url, params, headers=None):
    return emulator.handle(
        "POST", url, headers if headers is not None else basic(), urlencode(params).encode()
    )


def code_for(emulator, screen_name="alice", **changes):
    user = emulator.user_by_screen_name(screen_name)
    return query_of(emulator.authorize_oauth2(oauth2_authorize_url(**changes), user))["code"]


def exchange(emulator, code, headers=None, **changes):
    params = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
        **changes,
    }
    return post(emulator, TOKEN_URL, params, headers)


def refresh(emulator, refresh_token, headers=None):
    return post(
        emulator,
        TOKEN_URL,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers,
    )


def me(emulator, access_token):
    return emulator.handle("GET", f"{X_API}/2/users/me", bearer(access_token), b"")


# --- exchanging the code --------------------------------------------------------------------------


def test_a_confidential_client_exchanges_the_code_with_basic_authentication(emulator):
    answer = exchange(emulator, code_for(emulator))
    assert answer.status == 200
    token = body(answer)
    assert set(token) == {"token_type", "expires_in", "access_token", "scope", "refresh_token"}
    assert (token["token_type"], token["expires_in"]) == ("bearer", 7200)
    assert token["scope"] == "offline.access tweet.read tweet.write users.email users.read"
    assert answer.headers["Cache-Control"] == "no-store"
    assert body(me(emulator, token["access_token"]))["data"]["username"] == "alice"


def test_there_is_no_refresh_token_without_offline_access(emulator):
    token = body(exchange(emulator, code_for(emulator, scope=SIGN_IN_SCOPES)))
    assert "refresh_token" not in token
    assert token["scope"] == "tweet.read users.read"


def test_a_public_client_names_itself_in_the_body(emulator):
    code = code_for(emulator, client_id=PUBLIC_CLIENT_ID)
    answer = exchange(emulator, code, FORM, client_id=PUBLIC_CLIENT_ID)
    assert answer.status == 200, answer.text
    assert emulator.requests[-1].consumer_key == PUBLIC_CLIENT_ID


CLIENT_REFUSALS = {
    "a confidential client sending only client_id": (FORM, {"client_id": CLIENT_ID}),
    "a wrong secret": (basic(CLIENT_ID, "wrong"), {}),
    "an unknown client": (basic("nobody", "secret"), {}),
    "no client authentication": (FORM, {}),
    "Basic naming another client than the body": (basic(), {"client_id": PUBLIC_CLIENT_ID}),
    "a public client using Basic without a secret": (basic(PUBLIC_CLIENT_ID, ""), {}),
}


@pytest.mark.parametrize(("headers", "extra"), CLIENT_REFUSALS.values(), ids=CLIENT_REFUSALS.keys())
def test_a_client_that_does_not_authenticate_as_registered_is_401(emulator, headers, extra):
    code = code_for(emulator)
    answer = exchange(emulator, code, headers, **extra)
    assert (answer.status, body(answer)) == (401, UNAUTHORIZED_CLIENT)
    assert exchange(emulator, code).status == 200  # the code was not spent


def test_a_code_is_one_shot_and_its_second_use_revokes_what_it_gave(emulator):
    code = code_for(emulator)
    token = body(exchange(emulator, code))
    second = exchange(emulator, code)
    assert (second.status, body(second)) == (400, CODE_INVALID)
    assert me(emulator, token["access_token"]).status == 401
    assert refresh(emulator, token["refresh_token"]).status == 400


def test_a_code_lives_30_seconds(emulator, clock):
    on_time, late = code_for(emulator), code_for(emulator)
    clock.advance(30)
    assert exchange(emulator, on_time).status == 200
    clock.advance(1)
    answer = exchange(emulator, late)
    assert (answer.status, body(answer)) == (400, CODE_INVALID)


def test_a_code_is_refused_with_another_redirect_uri(emulator):
    answer = exchange(emulator, code_for(emulator), redirect_uri="http://client.example/other")
    assert answer.status == 400
    assert body(answer)["error"] == "invalid_request"


def test_a_code_is_refused_to_another_client(emulator):
    code = code_for(emulator)
    answer = exchange(emulator, code, basic("demo-client-id", "demo-client-secret"))
    assert (answer.status, body(answer)) == (400, CODE_INVALID)


def test_an_unknown_code_is_refused(emulator):
    assert body(exchange(emulator, "no-such-code")) == CODE_INVALID


@pytest.mark.parametrize(
    "verifier",
    ["b" * 50, VERIFIER[:-1], "", "x" * 42, s256(VERIFIER)],
    ids=["another verifier", "one character short", "none", "too short", "the challenge itself"],
)
def test_a_code_verifier_that_does_not_hash_to_the_challenge_is_refused(emulator, verifier):
    answer = exchange(emulator, code_for(emulator), code_verifier=verifier)
    assert answer.status == 400
    assert body(answer)["error"] == "invalid_request"
    assert "verifier" in body(answer)["error_description"]


def test_a_body_that_is_not_a_form_is_400(emulator):
    headers = {**basic(), "Content-Type": "application/json"}
    answer = emulator.handle("POST", TOKEN_URL, headers, b'{"grant_type": "authorization_code"}')
    assert answer.status == 400 and body(answer)["error"] == "invalid_request"


def test_an_unknown_grant_type_is_400(emulator):
    answer = post(emulator, TOKEN_URL, {"grant_type": "client_credentials"})
    assert answer.status == 400 and body(answer)["error"] == "invalid_request"


# --- refreshing -----------------------------------------------------------------------------------


def test_a_refresh_rotates_both_tokens_and_the_old_refresh_token_stops_working(emulator):
    first = body(exchange(emulator, code_for(emulator)))
    answer = refresh(emulator, first["refresh_token"])
    assert answer.status == 200
    second = body(answer)
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert (second["scope"], second["expires_in"]) == (first["scope"], 7200)
    assert me(emulator, second["access_token"]).status == 200
    reused = refresh(emulator, first["refresh_token"])
    assert (reused.status, body(reused)) == (400, TOKEN_INVALID)
    assert refresh(emulator, second["refresh_token"]).status == 200


def test_the_counters_show_refreshes_and_a_refresh_token_presented_twice(emulator):
    alice = emulator.user_by_screen_name("alice")
    first = body(exchange(emulator, code_for(emulator)))
    second = body(refresh(emulator, first["refresh_token"]))
    assert not emulator.refresh_token_presented_twice
    refresh(emulator, first["refresh_token"])
    assert emulator.refresh_token_presented_twice
    assert emulator.refresh_presentations == {first["refresh_token"]: 2}
    assert emulator.refreshes_by_user == {alice.id: 1}
    assert emulator.requests[-1].token == first["refresh_token"]
    assert second["refresh_token"] not in emulator.refresh_presentations


def test_a_refresh_token_unused_for_180_days_expires(emulator, clock):
    alice = emulator.user_by_screen_name("alice")
    _, kept = emulator.issue_oauth2_token(
        CLIENT_ID, alice, ["tweet.read", "users.read", "offline.access"]
    )
    _, forgotten = emulator.issue_oauth2_token(
        CLIENT_ID, alice, ["tweet.read", "users.read", "offline.access"]
    )
    clock.advance(179 * 24 * 3600)
    kept = body(refresh(emulator, kept))["refresh_token"]
    clock.advance(2 * 24 * 3600)
    assert refresh(emulator, kept).status == 200
    assert (refresh(emulator, forgotten).status, body(refresh(emulator, forgotten))) == (
        400,
        TOKEN_INVALID,
    )


def test_a_refresh_token_is_refused_to_another_client(emulator):
    token = body(exchange(emulator, code_for(emulator)))
    answer = refresh(
        emulator, token["refresh_token"], basic("demo-client-id", "demo-client-secret")
    )
    assert (answer.status, body(answer)) == (400, TOKEN_INVALID)


def test_an_access_token_is_no_refresh_token(emulator):
    token = body(exchange(emulator, code_for(emulator)))
    assert body(refresh(emulator, token["access_token"])) == TOKEN_INVALID


def test_a_public_client_refreshes_with_client_id_in_the_body(emulator):
    code = code_for(emulator, client_id=PUBLIC_CLIENT_ID)
    token = body(exchange(emulator, code, FORM, client_id=PUBLIC_CLIENT_ID))
    params = {
        "grant_type": "refresh_token",
        "refresh_token": token["refresh_token"],
        "client_id": PUBLIC_CLIENT_ID,
    }
    assert post(emulator, TOKEN_URL, params, FORM).status == 200


# --- revoking -------------------------------------------------------------------------------------


def revoke(emulator, token, hint=None, headers=None):
    params = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return post(emulator, REVOKE_URL, params, headers)


def test_revoking_an_access_token_makes_the_api_refuse_it(emulator):
    token = body(exchange(emulator, code_for(emulator)))
    answer = revoke(emulator, token["access_token"], "access_token")
    assert (answer.status, body(answer)) == (200, {"revoked": True})
    assert me(emulator, token["access_token"]).status == 401
    assert refresh(emulator, token["refresh_token"]).status == 200


def test_revoking_a_refresh_token_revokes_its_grant(emulator):
    token = body(exchange(emulator, code_for(emulator)))
    assert body(revoke(emulator, token["refresh_token"], "refresh_token")) == {"revoked": True}
    assert body(refresh(emulator, token["refresh_token"])) == TOKEN_INVALID
    assert me(emulator, token["access_token"]).status == 401


def test_revoking_needs_client_authentication(emulator):
    token = body(exchange(emulator, code_for(emulator)))
    answer = revoke(emulator, token["access_token"], headers=FORM)
    assert (answer.status, body(answer)) == (401, UNAUTHORIZED_CLIENT)
    assert me(emulator, token["access_token"]).status == 200


def test_another_clients_token_is_not_revoked(emulator):
    token = body(exchange(emulator, code_for(emulator)))
    answer = revoke(
        emulator, token["access_token"], headers=basic("demo-client-id", "demo-client-secret")
    )
    assert body(answer) == {"revoked": True}
    assert me(emulator, token["access_token"]).status == 200


def test_an_unknown_token_is_revoked_all_the_same(emulator):
    assert body(revoke(emulator, "never-issued")) == {"revoked": True}


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "token"), ({"token": "t", "token_type_hint": "id_token"}, "token_type_hint")],
)
def test_a_revoke_without_a_usable_token_parameter_is_400(emulator, params, field):
    answer = post(emulator, REVOKE_URL, params)
    assert answer.status == 400 and field in body(answer)["error_description"]


def test_reset_forgets_codes_tokens_and_counters_but_keeps_clients(emulator):
    token = body(exchange(emulator, code_for(emulator)))
    refresh(emulator, token["refresh_token"])
    emulator.reset()
    assert (emulator.oauth2_codes, emulator.oauth2_tokens, emulator.refresh_presentations) == (
        {},
        {},
        {},
    )
    assert me(emulator, token["access_token"]).status == 401
    assert exchange(emulator, code_for(emulator)).status == 200
