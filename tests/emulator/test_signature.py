"""Signature verification through ``XEmulator.handle``, on X's own published example.

No sockets here: the request is given as signed for ``https://api.x.com``, with the
emulator's clock fixed at the example's timestamp.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from oauthlib.oauth1 import Client

from tests.emulator.helpers import (
    CODE_32,
    CODE_89,
    CODE_135,
    CODE_215,
    FORM,
    X_BODY,
    X_CONSUMER,
    X_NONCE,
    X_SIGNATURE,
    X_TIMESTAMP,
    X_TOKEN,
    X_URL,
    Clock,
    body,
    x_authorization,
)
from twitter_oauth.testing import XEmulator
from twitter_oauth.testing.limits import NonceMemory

RETIRED_453 = {
    "errors": [
        {
            "message": "You currently have access to a subset of X API V2 endpoints and limited "
            "v1.1 endpoints (e.g. media post, oauth) only. If you need access to this endpoint, "
            "you may need a different access level.",
            "code": 453,
        }
    ]
}


@pytest.fixture
def clock():
    return Clock(X_TIMESTAMP)


@pytest.fixture
def emulator(clock):
    """Knows X's example app and token, for a user with the example's id."""
    emulator = XEmulator(dict([X_CONSUMER]), clock=clock)
    user = emulator.add_user("twitterapi", user_id="370773112")
    emulator.add_access_token(X_CONSUMER[0], *X_TOKEN, user)
    return emulator


def send(emulator, *, body_text=X_BODY, url=X_URL, headers=None, **oauth):
    headers = headers or {**FORM, "Authorization": x_authorization(**oauth)}
    return emulator.handle("POST", url, headers, body_text.encode())


def signer(**kwargs) -> Client:
    values = {
        "client_secret": X_CONSUMER[1],
        "resource_owner_key": X_TOKEN[0],
        "resource_owner_secret": X_TOKEN[1],
        "timestamp": str(X_TIMESTAMP),
        **kwargs,
    }
    return Client(X_CONSUMER[0], **values)


def test_oauthlib_signs_x_published_example_as_x_does():
    """The signer the app uses (through requests-oauthlib) gives X's published signature."""
    _, headers, _ = signer(nonce=X_NONCE).sign(X_URL, "POST", X_BODY, FORM)
    assert f'oauth_signature="{quote(X_SIGNATURE, safe="")}"' in headers["Authorization"]


def test_x_published_example_verifies_and_meets_the_retired_endpoint(emulator):
    response = send(emulator)
    assert (response.status, body(response)) == (403, RETIRED_453)
    assert emulator.requests[-1].consumer_key == X_CONSUMER[0]
    assert emulator.requests[-1].token == X_TOKEN[0]


def test_x_published_example_with_another_signature_is_refused(emulator):
    response = send(emulator, oauth_signature="Ls93hJiZbQ3akF3HF3x1Bz8/zU5=")
    assert (response.status, body(response)) == (401, CODE_32)


def test_a_parameter_changed_after_signing_is_refused(emulator):
    response = send(emulator, body_text=X_BODY.replace("Ladies", "Lords"))
    assert (response.status, body(response)) == (401, CODE_32)


def test_a_query_parameter_changed_after_signing_is_refused(emulator):
    response = send(emulator, url=X_URL.replace("true", "false"))
    assert (response.status, body(response)) == (401, CODE_32)


def test_a_reused_nonce_is_refused(emulator):
    assert send(emulator).status == 403
    response = send(emulator)
    assert (response.status, body(response)) == (401, CODE_32)


def test_a_nonce_is_remembered_per_app():
    memory = NonceMemory()
    assert memory.first_use("app", 100, "n", now=100, tolerance=300)
    assert memory.first_use("other app", 100, "n", now=100, tolerance=300)
    assert not memory.first_use("app", 100, "n", now=100, tolerance=300)
    assert memory.first_use("app", 101, "n", now=100, tolerance=300)


def test_nonces_are_forgotten_once_their_timestamp_is_out_of_bounds():
    memory = NonceMemory()
    for n in range(150):
        memory.first_use("app", 1000 + n, f"n{n}", now=1000 + n, tolerance=300)
    assert len(memory) == 150
    memory.first_use("app", 1400, "late", now=1400, tolerance=300)
    assert len(memory) == 50 + 1  # those stamped 1100 to 1149, and the new one


