"""The emulator refuses what X refuses, with X's status and body.

Requests here are signed by oauthlib's client (what requests-oauthlib uses) or by
hand, and sent either through ``XEmulator.handle`` or over loopback.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest
import requests
from oauthlib.oauth1 import Client as Signer
from requests_oauthlib import OAuth1, OAuth1Session

from twitter_oauth.testing import XEmulator

# X's published example of a signed request ("Creating a signature").
X_URL = "https://api.x.com/1.1/statuses/update.json?include_entities=true"
X_BODY = "status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21"
X_CONSUMER = ("xvz1evFS4wEEPTGEFPHBog", "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw")
X_TOKEN = (
    "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
)
X_NONCE = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"
X_TIMESTAMP = 1318622958
X_SIGNATURE = "Ls93hJiZbQ3akF3HF3x1Bz8/zU4="

CODE_32 = {"errors": [{"code": 32, "message": "Could not authenticate you."}]}
CODE_89 = {"errors": [{"code": 89, "message": "Invalid or expired token."}]}
CODE_135 = {"errors": [{"code": 135, "message": "Timestamp out of bounds."}]}
CODE_215 = {"errors": [{"code": 215, "message": "Bad Authentication data."}]}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def authorization_header(signature: str = X_SIGNATURE) -> str:
    params = {
        "oauth_consumer_key": X_CONSUMER[0],
        "oauth_nonce": X_NONCE,
        "oauth_signature": signature,
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(X_TIMESTAMP),
        "oauth_token": X_TOKEN[0],
        "oauth_version": "1.0",
    }
    return "OAuth " + ", ".join(f'{k}="{quote(v, safe="")}"' for k, v in params.items())


@pytest.fixture
def x_published():
    """An emulator that knows X's example consumer and token, with the clock at its timestamp."""
    emulator = XEmulator(dict([X_CONSUMER]), clock=lambda: X_TIMESTAMP)
    user = emulator.add_user("twitterapi", user_id="370773112")
    emulator.add_access_token(X_CONSUMER[0], *X_TOKEN, user)
    return emulator


def send_x_example(emulator, *, signature=X_SIGNATURE, body=X_BODY):
    headers = {**FORM, "Authorization": authorization_header(signature)}
    return emulator.handle("POST", X_URL, headers, body.encode())


def body_of(response):
    return json.loads(response.body)


def test_oauthlib_signs_x_published_example_as_x_does():
    signer = Signer(
        X_CONSUMER[0],
        client_secret=X_CONSUMER[1],
        resource_owner_key=X_TOKEN[0],
        resource_owner_secret=X_TOKEN[1],
        nonce=X_NONCE,
        timestamp=str(X_TIMESTAMP),
    )
    _, headers, _ = signer.sign(X_URL, "POST", X_BODY, FORM)
    assert f'oauth_signature="{quote(X_SIGNATURE, safe="")}"' in headers["Authorization"]


def test_x_published_example_passes_verification(x_published):
    response = send_x_example(x_published)
    # The signature passed: what is left is X's answer for the retired v1.1 endpoint.
    assert response.status == 403
    assert body_of(response)["errors"][0]["code"] == 453


def test_x_published_example_with_another_signature_is_refused(x_published):
    response = send_x_example(x_published, signature="Ls93hJiZbQ3akF3HF3x1Bz8/zU5=")
    assert (response.status, body_of(response)) == (401, CODE_32)


def test_a_tampered_parameter_is_refused(x_published):
    response = send_x_example(x_published, body=X_BODY.replace("Ladies", "Lords"))
    assert (response.status, body_of(response)) == (401, CODE_32)


def test_a_reused_nonce_is_refused(x_published):
    assert send_x_example(x_published).status == 403
    response = send_x_example(x_published)
    assert (response.status, body_of(response)) == (401, CODE_32)


def test_a_timestamp_ten_minutes_old_is_refused(x_published):
    x_published.clock = lambda: X_TIMESTAMP + 600
    response = send_x_example(x_published)
    assert (response.status, body_of(response)) == (401, CODE_135)


def test_a_timestamp_within_five_minutes_is_accepted(x_published):
    x_published.clock = lambda: X_TIMESTAMP + 299
    assert send_x_example(x_published).status == 403


def test_a_revoked_token_is_refused_with_code_89(x_published):
    x_published.revoke(X_TOKEN[0])
    response = send_x_example(x_published)
    assert (response.status, body_of(response)) == (401, CODE_89)


# --- over loopback, signed by requests-oauthlib ---------------------------------------------------


def consumer(emulator_url, key="test-consumer-key", secret="test-consumer-secret", **kw):
    return OAuth1Session(key, client_secret=secret, **kw)


def fetch_request_token(x_emulator, callback="http://client.example/callback", **kw):
    with consumer(x_emulator.url, callback_uri=callback, **kw) as session:
        return session.fetch_request_token(f"{x_emulator.url}/oauth/request_token")


def request_token_answer(x_emulator, auth):
    response = requests.post(f"{x_emulator.url}/oauth/request_token", auth=auth, timeout=5)
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (OAuth1("test-consumer-key", "wrong", callback_uri="oob"), (401, CODE_32)),
        (OAuth1("nobody", "secret", callback_uri="oob"), (401, CODE_32)),
        (OAuth1("test-consumer-key", "test-consumer-secret"), (400, CODE_215)),
    ],
    ids=["wrong consumer secret", "unknown consumer", "missing oauth_callback"],
)
def test_request_token_refusals(x_emulator, auth, expected):
    assert request_token_answer(x_emulator, auth) == expected


