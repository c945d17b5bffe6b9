"""OAuth 2.0's authorize page at ``i/oauth2/authorize``: consent, cancel, and what X refuses."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.emulator.helpers import (
    CLIENT_ID,
    FORM,
    PUBLIC_CLIENT_ID,
    REDIRECT_URI,
    VERIFIER,
    X_API,
    oauth2_authorize_url,
    query_of,
    read_form,
)
from twitter_oauth.testing import XEmulator


@pytest.fixture
def emulator():
    return XEmulator()


def test_the_authorize_page_names_the_client_the_scopes_and_the_people(emulator):
    page = emulator.handle("GET", oauth2_authorize_url(), {}, b"")
    assert page.status == 200
    assert f"{CLIENT_ID} wants to access your X account." in page.text
    assert "Post and repost for you" in page.text and "See your email address" in page.text
    form = read_form(page.text, X_API)
    assert form.action == f"{X_API}/i/oauth2/authorize" and form.method == "POST"
    assert form.radios["screen_name"] == ["alice", "bob", "carol"]
    assert set(form.buttons) == {"Authorize app", "Cancel"}


def test_authorize_app_redirects_with_state_and_a_code(emulator):
    form = read_form(emulator.handle("GET", oauth2_authorize_url(), {}, b"").text, X_API)
    answer = emulator.handle(
        "POST",
        form.action,
        FORM,
        urlencode(form.submit("Authorize app", screen_name="bob")).encode(),
    )
    assert answer.status == 302
    location = answer.headers["Location"]
    assert location.startswith(f"{REDIRECT_URI}?")
    query = query_of(location)
    assert query["state"] == "a-state" and query["code"]
    assert emulator.oauth2_codes[query["code"]].user_id == emulator.user_by_screen_name("bob").id
    assert "Set-Cookie" in answer.headers


def test_cancel_redirects_with_access_denied_and_state(emulator):
    form = read_form(emulator.handle("GET", oauth2_authorize_url(), {}, b"").text, X_API)
    answer = emulator.handle("POST", form.action, FORM, urlencode(form.submit("Cancel")).encode())
    assert answer.status == 302
    assert query_of(answer.headers["Location"]) == {"error": "access_denied", "state": "a-state"}
    assert emulator.oauth2_codes == {}


def test_a_new_screen_name_on_the_page_signs_in_a_new_person(emulator):
    form = read_form(emulator.handle("GET", oauth2_authorize_url(), {}, b"").text, X_API)
    data = form.submit("Authorize app", new_screen_name="dora")
    answer = emulator.handle("POST", form.action, FORM, urlencode(data).encode())
    dora = emulator.user_by_screen_name("dora")
    assert dora is not None
    assert emulator.oauth2_codes[query_of(answer.headers["Location"])["code"]].user_id == dora.id


def test_the_redirect_uri_keeps_its_own_query(emulator):
    url = oauth2_authorize_url(redirect_uri="http://client.example/cb?next=%2Fhome")
    location = emulator.authorize_oauth2(url, emulator.user_by_screen_name("alice"))
    query = query_of(location)
    assert location.startswith("http://client.example/cb?")
    assert query["next"] == "/home" and query["state"] == "a-state" and query["code"]


REFUSED = {
    "an unknown client": ({"client_id": "nobody"}, "unknown client_id"),
    "no redirect_uri": ({"redirect_uri": None}, "redirect_uri is missing"),
    "response_type token": ({"response_type": "token"}, "response_type must be code"),
    "no scope": ({"scope": None}, "scope must name"),
    "an unknown scope": ({"scope": "tweet.read everything"}, "scope must name"),
    "no state": ({"state": None}, "state must be 1 to 500"),
    "a state over 500 characters": ({"state": "s" * 501}, "state must be 1 to 500"),
    "the plain method": (
        {"code_challenge_method": "plain", "code_challenge": VERIFIER},
        "code_challenge_method must be S256",
    ),
    "no challenge method": ({"code_challenge_method": None}, "code_challenge_method must be S256"),
    "no challenge": ({"code_challenge": None}, "code_challenge must be"),
    "a challenge that is no S256 hash": ({"code_challenge": "short"}, "code_challenge must be"),
}


@pytest.mark.parametrize(("changes", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_an_authorize_request_x_refuses_gets_the_error_page_not_a_redirect(
    emulator, changes, reason
):
    url = oauth2_authorize_url(**changes)
    page = emulator.handle("GET", url, {}, b"")
    assert page.status == 400
    assert "Location" not in page.headers
    assert "Something went wrong" in page.text and reason in page.text
    with pytest.raises(ValueError, match=reason):
        emulator.authorize_oauth2(url, emulator.user_by_screen_name("alice"))
    with pytest.raises(ValueError, match=reason):
        emulator.deny_oauth2(url)
    assert emulator.oauth2_codes == {}


def test_a_redirect_uri_not_approved_for_the_client_gets_the_error_page():
    emulator = XEmulator(redirect_uris={CLIENT_ID: ["http://client.example/"]})
    approved = emulator.handle("GET", oauth2_authorize_url(), {}, b"")
    refused = emulator.handle(
        "GET", oauth2_authorize_url(redirect_uri="http://evil.example/"), {}, b""
    )
    assert approved.status == 200
    assert refused.status == 400 and "Location" not in refused.headers
    # A client the mapping leaves out approves any redirect URI.
    other = oauth2_authorize_url(client_id=PUBLIC_CLIENT_ID, redirect_uri="http://evil.example/")
    assert emulator.handle("GET", other, {}, b"").status == 200


def test_a_forged_answer_to_the_page_is_judged_again(emulator):
    form = read_form(emulator.handle("GET", oauth2_authorize_url(), {}, b"").text, X_API)
    data = form.submit("Authorize app", code_challenge_method="plain")
    answer = emulator.handle("POST", form.action, FORM, urlencode(data).encode())
    assert answer.status == 400 and "Location" not in answer.headers
    assert emulator.oauth2_codes == {}
