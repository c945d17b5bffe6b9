"""Sign in with X over OAuth 2.0 (PKCE), end to end through the emulator, as for OAuth 1.0a."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client

from tests.signin_helpers import (
    CONNECT_URL,
    LOGIN_URL,
    act_at_x,
    callback_path,
    messages_of,
    receiving,
    sign_in,
    start,
)
from twitter_oauth import signals
from twitter_oauth.models import TwitterAccount
from twitter_oauth.services import flows

pytestmark = pytest.mark.django_db

User = get_user_model()
TOKEN = "/2/oauth2/token"
ME = "/2/users/me"


def site_calls(x_emulator) -> list[str]:
    """What the site asked of X (the person's visits to X's page left out)."""
    return [
        f"{r.method} {r.path}"
        for r in x_emulator.state.requests
        if not r.path.startswith(("/i/oauth2/", "/oauth/auth"))
    ]


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_login_sends_the_person_to_x_with_an_s256_challenge_and_calls_nobody(
    client, oauth2_settings, x_emulator
):
    response = start(client)

    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(f"{x_emulator.url}/i/oauth2/authorize?")
    query = query_of(url)
    assert query["response_type"] == "code" and query["client_id"] == "test-client-id"
    assert query["redirect_uri"] == "http://testserver/accounts/twitter/callback/"
    assert query["scope"] == "tweet.read tweet.write users.read offline.access"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    entry = client.session[flows.SESSION_KEY][query["state"]]
    assert entry["protocol"] == "oauth2" and entry["secret"].startswith("gAAAA")
    assert flows.code_challenge(flows.crypto.decrypt(entry["secret"])) == query["code_challenge"]
    assert x_emulator.state.count() == 0


def test_a_new_x_identity_signs_up_with_two_calls_token_then_users_me(
    client, oauth2_settings, x_emulator
):
    response = sign_in(client, screen_name="alice", next_url="/after/")

    assert response.status_code == 302 and response["Location"] == "/after/"
    assert site_calls(x_emulator) == [f"POST {TOKEN}", f"GET {ME}"]
    account = TwitterAccount.objects.get()
    alice = x_emulator.state.user_by_screen_name("alice")
    assert (account.twitter_id, account.screen_name, account.protocol) == (
        alice.id,
        "alice",
        "oauth2",
    )
    assert account.scope_set == {"tweet.read", "tweet.write", "users.read", "offline.access"}
    assert account.refresh_token and account.token_expires_at and account.verified_at
    assert account.access_token_secret == ""
    assert account.name == alice.name and account.profile_image_url
    assert client.session[SESSION_KEY] == str(account.user_id)
    assert "Welcome, @alice!" in messages_of(response)[0]
    me = next(r for r in x_emulator.state.requests if r.path == ME)
    assert me.headers["Authorization"] == f"Bearer {account.access_token}"


def test_a_returning_user_signs_in_to_the_same_user_with_fresh_tokens(
    client, oauth2_settings, x_emulator
):
    sign_in(client, screen_name="alice")
    first = TwitterAccount.objects.get()
    client.logout()
    x_emulator.state.reset()

    response = sign_in(client, screen_name="alice")

    account = TwitterAccount.objects.get()
    assert account.user_id == first.user_id and User.objects.count() == 1
    assert account.access_token != first.access_token
    assert account.refresh_token != first.refresh_token
    assert messages_of(response) == ["Signed in with X as @alice."]
    assert site_calls(x_emulator) == [f"POST {TOKEN}", f"GET {ME}"]


def test_the_button_chooses_the_protocol_whatever_the_setting(client, x_settings, x_emulator):
    response = start(client, protocol="oauth2")
    assert response["Location"].startswith(f"{x_emulator.url}/i/oauth2/authorize?")
    from_query = client.post(f"{LOGIN_URL}?protocol=oauth2")
    assert from_query["Location"].startswith(f"{x_emulator.url}/i/oauth2/authorize?")
    assert x_emulator.state.count() == 0


def test_the_confirm_page_keeps_the_protocol_of_its_link(client, x_settings, x_emulator):
    response = client.get(LOGIN_URL, {"protocol": "oauth2"})
    assert b'<input type="hidden" name="protocol" value="oauth2">' in response.content


@pytest.mark.parametrize("protocol", ["oauth3", "x" * 300])
def test_an_unknown_protocol_gets_a_400_page(client, x_settings, x_emulator, protocol):
    response = start(client, protocol=protocol)
    assert response.status_code == 400
    assert b"names no known protocol" in response.content
    assert x_emulator.state.count() == 0


def test_signing_in_with_the_other_protocol_updates_the_same_account(
    client, x_settings, x_emulator
):
    sign_in(client, screen_name="alice")  # OAuth 1.0a
    first = TwitterAccount.objects.get()
    client.logout()
    started = start(client, protocol="oauth2")
    client.get(callback_path(act_at_x(started["Location"], screen_name="alice")))

    account = TwitterAccount.objects.get()
    assert (account.pk, account.user_id, account.protocol) == (first.pk, first.user_id, "oauth2")
    assert account.access_token_secret == "" and account.refresh_token

    client.logout()
    sign_in(client, screen_name="alice")  # and back to OAuth 1.0a
    account.refresh_from_db()
    assert account.protocol == "oauth1" and account.access_token_secret
    assert account.refresh_token is None and account.token_expires_at is None
    assert account.scopes == ""
    assert TwitterAccount.objects.count() == 1


def test_linking_with_oauth2_adds_an_account_to_the_signed_in_user(
    client, oauth2_settings, x_emulator
):
    sign_in(client, screen_name="alice")
    x_emulator.state.reset()
    started = start(client, CONNECT_URL, next="/settings/")
    assert "/i/oauth2/authorize?" in started["Location"]

    response = client.get(callback_path(act_at_x(started["Location"], screen_name="bob")))

    assert response["Location"] == "/settings/"
    assert messages_of(response) == ["Linked the X account @bob."]
    assert sorted(User.objects.get().twitter_accounts.values_list("screen_name", flat=True)) == [
        "alice",
        "bob",
    ]
    assert site_calls(x_emulator) == [f"POST {TOKEN}", f"GET {ME}"]


def test_cancel_ends_the_flow_without_calling_x(client, oauth2_settings, x_emulator):
    started = start(client)
    location = act_at_x(started["Location"], cancel=True)
    assert "error=access_denied" in location

    response = client.get(callback_path(location))

    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert messages_of(response) == ["Signing in with X was cancelled."]
    assert site_calls(x_emulator) == []
    assert flows.SESSION_KEY not in client.session


def test_an_error_other_than_access_denied_is_a_failure(client, oauth2_settings, x_emulator):
    state = query_of(start(client)["Location"])["state"]
    response = client.get("/accounts/twitter/callback/", {"state": state, "error": "server_error"})
    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert messages_of(response) == ["X did not accept this sign-in. Please try again."]
    assert site_calls(x_emulator) == []


def test_a_callback_in_another_browser_is_refused_without_calling_x(
    client, oauth2_settings, x_emulator
):
    path = callback_path(act_at_x(start(client)["Location"]))
    response = Client().get(path)
    assert response.status_code == 400
    assert b"does not match one started in this browser" in response.content
    assert site_calls(x_emulator) == []


def test_a_forged_state_is_refused_without_calling_x(client, oauth2_settings, x_emulator):
    path = callback_path(act_at_x(start(client)["Location"]))
    response = client.get(path.replace("state=", "state=x"))
    assert response.status_code == 400
    assert site_calls(x_emulator) == []


def test_a_state_used_as_an_oauth1_token_is_refused(client, oauth2_settings, x_emulator):
    state = query_of(start(client)["Location"])["state"]
    response = client.get(
        "/accounts/twitter/callback/", {"oauth_token": state, "oauth_verifier": "1"}
    )
    assert response.status_code == 400
    assert x_emulator.state.count() == 0


def test_a_replayed_callback_is_refused(client, oauth2_settings, x_emulator):
    path = callback_path(act_at_x(start(client)["Location"]))
    assert client.get(path).status_code == 302
    client.logout()

    replay = client.get(path)

    assert replay.status_code == 400
    assert x_emulator.state.count(TOKEN) == 1
    assert TwitterAccount.objects.count() == 1


def test_a_wrong_code_verifier_is_refused_by_x_and_creates_nothing(
    client, oauth2_settings, x_emulator
):
    path = callback_path(act_at_x(start(client)["Location"]))
    session = client.session
    for entry in session[flows.SESSION_KEY].values():
        entry["secret"] = flows.crypto.encrypt("w" * 64)
    session.save()

    response = client.get(path)

    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert messages_of(response) == ["X did not accept this sign-in. Please try again."]
    assert not User.objects.exists() and not TwitterAccount.objects.exists()
    assert site_calls(x_emulator) == [f"POST {TOKEN}"]
    assert x_emulator.state.requests[-1].status == 400


def test_two_tabs_finish_in_any_order(client, oauth2_settings, x_emulator):
    first = start(client, next="/first/")
    second = start(client, next="/second/")
    second_back = callback_path(act_at_x(second["Location"], screen_name="bob"))
    first_back = callback_path(act_at_x(first["Location"], screen_name="alice"))
    assert client.get(second_back)["Location"] == "/second/"
    assert client.get(first_back)["Location"] == "/first/"


def test_an_expired_flow_is_refused_without_calling_x(client, oauth2_settings, x_emulator):
    path = callback_path(act_at_x(start(client)["Location"]))
    session = client.session
    for entry in session[flows.SESSION_KEY].values():
        entry["started"] -= 16 * 60
    session.save()
    response = client.get(path)
    assert response.status_code == 400 and b"expired" in response.content
    assert site_calls(x_emulator) == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"status": 503}, "X is not answering right now."),
        ({"drop": True}, "X is not answering right now."),
        ({"garble": True}, "X is not answering right now."),
        ({"status": 429}, "X is limiting requests from this site right now."),
    ],
)
def test_x_down_at_the_token_endpoint_creates_nothing(
    client, oauth2_settings, x_emulator, fault, message
):
    path = callback_path(act_at_x(start(client)["Location"]))
    x_emulator.state.inject(TOKEN, **fault)

    response = client.get(path)

    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert messages_of(response)[0].startswith(message)
    assert not User.objects.exists() and not TwitterAccount.objects.exists()
    assert SESSION_KEY not in client.session


def test_x_down_at_users_me_creates_nothing(client, oauth2_settings, x_emulator):
    path = callback_path(act_at_x(start(client)["Location"]))
    x_emulator.state.inject(ME, status=503)
    response = client.get(path)
    assert response["Location"] == "/signin/"
    assert messages_of(response)[0].startswith("X is not answering right now.")
    assert not TwitterAccount.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        "state=",
        "state=abc",
        "code=abc",
        "state=" + "a" * 201 + "&code=1",
        "state=abc&code=" + "9" * 201,
        "state=" + "a" * 500 + "&error=access_denied",
        "state=%00%ff&code=%00",
    ],
)
def test_garbage_and_oversized_parameters_get_a_400_page(
    client, oauth2_settings, x_emulator, query
):
    start(client)  # a flow is open: the garbage must not finish or break it
    response = client.get(f"/accounts/twitter/callback/?{query}")
    assert response.status_code == 400
    assert b"Please start again" in response.content
    assert x_emulator.state.count() == 0


# --- users.email -----------------------------------------------------------------------------


def with_email_scope(settings):
    scopes = (
        [*settings.TWITTER_OAUTH["OAUTH2_SCOPES"], "users.email"]
        if ("OAUTH2_SCOPES" in settings.TWITTER_OAUTH)
        else ["tweet.read", "tweet.write", "users.read", "offline.access", "users.email"]
    )
    settings.TWITTER_OAUTH = {**settings.TWITTER_OAUTH, "OAUTH2_SCOPES": scopes}


def test_users_email_gives_the_created_user_the_confirmed_email(
    client, oauth2_settings, x_emulator
):
    with_email_scope(oauth2_settings)
    sign_in(client, screen_name="alice")

    user = User.objects.get()
    alice = x_emulator.state.user_by_screen_name("alice")
    assert user.email and user.email == alice.email
    me = next(r for r in x_emulator.state.requests if r.path == ME)
    assert "confirmed_email" in me.query["user.fields"]
    assert site_calls(x_emulator) == [f"POST {TOKEN}", f"GET {ME}"]


def test_without_users_email_no_email_is_asked_for(client, oauth2_settings, x_emulator):
    sign_in(client, screen_name="alice")
    me = next(r for r in x_emulator.state.requests if r.path == ME)
    assert "confirmed_email" not in me.query["user.fields"]
    assert User.objects.get().email == ""


created_with: list = []


def create_user_hook(access):
    created_with.append((access.screen_name, access.protocol, access.email))
    return User.objects.create_user(f"hooked-{access.user_id}")


def test_create_user_hooks_receive_the_email(client, oauth2_settings, x_emulator):
    with_email_scope(oauth2_settings)
    oauth2_settings.TWITTER_OAUTH = {
        **oauth2_settings.TWITTER_OAUTH,
        "CREATE_USER": f"{__name__}.create_user_hook",
    }
    created_with.clear()
    sign_in(client, screen_name="alice")
    alice = x_emulator.state.user_by_screen_name("alice")
    assert created_with == [("alice", "oauth2", alice.email)]
    assert User.objects.get().username == f"hooked-{alice.id}"


def test_sign_in_signals_are_sent_for_oauth2(client, oauth2_settings, x_emulator):
    with receiving(signals.user_signed_in) as seen:
        sign_in(client, screen_name="carol")
    assert [(kw["account"].protocol, kw["created_user"]) for kw in seen] == [("oauth2", True)]