def test_unsigned_request_is_bad_authentication_data(x_emulator):
    response = requests.get(f"{x_emulator.url}/2/users/me", timeout=5)
    assert (response.status_code, response.json()) == (400, CODE_215)


def test_unapproved_callback_is_refused_with_xml_code_415(x_emulator):
    x_emulator.state.callback_urls = ["https://registered.example/"]
    response = requests.post(
        f"{x_emulator.url}/oauth/request_token",
        auth=OAuth1(
            "test-consumer-key", "test-consumer-secret", callback_uri="https://other.example/cb"
        ),
        timeout=5,
    )
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/xml")
    assert '<error code="415">Callback URL not approved' in response.text


def authorized_request_token(x_emulator, screen_name="bob"):
    """A request token the person has authorized at X, and its verifier."""
    token = fetch_request_token(x_emulator)
    person = x_emulator.state.user_by_screen_name(screen_name)
    return token, x_emulator.state.authorize(token["oauth_token"], person)


def exchange(
    x_emulator,
    token,
    secret,
    verifier,
    *,
    signature_type="AUTH_HEADER",
    key="test-consumer-key",
    consumer_secret="test-consumer-secret",
):
    auth = OAuth1(
        key, consumer_secret, token, secret, verifier=verifier, signature_type=signature_type
    )
    return requests.post(f"{x_emulator.url}/oauth/access_token", auth=auth, timeout=5)


def test_a_request_token_is_used_once(x_emulator):
    token = fetch_request_token(x_emulator)
    alice = x_emulator.state.user_by_screen_name("alice")
    verifier = x_emulator.state.authorize(token["oauth_token"], alice)
    first = exchange(x_emulator, token["oauth_token"], token["oauth_token_secret"], verifier)
    assert first.status_code == 200
    assert f"user_id={alice.id}" in first.text and "screen_name=alice" in first.text

    second = exchange(x_emulator, token["oauth_token"], token["oauth_token_secret"], verifier)
    assert (second.status_code, second.json()) == (401, CODE_89)


def test_a_verifier_from_another_token_is_refused(x_emulator):
    alice = x_emulator.state.user_by_screen_name("alice")
    mine = fetch_request_token(x_emulator)
    theirs = fetch_request_token(x_emulator)
    x_emulator.state.authorize(mine["oauth_token"], alice)
    their_verifier = x_emulator.state.authorize(theirs["oauth_token"], alice)
    response = exchange(x_emulator, mine["oauth_token"], mine["oauth_token_secret"], their_verifier)
    assert response.status_code == 401
    assert response.text == "Error processing your OAuth request: Invalid oauth_verifier parameter"


def test_wrong_token_secret_is_refused(x_emulator):
    token, verifier = authorized_request_token(x_emulator, "bob")
    response = exchange(x_emulator, token["oauth_token"], "wrong-secret", verifier)
    assert (response.status_code, response.json()) == (401, CODE_32)


def test_a_token_of_another_consumer_is_refused(x_emulator):
    token, verifier = authorized_request_token(x_emulator, "bob")
    response = exchange(
        x_emulator,
        token["oauth_token"],
        token["oauth_token_secret"],
        verifier,
        key="demo-consumer-key",
        consumer_secret="demo-consumer-secret",
    )
    assert (response.status_code, response.json()) == (401, CODE_89)


def test_an_expired_request_token_is_refused(x_emulator):
    offset = [0.0]
    x_emulator.state.clock = lambda: time.time() + offset[0]
    token, verifier = authorized_request_token(x_emulator, "bob")
    offset[0] = 16 * 60
    x_emulator.state.timestamp_tolerance = 10**10  # only the token's age should matter here
    response = exchange(x_emulator, token["oauth_token"], token["oauth_token_secret"], verifier)
    assert (response.status_code, response.json()) == (401, CODE_89)


def test_a_denied_request_token_cannot_be_exchanged(x_emulator):
    token = fetch_request_token(x_emulator)
    x_emulator.state.deny(token["oauth_token"])
    response = exchange(x_emulator, token["oauth_token"], token["oauth_token_secret"], "1234567")
    assert (response.status_code, response.json()) == (401, CODE_89)


@pytest.mark.parametrize("signature_type", ["QUERY", "BODY"])
def test_protocol_parameters_are_accepted_in_the_query_or_the_body(x_emulator, signature_type):
    token, verifier = authorized_request_token(x_emulator, "carol")
    response = exchange(
        x_emulator,
        token["oauth_token"],
        token["oauth_token_secret"],
        verifier,
        signature_type=signature_type,
    )
    assert response.status_code == 200, response.text
    assert "screen_name=carol" in response.text


def test_the_same_user_and_app_get_the_same_access_token_until_revoked(x_emulator):
    state = x_emulator.state
    alice = state.user_by_screen_name("alice")
    first = state.issue_access_token("test-consumer-key", alice)
    assert state.issue_access_token("test-consumer-key", alice) == first
    state.revoke(first[0])
    assert state.issue_access_token("test-consumer-key", alice) != first
    assert first[0].startswith(f"{alice.id}-")
