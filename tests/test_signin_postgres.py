"""What SQLite hides: concurrent callbacks for one new X identity, on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client

from tests.signin_helpers import act_at_x, callback_path, start
from twitter_oauth.models import TwitterAccount

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONCURRENT_CALLBACKS = 20


def test_concurrent_callbacks_for_one_new_identity_create_one_user_and_one_account(
    x_settings, x_emulator
):
    browsers = [Client() for _ in range(CONCURRENT_CALLBACKS)]
    callbacks = [
        callback_path(act_at_x(start(browser)["Location"], screen_name="racer"))
        for browser in browsers
    ]
    barrier = threading.Barrier(CONCURRENT_CALLBACKS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def finish(browser: Client, callback: str) -> None:
        try:
            barrier.wait(timeout=30)
            statuses.append(browser.get(callback).status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=finish, args=pair) for pair in zip(browsers, callbacks, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert statuses == [302] * CONCURRENT_CALLBACKS
    assert get_user_model().objects.count() == 1
    account = TwitterAccount.objects.get()
    assert account.screen_name == "racer"
    signed_in = {b.session.get("_auth_user_id") for b in browsers}
    assert signed_in == {str(account.user_id)}


def test_twitter_id_is_unique_in_the_database(django_user_model):
    from django.db import IntegrityError, transaction

    user = django_user_model.objects.create_user("u")
    TwitterAccount.objects.create(
        user=user, twitter_id="1", screen_name="a", access_token="1-t", access_token_secret="s"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        TwitterAccount.objects.create(
            user=user, twitter_id="1", screen_name="b", access_token="1-t", access_token_secret="s"
        )
