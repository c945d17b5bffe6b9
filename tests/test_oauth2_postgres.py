"""What SQLite hides: many threads needing one account's refresh at once, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone

from tests.test_oauth2_tokens import make_account
from twitter_oauth import services
from twitter_oauth.models import TwitterAccount

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12


def in_threads(work) -> list[BaseException]:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def fresh_client_call() -> None:
    # Each worker or request reads the account itself, as a task would.
    services.client_for(TwitterAccount.objects.get()).get_me()


def test_an_expired_token_needed_by_many_threads_is_refreshed_once(
    x_settings, x_emulator, django_user_model
):
    account = make_account(x_emulator, django_user_model)
    TwitterAccount.objects.filter(pk=account.pk).update(
        token_expires_at=timezone.now() - dt.timedelta(minutes=5)
    )

    errors = in_threads(fresh_client_call)

    assert errors == []
    state = x_emulator.state
    assert state.refreshes_by_user == {account.twitter_id: 1}
    assert not state.refresh_token_presented_twice
    assert state.expired_token_requests == {}
    assert state.count("/2/users/me") == THREADS
    stored = TwitterAccount.objects.get()
    assert state.bearer(stored.access_token) is not None
    assert stored.refresh_token in {r.token for r in state.oauth2_tokens.values()}


def test_a_token_x_expired_early_is_refreshed_once_however_many_threads_meet_the_401(
    x_settings, x_emulator, django_user_model
):
    account = make_account(x_emulator, django_user_model)
    x_emulator.state.expire_oauth2_tokens()

    errors = in_threads(fresh_client_call)

    assert errors == []
    state = x_emulator.state
    assert state.refreshes_by_user == {account.twitter_id: 1}
    assert not state.refresh_token_presented_twice
    assert TwitterAccount.objects.get().revoked_at is None