@pytest.mark.parametrize("offset", [-600, 600], ids=["ten minutes old", "ten minutes ahead"])
def test_a_timestamp_ten_minutes_off_is_refused(emulator, clock, offset):
    clock.advance(-offset)
    response = send(emulator)
    assert (response.status, body(response)) == (401, CODE_135)


def test_a_timestamp_within_five_minutes_is_accepted(emulator, clock):
    clock.advance(300)
    assert send(emulator).status == 403


def test_the_tolerance_is_a_setting(emulator, clock):
    emulator.timestamp_tolerance = 30
    clock.advance(31)
    assert (send(emulator).status, body(send(emulator))) == (401, CODE_135)


def test_a_wrong_consumer_secret_is_refused(emulator):
    emulator.consumers[X_CONSUMER[0]] = "another-secret"
    response = send(emulator)
    assert (response.status, body(response)) == (401, CODE_32)


def test_a_wrong_token_secret_is_refused(emulator):
    user = emulator.user_by_screen_name("twitterapi")
    emulator.add_access_token(X_CONSUMER[0], X_TOKEN[0], "another-secret", user)
    response = send(emulator)
    assert (response.status, body(response)) == (401, CODE_32)


def test_an_unknown_consumer_is_refused(emulator):
    del emulator.consumers[X_CONSUMER[0]]
    response = send(emulator)
    assert (response.status, body(response)) == (401, CODE_32)


def test_a_revoked_token_is_refused_with_code_89(emulator):
    emulator.revoke(X_TOKEN[0])
    response = send(emulator)
    assert (response.status, body(response)) == (401, CODE_89)


def test_a_token_of_another_app_is_refused_with_code_89(emulator):
    user = emulator.user_by_screen_name("twitterapi")
    emulator.revoke(X_TOKEN[0])
    emulator.add_access_token("another-app", *X_TOKEN, user)
    response = send(emulator)
    assert (response.status, body(response)) == (401, CODE_89)


def test_only_hmac_sha1_is_accepted(emulator):
    plaintext = signer(signature_method="PLAINTEXT", nonce=X_NONCE)
    url, headers, signed_body = plaintext.sign(X_URL, "POST", X_BODY, FORM)
    response = emulator.handle("POST", url, headers, signed_body.encode())
    assert (response.status, body(response)) == (400, CODE_215)


def test_missing_protocol_parameters_are_bad_authentication_data(emulator):
    header = x_authorization().replace(f'oauth_nonce="{X_NONCE}", ', "")
    response = send(emulator, headers={**FORM, "Authorization": header})
    assert (response.status, body(response)) == (400, CODE_215)


def test_an_unsigned_request_is_bad_authentication_data(emulator):
    response = send(emulator, headers=FORM)
    assert (response.status, body(response)) == (400, CODE_215)


@pytest.mark.parametrize("signature_type", ["QUERY", "BODY"])
def test_protocol_parameters_may_travel_in_the_query_or_the_body(emulator, signature_type):
    client = signer(signature_type=signature_type)
    url, headers, signed_body = client.sign(X_URL, "POST", X_BODY, FORM)
    assert "Authorization" not in headers
    response = emulator.handle("POST", url, headers, (signed_body or "").encode())
    assert (response.status, body(response)) == (403, RETIRED_453)


def test_header_names_are_matched_without_regard_to_case(emulator):
    headers = {"content-type": FORM["Content-Type"], "authorization": x_authorization()}
    assert send(emulator, headers=headers).status == 403


def test_a_json_body_is_not_part_of_the_signature_as_at_x(emulator):
    url = "https://api.x.com/2/tweets"
    json_type = {"Content-Type": "application/json"}
    _, headers, _ = signer().sign(url, "POST", json.dumps({"text": "signed"}), json_type)
    response = emulator.handle("POST", url, headers, json.dumps({"text": "sent"}).encode())
    assert response.status == 201
    assert response.json()["data"]["text"] == "sent"


def test_the_signed_host_is_part_of_the_signature(emulator):
    response = send(emulator, url=X_URL.replace("api.x.com", "api.example.com"))
    assert (response.status, body(response)) == (401, CODE_32)
