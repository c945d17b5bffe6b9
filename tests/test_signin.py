"""Sign in with X, end to end: Django's test client, the emulator over loopback, X's page by HTTP."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.db import connection

from tests.signin_helpers import (
    LOGIN_URL,
    act_at_x,
    callback_path,
    messages_of,
    receiving,
    request_token_of,
    sign_in,
    start,
)
from twitter_oauth import signals
from twitter_oauth.models import TwitterAccount
from twitter_oauth.services import flows

pytestmark = pytest.mark.django_db

User = get_user_model()


def test_login_page_shows_a_post_button_and_calls_nobody(client, x_settings, x_emulator):
    response = client.get(LOGIN_URL, {"next": "/after/"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<form method="post" action="/accounts/twitter/login/">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<input type="hidden" name="next" value="/after/">' in html
    assert x_emulator.state.count() == 0


def test_login_redirects_to_x_authenticate_page(client, x_settings, x_emulator):
    response = start(client)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{x_emulator.url}/oauth/authenticate?oauth_token=")
    recorded = x_emulator.state.requests[0]
    assert recorded.path == "/oauth/request_token"
    assert "oauth_callback" in recorded.headers["Authorization"]
    assert (
        "http%3A%2F%2Ftestserver%2Faccounts%2Ftwitter%2Fcallback%2F"
        in recorded.headers["Authorization"]
    )


def test_login_requires_csrf_token(x_settings, x_emulator):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(LOGIN_URL)
    assert response.status_code == 403
    assert x_emulator.state.count() == 0


def test_a_new_x_identity_signs_up_with_two_calls_to_x(client, x_settings, x_emulator):
    response = sign_in(client, screen_name="alice", next_url="/after/")

    assert response.status_code == 302
    assert response["Location"] == "/after/"
    account = TwitterAccount.objects.get()
    alice = x_emulator.state.user_by_screen_name("alice")
    assert (account.twitter_id, account.screen_name) == (alice.id, "alice")
    assert account.user.username == "alice"
    assert not account.user.has_usable_password()
    assert client.session[SESSION_KEY] == str(account.user.pk)
    assert [r.path for r in x_emulator.state.requests] == [
        "/oauth/request_token",
        "/oauth/authenticate",
        "/oauth/authenticate",
        "/oauth/access_token",
    ]
    calls_from_site = [r for r in x_emulator.state.requests if r.path != "/oauth/authenticate"]
    assert len(calls_from_site) == 2
    assert "Welcome, @alice!" in messages_of(response)[0]


def test_stored_tokens_are_the_ones_x_issued_and_work(client, x_settings, x_emulator):
    sign_in(client, screen_name="bob")
    account = TwitterAccount.objects.get()
    from twitter_oauth.services import client_for

    assert client_for(account).get_me()["username"] == "bob"


def test_the_database_column_never_holds_the_token_in_clear(client, x_settings, x_emulator):
    sign_in(client, screen_name="bob")
    account = TwitterAccount.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, access_token_secret FROM twitter_oauth_twitteraccount")
        raw_token, raw_secret = cursor.fetchone()
    assert account.access_token not in raw_token and account.access_token_secret not in raw_secret
    assert raw_token.startswith("gAAAA") and raw_secret.startswith("gAAAA")


def test_a_returning_user_signs_in_to_the_same_user_with_fresh_tokens(
    client, x_settings, x_emulator
):
    sign_in(client, screen_name="alice")
    first = TwitterAccount.objects.get()
    client.logout()
    x_emulator.state.revoke(first.access_token)  # X issues a new token on the next sign-in

    response = sign_in(client, screen_name="alice")

    account = TwitterAccount.objects.get()
    assert account.user_id == first.user_id and User.objects.count() == 1
    assert account.access_token != first.access_token
    assert account.last_login_at >= first.last_login_at
    assert messages_of(response) == ["Signed in with X as @alice."]


def test_a_screen_name_taken_by_another_user_gets_a_suffix(client, x_settings, x_emulator):
    User.objects.create_user("alice")
    User.objects.create_user("Alice_2")
    sign_in(client, screen_name="alice")
    assert TwitterAccount.objects.get().user.username == "alice_3"


def test_sign_in_signals_are_sent(client, x_settings, x_emulator):
    with receiving(signals.user_signed_in) as seen:
        sign_in(client, screen_name="carol")
        client.logout()
        sign_in(client, screen_name="carol")
    assert [(kw["account"].screen_name, kw["created_user"]) for kw in seen] == [
        ("carol", True),
        ("carol", False),
    ]


def test_signup_can_be_closed(client, x_settings, x_emulator):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "SIGNUP_ENABLED": False}
    response = sign_in(client, screen_name="carol")
    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert not User.objects.exists()
    assert messages_of(response) == [
        "This site does not create accounts with X. Sign in another way."
    ]


def test_an_inactive_user_is_not_signed_in(client, x_settings, x_emulator):
    sign_in(client, screen_name="alice")
    User.objects.update(is_active=False)
    client.logout()
    response = sign_in(client, screen_name="alice")
    assert response["Location"] == "/signin/"
    assert SESSION_KEY not in client.session
    assert messages_of(response) == ["This account is disabled."]


def test_cancel_ends_the_flow_without_calling_x(client, x_settings, x_emulator):
    started = start(client)
    location = act_at_x(started["Location"], cancel=True)
    assert "denied=" in location

    response = client.get(callback_path(location))

    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert messages_of(response) == ["Signing in with X was cancelled."]
    assert x_emulator.state.count("/oauth/access_token") == 0
    assert flows.SESSION_KEY not in client.session


def test_a_callback_with_a_foreign_token_is_refused_without_calling_x(
    client, x_settings, x_emulator
):
    started = start(client)
    location = act_at_x(started["Location"])
    tampered = callback_path(location).replace("oauth_token=", "oauth_token=x")

    response = client.get(tampered)

    assert response.status_code == 400
    assert b"does not match one started in this browser" in response.content
    assert x_emulator.state.count("/oauth/access_token") == 0


def test_a_replayed_callback_is_refused(client, x_settings, x_emulator):
    started = start(client)
    path = callback_path(act_at_x(started["Location"]))
    assert client.get(path).status_code == 302
    client.logout()

    replay = client.get(path)

    assert replay.status_code == 400
    assert x_emulator.state.count("/oauth/access_token") == 1
    assert TwitterAccount.objects.count() == 1


def test_a_callback_in_another_browser_is_refused(client, x_settings, x_emulator):
    from django.test import Client

    started = start(client)
    path = callback_path(act_at_x(started["Location"]))
    response = Client().get(path)
    assert response.status_code == 400
    assert x_emulator.state.count("/oauth/access_token") == 0


def test_two_tabs_finish_in_any_order(client, x_settings, x_emulator):
    first = start(client, next="/first/")
    second = start(client, next="/second/")
    second_back = callback_path(act_at_x(second["Location"], screen_name="bob"))
    first_back = callback_path(act_at_x(first["Location"], screen_name="alice"))

    assert client.get(second_back)["Location"] == "/second/"
    assert client.get(first_back)["Location"] == "/first/"
    assert sorted(TwitterAccount.objects.values_list("screen_name", flat=True)) == ["alice", "bob"]


def test_only_a_handful_of_abandoned_flows_are_kept(client, x_settings, x_emulator):
    tokens = [request_token_of(start(client)["Location"]) for _ in range(8)]
    kept = client.session[flows.SESSION_KEY]
    assert list(kept) == list(reversed(tokens[-5:]))
    assert all(entry["secret"].startswith("gAAAA") for entry in kept.values())


def test_an_expired_request_token_is_refused(client, x_settings, x_emulator):
    started = start(client)
    path = callback_path(act_at_x(started["Location"]))
    session = client.session
    for entry in session[flows.SESSION_KEY].values():
        entry["started"] -= 16 * 60
    session.save()

    response = client.get(path)

    assert response.status_code == 400
    assert b"expired" in response.content
    assert x_emulator.state.count("/oauth/access_token") == 0


@pytest.mark.parametrize(
    "query",
    [
        "",
        "oauth_verifier=123",
        "oauth_token=abc",
        "oauth_token=" + "a" * 201 + "&oauth_verifier=1",
        "oauth_token=abc&oauth_verifier=" + "9" * 201,
        "denied=" + "a" * 500,
    ],
)
def test_missing_or_oversized_parameters_get_a_400_page(client, x_settings, x_emulator, query):
    response = client.get(f"/accounts/twitter/callback/?{query}")
    assert response.status_code == 400
    assert b"Please start again" in response.content
    assert x_emulator.state.count() == 0


def test_callback_refuses_post(client, x_settings):
    assert client.post("/accounts/twitter/callback/").status_code == 405


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "http://testserver.evil.example/",
    ],
)
def test_next_pointing_off_site_is_ignored(client, x_settings, x_emulator, next_url):
    response = sign_in(client, next_url=next_url)
    assert response.status_code == 302
    assert response["Location"] == "/home/"


def test_next_in_the_query_string_is_honoured(client, x_settings, x_emulator):
    started = client.post(f"{LOGIN_URL}?next=/from-query/")
    response = client.get(callback_path(act_at_x(started["Location"])))
    assert response["Location"] == "/from-query/"


def test_missing_session_cookie_logs_the_samesite_hint(
    client, x_settings, x_emulator, caplog, settings
):
    from django.test import Client

    settings.SESSION_COOKIE_SAMESITE = "Strict"
    started = start(client)
    path = callback_path(act_at_x(started["Location"]))
    response = Client().get(path)
    assert response.status_code == 400
    assert "SESSION_COOKIE_SAMESITE='Strict'" in caplog.text


# --- X failing at each step -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"status": 503}, "X is not answering right now."),
        ({"status": 500}, "X is not answering right now."),
        ({"drop": True}, "X is not answering right now."),
        ({"garble": True}, "X is not answering right now."),
        ({"status": 429}, "X is limiting requests from this site right now."),
        ({"status": 401}, "X did not accept this sign-in."),
    ],
)
def test_x_failing_at_request_token_redirects_with_a_message(
    client, x_settings, x_emulator, fault, message
):
    x_emulator.state.inject("/oauth/request_token", **fault)
    response = start(client, next="/after/")
    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert messages_of(response)[0].startswith(message)
    assert flows.SESSION_KEY not in client.session


def test_x_timing_out_at_request_token_redirects_with_a_message(client, x_settings, x_emulator):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "TIMEOUT": 0.2}
    x_emulator.state.inject("/oauth/request_token", delay=1.0)
    response = start(client)
    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert messages_of(response)[0].startswith("X is not answering right now.")


def test_unapproved_callback_url_says_so(client, x_settings, x_emulator, caplog):
    x_emulator.state.callback_urls = ["https://registered.example/"]
    response = start(client)
    assert response.status_code == 302
    assert "callback address" in messages_of(response)[0]
    assert "TwitterCallbackNotApproved" in caplog.text


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"status": 503}, "X is not answering right now."),
        ({"drop": True}, "X is not answering right now."),
        ({"garble": True}, "X is not answering right now."),
        ({"status": 401}, "X did not accept this sign-in."),
    ],
)
def test_x_failing_at_access_token_creates_nothing(client, x_settings, x_emulator, fault, message):
    started = start(client)
    path = callback_path(act_at_x(started["Location"]))
    x_emulator.state.inject("/oauth/access_token", **fault)

    response = client.get(path)

    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert messages_of(response)[0].startswith(message)
    assert not User.objects.exists() and not TwitterAccount.objects.exists()
    assert SESSION_KEY not in client.session


def test_x_timing_out_at_access_token_creates_nothing(client, x_settings, x_emulator):
    started = start(client)
    path = callback_path(act_at_x(started["Location"]))
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "TIMEOUT": 0.2}
    x_emulator.state.inject("/oauth/access_token", delay=1.0)
    response = client.get(path)
    assert response.status_code == 302
    assert not TwitterAccount.objects.exists()


def test_x_page_down_does_not_reach_the_site(client, x_settings, x_emulator):
    # The authorize page failing leaves the flow pending; a later retry still works.
    started = start(client)
    x_emulator.state.inject("/oauth/authenticate", status=503)
    import requests

    assert requests.get(started["Location"], timeout=5).status_code == 503
    response = client.get(callback_path(act_at_x(started["Location"])))
    assert response.status_code == 302 and TwitterAccount.objects.count() == 1


# --- configuration changing under open flows -----------------------------------------------------


@pytest.mark.parametrize("protocol", ["oauth1", "oauth2"])
def test_a_flow_encrypted_with_a_dropped_key_ends_like_an_expired_one(
    client, x_settings, x_emulator, protocol
):
    from cryptography.fernet import Fernet

    started = start(client, protocol=protocol)
    path = callback_path(act_at_x(started["Location"]))
    calls_before = x_emulator.state.count()
    x_settings.TWITTER_OAUTH = {
        **x_settings.TWITTER_OAUTH,
        "TOKEN_KEYS": [Fernet.generate_key().decode()],
    }

    response = client.get(path)

    assert response.status_code == 400
    assert b"took too long and expired" in response.content
    assert x_emulator.state.count() == calls_before
    assert flows.SESSION_KEY not in client.session


def test_a_failed_sign_in_without_a_login_url_ends_on_the_apps_login_page(
    client, x_settings, x_emulator, settings
):
    settings.LOGIN_URL = "/accounts/login/"  # Django's default, and no page of this site
    started = start(client)
    response = client.get(callback_path(act_at_x(started["Location"], cancel=True)))
    assert response["Location"] == LOGIN_URL
    assert client.get(response["Location"]).status_code == 200


def test_a_login_url_that_is_a_page_of_the_site_is_kept(client, x_settings, x_emulator):
    started = start(client)
    response = client.get(callback_path(act_at_x(started["Location"], cancel=True)))
    assert response["Location"] == "/signin/"
