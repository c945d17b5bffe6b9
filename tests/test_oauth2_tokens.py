"""OAuth 2.0 accounts: Bearer calls, refresh before expiry and after a 401, revocation, keep-alive."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from twitter_oauth import services, tasks
from twitter_oauth.beat import beat_schedule
from twitter_oauth.exceptions import (
    PostRejected,
    TokenRefreshInTransaction,
    TwitterAuthError,
    TwitterError,
    TwitterTokenExpired,
    TwitterTokenRevoked,
)
from twitter_oauth.models import TwitterAccount
from twitter_oauth.services import tokens

pytestmark = pytest.mark.django_db

TOKEN = "/2/oauth2/token"
FULL = ("tweet.read", "tweet.write", "users.read", "offline.access")


def make_account(x_emulator, django_user_model, *, scopes=FULL, expires_in=7200, name="alice"):
    """An OAuth 2.0 account holding the tokens the emulator issued for ``name``."""
    person = x_emulator.state.user_by_screen_name(name) or x_emulator.state.add_user(name)
    access, refresh = x_emulator.state.issue_oauth2_token("test-client-id", person, scopes)
    user = django_user_model.objects.create_user(name, password="pw")
    return TwitterAccount.objects.create(
        user=user,
        twitter_id=person.id,
        screen_name=name,
        protocol="oauth2",
        access_token=access,
        refresh_token=refresh,
        token_expires_at=timezone.now() + dt.timedelta(seconds=expires_in),
        refresh_token_issued_at=timezone.now(),
        scopes=" ".join(scopes),
    )


@pytest.fixture
def account(x_settings, x_emulator, django_user_model):
    return make_account(x_emulator, django_user_model)


def expire_here(account: TwitterAccount) -> None:
    TwitterAccount.objects.filter(pk=account.pk).update(
        token_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    account.refresh_from_db()


def test_client_for_an_oauth2_account_signs_with_bearer(account, x_emulator):
    assert services.client_for(account).get_me()["username"] == "alice"
    request = x_emulator.state.requests[-1]
    assert request.headers["Authorization"] == f"Bearer {account.access_token}"
    assert x_emulator.state.count(TOKEN) == 0


def test_a_token_about_to_expire_is_refreshed_once_before_the_call(account, x_emulator):
    TwitterAccount.objects.filter(pk=account.pk).update(
        token_expires_at=timezone.now() + dt.timedelta(seconds=30)
    )
    account.refresh_from_db()
    old_refresh = account.refresh_token
    client = services.client_for(account)

    client.get_me()
    client.get_me()

    assert [r.path for r in x_emulator.state.requests] == [TOKEN, "/2/users/me", "/2/users/me"]
    stored = TwitterAccount.objects.get()
    assert stored.refresh_token != old_refresh and stored.access_token == client.bearer_token
    assert stored.token_expires_at > timezone.now() + dt.timedelta(hours=1)
    assert x_emulator.state.refresh_presentations == {old_refresh: 1}
    assert x_emulator.state.expired_token_requests == {}


def test_a_401_for_a_token_x_let_expire_refreshes_once_and_retries_once(account, x_emulator):
    x_emulator.state.expire_oauth2_tokens()  # X's clock ran ahead of ours

    profile = services.client_for(account).get_me()

    assert profile["username"] == "alice"
    assert [(r.path, r.status) for r in x_emulator.state.requests] == [
        ("/2/users/me", 401),
        (TOKEN, 200),
        ("/2/users/me", 200),
    ]
    assert TwitterAccount.objects.get().revoked_at is None


def test_a_401_for_a_token_just_refreshed_revokes_the_account(account, x_emulator):
    x_emulator.state.inject("/2/users/me", status=401, times=2)

    with pytest.raises(TwitterTokenRevoked):
        services.refresh_profile(account)

    assert x_emulator.state.count(TOKEN) == 1
    assert x_emulator.state.count("/2/users/me") == 2
    assert TwitterAccount.objects.get().revoked_at is not None


def test_a_refused_refresh_revokes_the_account(account, x_emulator):
    x_emulator.state.revoke_oauth2("test-client-id", account.refresh_token)
    expire_here(account)

    with pytest.raises(TwitterTokenRevoked) as raised:
        services.client_for(account).create_tweet("hello")

    assert "sign in with X again" in str(raised.value)
    assert x_emulator.state.count("/2/tweets") == 0
    assert TwitterAccount.objects.get().revoked_at is not None


def test_posting_after_a_refused_refresh_marks_the_account_revoked(account, x_emulator):
    x_emulator.state.revoke_oauth2("test-client-id", account.refresh_token)
    expire_here(account)
    with pytest.raises(TwitterAuthError):
        services.post_tweet(account, "hello")
    assert TwitterAccount.objects.get().is_revoked


def test_bad_client_credentials_at_refresh_revoke_nobody(account, x_settings, x_emulator):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "CLIENT_SECRET": "wrong"}
    expire_here(account)
    with pytest.raises(TwitterError) as raised:
        services.client_for(account).get_me()
    assert not isinstance(raised.value, TwitterAuthError)
    assert "client credentials" in str(raised.value)
    assert TwitterAccount.objects.get().revoked_at is None


def test_x_down_at_refresh_changes_nothing(account, x_emulator):
    expire_here(account)
    x_emulator.state.inject(TOKEN, status=503)
    before = account.refresh_token
    with pytest.raises(TwitterError):
        services.client_for(account).get_me()
    stored = TwitterAccount.objects.get()
    assert stored.refresh_token == before and stored.revoked_at is None


def test_an_expired_account_without_a_refresh_token_asks_to_sign_in_again(
    x_settings, x_emulator, django_user_model
):
    account = make_account(
        x_emulator, django_user_model, scopes=("tweet.read", "tweet.write", "users.read")
    )
    assert account.refresh_token is None
    expire_here(account)

    with pytest.raises(TwitterTokenExpired) as raised:
        services.client_for(account).create_tweet("hello")

    assert "Sign in with X again" in str(raised.value)
    assert not isinstance(raised.value, TwitterAuthError)
    assert TwitterAccount.objects.get().revoked_at is None
    assert x_emulator.state.count() == 0


def test_a_public_client_refreshes_with_its_client_id(x_settings, x_emulator, django_user_model):
    x_settings.TWITTER_OAUTH = {
        **x_settings.TWITTER_OAUTH,
        "CLIENT_ID": "test-public-client-id",
        "CLIENT_SECRET": "",
    }
    person = x_emulator.state.user_by_screen_name("alice")
    access, refresh = x_emulator.state.issue_oauth2_token("test-public-client-id", person, FULL)
    account = TwitterAccount.objects.create(
        user=django_user_model.objects.create_user("alice"),
        twitter_id=person.id,
        screen_name="alice",
        protocol="oauth2",
        access_token=access,
        refresh_token=refresh,
        token_expires_at=timezone.now(),
        scopes=" ".join(FULL),
    )
    services.client_for(account).get_me()
    token_request = x_emulator.state.requests[0]
    assert token_request.path == TOKEN and "Authorization" not in token_request.headers
    assert token_request.status == 200


def test_inside_a_transaction_with_debug_the_refresh_is_refused_loudly(
    account, x_emulator, settings
):
    settings.DEBUG = True
    expire_here(account)
    with pytest.raises(TokenRefreshInTransaction), transaction.atomic():
        services.client_for(account).get_me()
    assert x_emulator.state.count() == 0


# --- posting, disconnect ----------------------------------------------------------------------


def test_a_post_for_an_account_without_tweet_write_is_refused_before_x(
    x_settings, x_emulator, django_user_model
):
    account = make_account(
        x_emulator, django_user_model, scopes=("tweet.read", "users.read", "offline.access")
    )
    with pytest.raises(PostRejected) as raised:
        services.post_tweet(account, "hello")
    assert "Sign in with X again and allow this site to post" in raised.value.message
    with pytest.raises(PostRejected):
        services.schedule_tweet(account, "hello")
    assert x_emulator.state.count() == 0


def test_an_oauth2_account_posts_with_bearer(account, x_emulator):
    tweet_id = services.post_tweet(account, "hello over OAuth 2.0")
    assert x_emulator.state.tweets[tweet_id].text == "hello over OAuth 2.0"


def test_disconnect_revokes_both_tokens_at_x(account, x_emulator):
    refresh_token, access_token = account.refresh_token, account.access_token
    services.unlink(account)

    revokes = [r for r in x_emulator.state.requests if r.path == "/2/oauth2/revoke"]
    assert [r.token for r in revokes] == [refresh_token, access_token]
    assert all(r.status == 200 for r in revokes)
    assert x_emulator.state.bearer(access_token) is None
    assert not TwitterAccount.objects.exists()


def test_profile_refresh_works_with_bearer(account, x_emulator):
    TwitterAccount.objects.filter(pk=account.pk).update(name="", profile_image_url="")
    account.refresh_from_db()
    services.refresh_profile(account)
    stored = TwitterAccount.objects.get()
    assert stored.name and stored.profile_image_url and stored.verified_at


# --- keep-alive -------------------------------------------------------------------------------


def age_refresh_token(account: TwitterAccount, days: float) -> None:
    TwitterAccount.objects.filter(pk=account.pk).update(
        refresh_token_issued_at=timezone.now() - dt.timedelta(days=days)
    )


def test_keep_alive_refreshes_only_accounts_near_their_refresh_tokens_end(
    x_settings, x_emulator, django_user_model
):
    old = make_account(x_emulator, django_user_model, name="alice")
    recent = make_account(x_emulator, django_user_model, name="bob")
    oauth1 = TwitterAccount.objects.create(
        user=django_user_model.objects.create_user("carol"),
        twitter_id="1",
        screen_name="carol",
        access_token="1-t",
        access_token_secret="s",
    )
    age_refresh_token(old, 29.5)
    age_refresh_token(recent, 28.5)
    age_refresh_token(oauth1, 100)

    assert tokens.expiring_refresh_token_ids() == [old.pk]
    assert tasks.keep_oauth2_tokens_alive() == 1
    assert tokens.expiring_refresh_token_ids() == []
    assert x_emulator.state.refreshes_by_user == {old.twitter_id: 1}
    stored = TwitterAccount.objects.get(pk=old.pk)
    assert stored.refresh_token != old.refresh_token


def test_keep_alive_of_a_refused_refresh_token_marks_it_revoked(account, x_emulator):
    age_refresh_token(account, 40)
    x_emulator.state.revoke_oauth2("test-client-id", account.refresh_token)
    assert tasks.keep_oauth2_tokens_alive() == 0
    assert TwitterAccount.objects.get().revoked_at is not None


def test_the_beat_schedule_runs_the_keep_alive_task():
    schedule = beat_schedule(keep_tokens_alive_every=600)
    entry = schedule["twitter_oauth.keep_oauth2_tokens_alive"]
    assert entry["task"] == "twitter_oauth.tasks.keep_oauth2_tokens_alive"
    assert entry["schedule"] == 600


def test_the_profile_sweep_skips_expired_accounts_that_cannot_refresh(
    x_settings, x_emulator, django_user_model
):
    stuck = make_account(
        x_emulator, django_user_model, scopes=("tweet.read", "tweet.write", "users.read")
    )
    refreshable = make_account(x_emulator, django_user_model, name="bob")
    expire_here(stuck)
    expire_here(refreshable)
    assert services.stale_account_ids() == [refreshable.pk]
