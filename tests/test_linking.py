"""Linking more X accounts to a signed-in user, unlinking, the backend and the profile task."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model

from tests.signin_helpers import (
    CONNECT_URL,
    act_at_x,
    callback_path,
    messages_of,
    receiving,
    sign_in,
    start,
)
from twitter_oauth import signals
from twitter_oauth.models import TwitterAccount

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def signed_in(client, x_settings, x_emulator):
    """A client signed in with X as alice (a user with no password)."""
    sign_in(client, screen_name="alice")
    return client


def connect(client, screen_name, **data):
    started = start(client, CONNECT_URL, **data)
    assert started.status_code == 302, started.content
    assert "/oauth/authorize?" in started["Location"]
    return client.get(callback_path(act_at_x(started["Location"], screen_name=screen_name)))


def test_connect_needs_a_signed_in_user(client, x_settings, x_emulator):
    response = client.post(CONNECT_URL)
    assert response.status_code == 302 and response["Location"].startswith("/signin/?next=")
    assert x_emulator.state.count() == 0


def test_connect_page_shows_a_post_button(signed_in):
    response = signed_in.get(CONNECT_URL)
    assert response.status_code == 200
    assert b'action="/accounts/twitter/connect/"' in response.content


def test_a_second_account_is_linked_to_the_signed_in_user(signed_in, x_emulator):
    with receiving(signals.account_linked) as seen:
        response = connect(signed_in, "bob", next="/settings/")
    assert response["Location"] == "/settings/"
    assert messages_of(response) == ["Linked the X account @bob."]
    alice_user = User.objects.get()
    assert sorted(alice_user.twitter_accounts.values_list("screen_name", flat=True)) == [
        "alice",
        "bob",
    ]
    assert [(kw["account"].screen_name, kw["created"]) for kw in seen] == [("bob", True)]


def test_linking_an_account_already_linked_to_the_user_renews_it(signed_in, x_emulator):
    response = connect(signed_in, "alice")
    assert messages_of(response) == [
        "The X account @alice was already linked; its access was renewed."
    ]
    assert TwitterAccount.objects.count() == 1


def test_an_account_owned_by_someone_else_is_refused_not_moved(client, x_settings, x_emulator):
    from django.test import Client

    other = Client()
    sign_in(other, screen_name="bob")
    bob_account = TwitterAccount.objects.get(screen_name="bob")
    sign_in(client, screen_name="alice")

    response = connect(client, "bob")

    assert response.status_code == 302
    assert messages_of(response) == ["The X account @bob is already linked to another user."]
    bob_account.refresh_from_db()
    assert bob_account.user.username == "bob"
    assert TwitterAccount.objects.filter(user__username="alice").count() == 1


def test_connect_finished_by_another_user_is_refused(signed_in, x_emulator):
    started = start(signed_in, CONNECT_URL)
    path = callback_path(act_at_x(started["Location"], screen_name="bob"))
    session = signed_in.session
    from twitter_oauth.services import flows

    for entry in session[flows.SESSION_KEY].values():
        entry["user"] = "999"
    session.save()
    response = signed_in.get(path)
    assert "no longer signed in as the user who started" in messages_of(response)[0]
    assert not TwitterAccount.objects.filter(screen_name="bob").exists()
    assert x_emulator.state.count("/oauth/access_token") == 1  # only alice's sign-in


def test_cancelled_connect_goes_back_to_next(signed_in, x_emulator):
    started = start(signed_in, CONNECT_URL, next="/settings/")
    response = signed_in.get(callback_path(act_at_x(started["Location"], cancel=True)))
    assert response["Location"] == "/settings/"
    assert messages_of(response) == ["Linking an X account was cancelled."]


# --- disconnect --------------------------------------------------------------------------------


def disconnect_url(account):
    return f"/accounts/twitter/{account.pk}/disconnect/"


def test_disconnecting_the_last_login_method_is_refused(signed_in, x_emulator):
    account = TwitterAccount.objects.get()
    response = signed_in.post(disconnect_url(account))
    assert response.status_code == 302
    assert "only way to sign in" in messages_of(response)[0]
    assert TwitterAccount.objects.filter(pk=account.pk).exists()
    assert x_emulator.state.count("/1.1/oauth/invalidate_token") == 0


def test_disconnect_revokes_at_x_and_unlinks(signed_in, x_emulator):
    connect(signed_in, "bob")
    bob = TwitterAccount.objects.get(screen_name="bob")
    token = bob.access_token
    with (
        receiving(signals.account_unlinked) as unlinked,
        receiving(signals.account_tokens_revoked) as revoked,
    ):
        response = signed_in.post(disconnect_url(bob), {"next": "/settings/"})
    assert response["Location"] == "/settings/"
    assert messages_of(response) == ["Unlinked the X account @bob."]
    assert not TwitterAccount.objects.filter(screen_name="bob").exists()
    assert x_emulator.state.count("/1.1/oauth/invalidate_token") == 1
    assert [kw["reason"] for kw in revoked] == ["unlinked"]
    assert [kw["account"].twitter_id for kw in unlinked] == [bob.twitter_id]
    from twitter_oauth.client import TwitterClient
    from twitter_oauth.exceptions import TwitterTokenRevoked

    with pytest.raises(TwitterTokenRevoked):
        TwitterClient(token, "whatever").get_me()


def test_disconnect_with_a_password_is_allowed_for_the_last_account(signed_in, x_emulator):
    user = User.objects.get()
    user.set_password("pw")
    user.save()
    signed_in.force_login(user)
    account = TwitterAccount.objects.get()
    signed_in.post(disconnect_url(account))
    assert not TwitterAccount.objects.exists()


def test_disconnect_unlinks_even_when_x_is_down(signed_in, x_emulator, caplog):
    connect(signed_in, "bob")
    x_emulator.state.inject("/1.1/oauth/invalidate_token", status=503)
    bob = TwitterAccount.objects.get(screen_name="bob")
    response = signed_in.post(disconnect_url(bob))
    assert response.status_code == 302
    assert not TwitterAccount.objects.filter(pk=bob.pk).exists()
    assert "Could not revoke the token" in caplog.text
    assert bob.access_token not in caplog.text


def test_disconnect_of_another_users_account_is_404(client, x_settings, x_emulator):
    from django.test import Client

    other = Client()
    sign_in(other, screen_name="bob")
    sign_in(client, screen_name="alice")
    bob = TwitterAccount.objects.get(screen_name="bob")
    assert client.post(disconnect_url(bob)).status_code == 404
    assert TwitterAccount.objects.filter(pk=bob.pk).exists()


def test_disconnect_get_shows_a_confirm_page(signed_in):
    account = TwitterAccount.objects.get()
    response = signed_in.get(disconnect_url(account))
    assert response.status_code == 200
    assert b"Disconnect @alice?" in response.content


# --- backend, profile task ---------------------------------------------------------------------


def test_backend_authenticates_by_twitter_account(signed_in, settings, rf):
    settings.AUTHENTICATION_BACKENDS = ["twitter_oauth.backends.TwitterAccountBackend"]
    account = TwitterAccount.objects.select_related("user").get()
    assert authenticate(rf.get("/"), twitter_account=account) == account.user
    assert authenticate(rf.get("/"), username="alice", password="") is None
    User.objects.update(is_active=False)
    account = TwitterAccount.objects.select_related("user").get()
    assert authenticate(rf.get("/"), twitter_account=account) is None


def test_sign_in_records_our_backend_when_listed(client, x_settings, x_emulator, settings):
    from django.contrib.auth import BACKEND_SESSION_KEY

    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "twitter_oauth.backends.TwitterAccountBackend",
    ]
    sign_in(client)
    assert client.session[BACKEND_SESSION_KEY] == "twitter_oauth.backends.TwitterAccountBackend"
    assert client.get("/home/").content == b"page for alice"


def test_profile_is_fetched_after_commit_by_a_task(
    client, x_settings, x_emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sign_in(client, screen_name="carol")
    assert len(callbacks) == 1
    account = TwitterAccount.objects.get()
    carol = x_emulator.state.user_by_screen_name("carol")
    assert account.name == carol.name
    assert account.profile_image_url == x_emulator.state.avatar_url(carol)
    assert account.verified_at is not None
    assert x_emulator.state.count("/2/users/me") == 1


def test_a_recent_profile_is_not_fetched_again(
    client, x_settings, x_emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(client, screen_name="carol")
    client.logout()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sign_in(client, screen_name="carol")
    assert callbacks == []
    assert x_emulator.state.count("/2/users/me") == 1


def test_profile_task_marks_a_revoked_account(client, x_settings, x_emulator):
    from twitter_oauth import tasks

    sign_in(client, screen_name="carol")
    account = TwitterAccount.objects.get()
    x_emulator.state.revoke(account.access_token)
    with receiving(signals.account_tokens_revoked) as revoked:
        tasks.refresh_profile.delay(account.pk)
        tasks.refresh_profile.delay(account.pk)  # a second run does no harm and calls nobody
    account.refresh_from_db()
    assert account.revoked_at is not None
    assert [kw["reason"] for kw in revoked] == ["refused_by_x"]
    assert x_emulator.state.count("/2/users/me") == 1


def test_signing_in_again_clears_the_revoked_mark(client, x_settings, x_emulator):
    sign_in(client, screen_name="carol")
    TwitterAccount.objects.update(revoked_at="2026-01-01T00:00:00Z")
    client.logout()
    sign_in(client, screen_name="carol")
    assert TwitterAccount.objects.get().revoked_at is None


def test_x_down_when_starting_to_link_goes_back_to_next(signed_in, x_emulator):
    x_emulator.state.inject("/oauth/request_token", status=503)
    response = start(signed_in, CONNECT_URL, next="/settings/")
    assert response.status_code == 302 and response["Location"] == "/settings/"
    assert messages_of(response)[0].startswith("X is not answering right now.")
