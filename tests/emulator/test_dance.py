"""The three-legged dance over loopback, with the person's part played through the HTML pages."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth1, OAuth1Session

from tests.emulator.helpers import (
    CODE_89,
    KEY,
    SECRET,
    click,
    exchange,
    fetch_request_token,
    read_form,
)
from twitter_oauth.testing import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET


def authorize_url(x_emulator, token, path="/oauth/authorize", **params):
    return f"{x_emulator.url}{path}?{urlencode({'oauth_token': token['oauth_token'], **params})}"


def callback_query(response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["Location"]).query)


def test_sign_in_then_read_the_profile_post_and_delete(x_emulator):
    oauth = OAuth1Session(KEY, client_secret=SECRET, callback_uri="http://client.example/cb?x=1")
    token = oauth.fetch_request_token(f"{x_emulator.url}/oauth/request_token")
    assert token["oauth_callback_confirmed"] == "true"

    with requests.Session() as browser:
        answer = click(browser, authorize_url(x_emulator, token), screen_name="bob")
    back = urlsplit(answer.headers["Location"])
    assert (back.scheme, back.netloc, back.path) == ("http", "client.example", "/cb")
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
    bob = x_emulator.state.user_by_screen_name("bob")
    assert (access["user_id"], access["screen_name"]) == (bob.id, "bob")

    with OAuth1Session(
        KEY,
        client_secret=SECRET,
        resource_owner_key=access["oauth_token"],
        resource_owner_secret=access["oauth_token_secret"],
    ) as api:
        me = api.get(f"{x_emulator.url}/2/users/me", params={"user.fields": "profile_image_url"})
        assert me.json() == {
            "data": {
                "id": bob.id,
                "name": bob.name,
                "username": "bob",
                "profile_image_url": f"{x_emulator.url}/avatars/{bob.id}.svg",
            }
        }
        avatar = requests.get(me.json()["data"]["profile_image_url"], timeout=5)
        assert avatar.headers["Content-Type"] == "image/svg+xml"

        created = api.post(f"{x_emulator.url}/2/tweets", json={"text": "hello from the dance"})
        assert created.status_code == 201
        tweet_id = created.json()["data"]["id"]
        assert x_emulator.state.tweets_by(bob)[0].text == "hello from the dance"

        deleted = api.delete(f"{x_emulator.url}/2/tweets/{tweet_id}")
        assert (deleted.status_code, deleted.json()) == (200, {"data": {"deleted": True}})
    assert x_emulator.state.tweets_by(bob) == []


@pytest.mark.parametrize("where", ["query", "form body"])
def test_the_verifier_may_travel_beside_a_signed_header(x_emulator, where):
    token = fetch_request_token(x_emulator.url)
    with requests.Session() as browser:
        verifier = callback_query(click(browser, authorize_url(x_emulator, token)))
    auth = OAuth1(KEY, SECRET, token["oauth_token"], token["oauth_token_secret"])
    params = {"oauth_verifier": verifier["oauth_verifier"][0]}
    sent = {"params": params} if where == "query" else {"data": params}
    response = requests.post(f"{x_emulator.url}/oauth/access_token", auth=auth, timeout=5, **sent)
    assert response.status_code == 200, response.text
    assert "screen_name=alice" in response.text
    header = response.request.headers["Authorization"]
    assert header.startswith(b"OAuth ") and b"oauth_verifier" not in header


@pytest.mark.parametrize("signature_type", ["QUERY", "BODY"])
def test_every_protocol_parameter_may_travel_in_the_query_or_the_body(x_emulator, signature_type):
    token = fetch_request_token(x_emulator.url)
    verifier = x_emulator.state.authorize(
        token["oauth_token"], x_emulator.state.user_by_screen_name("carol")
    )
    response = exchange(x_emulator.url, token, verifier=verifier, signature_type=signature_type)
    assert response.status_code == 200, response.text
    assert "Authorization" not in response.request.headers
    assert "screen_name=carol" in response.text


def test_a_tampered_verifier_beside_the_header_is_refused(x_emulator):
    token = fetch_request_token(x_emulator.url)
    verifier = x_emulator.state.authorize(
        token["oauth_token"], x_emulator.state.user_by_screen_name("carol")
    )
    auth = OAuth1(KEY, SECRET, token["oauth_token"], token["oauth_token_secret"])
    prepared = requests.Request(
        "POST", f"{x_emulator.url}/oauth/access_token", data={"oauth_verifier": verifier}, auth=auth
    ).prepare()
    prepared.body = f"oauth_verifier={verifier}x"
    prepared.headers["Content-Length"] = str(len(prepared.body))
    with requests.Session() as session:
        response = session.send(prepared, timeout=5)
    assert response.status_code == 401


def test_the_pin_flow_shows_seven_digits_to_type_in(x_emulator):
    token = fetch_request_token(x_emulator.url, "oob")
    with requests.Session() as browser:
        page = click(browser, authorize_url(x_emulator, token), screen_name="carol")
    assert page.status_code == 200
    pin = re.search(r'<code id="pin">(\d+)</code>', page.text).group(1)
    assert len(pin) == 7
    response = exchange(x_emulator.url, token, verifier=pin)
    assert "screen_name=carol" in response.text


def test_the_page_asks_for_the_app_by_name_and_offers_every_identity(x_emulator):
    token = fetch_request_token(x_emulator.url)
    page = requests.get(authorize_url(x_emulator, token, screen_name="carol"), timeout=5)
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f"<title>Authorize {KEY} to access your account?</title>" in page.text
    assert f"<h1>Authorize {KEY} to access your account?</h1>" in page.text
    assert "http" not in page.text.replace(x_emulator.url, "")  # no external assets
    form = read_form(page.text, page.url)
    assert form.action == f"{x_emulator.url}/oauth/authorize"
    assert form.radios["screen_name"] == ["alice", "bob", "carol"]
    assert form.fields == {
        "oauth_token": token["oauth_token"],
        "screen_name": "carol",
        "new_screen_name": "",
    }
    assert form.buttons == {
        "Authorize app": ("action", "authorize"),
        "Cancel": ("action", "cancel"),
    }


def test_a_new_screen_name_creates_that_person(x_emulator):
    token = fetch_request_token(x_emulator.url)
    with requests.Session() as browser:
        click(browser, authorize_url(x_emulator, token), new_screen_name="@dora_x")
    dora = x_emulator.state.user_by_screen_name("dora_x")
    assert dora is not None and dora.id.isdigit()
    assert (
        "screen_name=dora_x"
        in exchange(x_emulator.url, token, verifier=_verifier(x_emulator, token)).text
    )


def _verifier(x_emulator, token):
    return x_emulator.state.request_tokens[token["oauth_token"]].verifier


def test_an_impossible_screen_name_is_refused(x_emulator):
    token = fetch_request_token(x_emulator.url)
    with requests.Session() as browser:
        answer = click(browser, authorize_url(x_emulator, token), new_screen_name="no spaces here")
    assert answer.status_code == 400
    assert x_emulator.state.user_by_screen_name("no spaces here") is None


def test_cancel_sends_the_person_back_with_denied(x_emulator):
    token = fetch_request_token(x_emulator.url, "http://client.example/cb?next=%2F")
    with requests.Session() as browser:
        answer = click(browser, authorize_url(x_emulator, token), "Cancel")
    assert answer.headers["Location"] == (
        f"http://client.example/cb?next=%2F&denied={token['oauth_token']}"
    )
    response = exchange(x_emulator.url, token, verifier="1234567")
    assert (response.status_code, response.json()) == (401, CODE_89)


def test_cancel_in_the_pin_flow_shows_a_page(x_emulator):
    token = fetch_request_token(x_emulator.url, "oob")
    with requests.Session() as browser:
        answer = click(browser, authorize_url(x_emulator, token), "Cancel")
    assert answer.status_code == 200 and 'id="pin"' not in answer.text


@pytest.mark.parametrize("state", ["unknown", "used", "denied"])
def test_a_dead_request_token_gets_an_error_page(x_emulator, state):
    token = fetch_request_token(x_emulator.url)
    if state == "unknown":
        token = {"oauth_token": "made-up"}
    elif state == "used":
        with requests.Session() as browser:
            verifier = callback_query(click(browser, authorize_url(x_emulator, token)))
        exchange(x_emulator.url, token, verifier=verifier["oauth_verifier"][0])
    else:
        x_emulator.state.deny(token["oauth_token"])
    page = requests.get(authorize_url(x_emulator, token), timeout=5)
    assert page.status_code == 400
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "The request token for this page is invalid" in page.text


def test_authenticate_skips_the_page_for_an_app_this_browser_approved(x_emulator):
    with requests.Session() as browser:
        first = fetch_request_token(x_emulator.url)
        click(browser, authorize_url(x_emulator, first, "/oauth/authenticate"), screen_name="carol")

        second = fetch_request_token(x_emulator.url)
        skipped = browser.get(
            authorize_url(x_emulator, second, "/oauth/authenticate"), allow_redirects=False
        )
        query = callback_query(skipped)
        assert query["oauth_token"] == [second["oauth_token"]]
        answer = exchange(x_emulator.url, second, verifier=query["oauth_verifier"][0])
        assert "screen_name=carol" in answer.text

        forced = browser.get(
            authorize_url(
                x_emulator,
                fetch_request_token(x_emulator.url),
                "/oauth/authenticate",
                force_login="true",
            ),
            allow_redirects=False,
        )
        assert forced.status_code == 200 and "Authorize app" in forced.text
        prompted = browser.get(
            authorize_url(x_emulator, fetch_request_token(x_emulator.url)), allow_redirects=False
        )
        assert prompted.status_code == 200

        other_app = fetch_request_token(
            x_emulator.url, key=DEMO_CONSUMER_KEY, secret=DEMO_CONSUMER_SECRET
        )
        not_approved = browser.get(
            authorize_url(x_emulator, other_app, "/oauth/authenticate"), allow_redirects=False
        )
        assert not_approved.status_code == 200


def test_authenticate_prompts_a_browser_without_the_cookie(x_emulator):
    with requests.Session() as browser:
        click(browser, authorize_url(x_emulator, fetch_request_token(x_emulator.url)))
    token = fetch_request_token(x_emulator.url)
    page = requests.get(
        authorize_url(x_emulator, token, "/oauth/authenticate"), allow_redirects=False, timeout=5
    )
    assert page.status_code == 200


def test_clicking_authorize_twice_keeps_the_verifier(x_emulator):
    token = fetch_request_token(x_emulator.url)
    with requests.Session() as browser:
        first = callback_query(click(browser, authorize_url(x_emulator, token)))
        second = callback_query(click(browser, authorize_url(x_emulator, token)))
    assert first["oauth_verifier"] == second["oauth_verifier"]
