"""The admin: constant queries on the changelist, no tokens shown, actions through the services."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from twitter_oauth.models import ScheduledTweet, TwitterAccount

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/twitter_oauth/twitteraccount/"


def make_accounts(django_user_model, count, start=0):
    accounts = []
    for n in range(start, start + count):
        user = django_user_model.objects.create_user(f"user{n}")
        accounts.append(
            TwitterAccount.objects.create(
                user=user, twitter_id=str(1000 + n), screen_name=f"name{n}",
                access_token=f"{1000 + n}-secret-token", access_token_secret=f"secret-{n}",
                profile_image_url=f"https://avatars.example/{n}.png",
            )
        )  # fmt: skip
    return accounts


def changelist_queries(admin_client, url=CHANGELIST):
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_changelist_runs_the_same_queries_for_1_and_100_rows(admin_client, django_user_model):
    make_accounts(django_user_model, 1)
    one, _ = changelist_queries(admin_client)
    make_accounts(django_user_model, 99, start=1)
    hundred, html = changelist_queries(admin_client)
    assert one == hundred
    assert "name42" in html and "https://avatars.example/42.png" in html


def test_search_and_filters_keep_constant_queries(admin_client, django_user_model):
    make_accounts(django_user_model, 3)
    one, _ = changelist_queries(admin_client, f"{CHANGELIST}?q=name1&revoked=no")
    make_accounts(django_user_model, 30, start=3)
    many, html = changelist_queries(admin_client, f"{CHANGELIST}?q=name1&revoked=no")
    assert one == many
    assert "name12" in html


def test_tokens_are_never_shown(admin_client, django_user_model):
    (account,) = make_accounts(django_user_model, 1)
    for url in (CHANGELIST, f"{CHANGELIST}{account.pk}/change/"):
        html = admin_client.get(url).content.decode()
        assert "secret-token" not in html and "secret-0" not in html
        assert "access_token" not in html


def test_an_oauth2_account_shows_protocol_scopes_and_expiry_but_no_token(
    admin_client, django_user_model
):
    import datetime as dt

    from django.utils import timezone

    account = TwitterAccount.objects.create(
        user=django_user_model.objects.create_user("bearer"),
        twitter_id="77",
        screen_name="bearer",
        protocol="oauth2",
        access_token="bearer-access-secret",
        refresh_token="bearer-refresh-secret",
        token_expires_at=timezone.now() + dt.timedelta(hours=2),
        scopes="tweet.read tweet.write users.read offline.access",
    )
    listed = admin_client.get(f"{CHANGELIST}?protocol__exact=oauth2").content.decode()
    assert "OAuth 2.0" in listed and "bearer" in listed
    form = admin_client.get(f"{CHANGELIST}{account.pk}/change/").content.decode()
    assert "tweet.read tweet.write users.read offline.access" in form
    assert "Access token expires" in form and "Refresh token issued" in form
    for html in (listed, form):
        assert "bearer-access-secret" not in html and "bearer-refresh-secret" not in html
        assert 'name="refresh_token"' not in html and 'name="access_token"' not in html


def test_the_change_form_cannot_edit_tokens(admin_client, django_user_model):
    (account,) = make_accounts(django_user_model, 1)
    admin_client.post(
        f"{CHANGELIST}{account.pk}/change/",
        {"user": account.user_id, "screen_name": "renamed", "name": "", "profile_image_url": "",
         "access_token": "injected"},
    )  # fmt: skip
    account.refresh_from_db()
    assert account.access_token == "1000-secret-token"


def action(admin_client, name, accounts, url=CHANGELIST):
    return admin_client.post(
        url, {"action": name, "_selected_action": [a.pk for a in accounts]}, follow=True
    )


@pytest.fixture
def linked(linked_account):
    return linked_account


def test_verify_credentials_action(admin_client, linked, x_emulator):
    response = action(admin_client, "verify_credentials", [linked])
    assert "1 account verified." in response.content.decode()
    linked.refresh_from_db()
    assert linked.verified_at is not None and linked.name == "Alice Example"
    assert x_emulator.state.count("/2/users/me") == 1


def test_revoke_and_unlink_action(admin_client, linked, x_emulator):
    token = linked.access_token
    response = action(admin_client, "revoke_and_unlink", [linked])
    assert "1 account unlinked." in response.content.decode()
    assert not TwitterAccount.objects.exists()
    assert x_emulator.state.access_tokens[token].revoked


def test_post_a_test_tweet_action_reports_x_errors(admin_client, linked, x_emulator):
    response = action(admin_client, "post_test_tweet", [linked])
    assert "1 account posted." in response.content.decode()
    (tweet,) = x_emulator.state.tweets.values()
    assert tweet.text.startswith("Test post from testserver at ")
    x_emulator.state.inject("/2/tweets", status=503)
    response = action(admin_client, "post_test_tweet", [linked])
    assert "@alice: X answered 503" in response.content.decode()


def test_scheduled_tweet_actions(
    admin_client, linked, x_emulator, django_capture_on_commit_callbacks
):
    failed = ScheduledTweet.objects.create(account=linked, text="again", status="failed")
    pending = ScheduledTweet.objects.create(
        account=linked, text="stop", send_at="2099-01-01T00:00:00Z"
    )
    url = "/admin/twitter_oauth/scheduledtweet/"
    with django_capture_on_commit_callbacks(execute=True):
        response = action(admin_client, "retry_failed", [failed, pending], url=url)
    assert "1 post queued again." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == "sent"
    response = action(admin_client, "cancel_pending", [failed, pending], url=url)
    assert "1 post cancelled." in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "failed"


def test_scheduled_tweet_changelist_constant_queries(admin_client, linked):
    url = "/admin/twitter_oauth/scheduledtweet/"
    ScheduledTweet.objects.create(account=linked, text="one")
    one, _ = changelist_queries(admin_client, url)
    ScheduledTweet.objects.bulk_create(
        ScheduledTweet(account=linked, text=f"p{n}") for n in range(60)
    )
    many, _ = changelist_queries(admin_client, url)
    assert one == many
