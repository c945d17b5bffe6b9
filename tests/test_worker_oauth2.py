"""A real worker posting for OAuth 2.0 accounts whose access tokens expired: one refresh each.

Posts are scheduled with ``schedule_tweet`` as a web process would; the test
process publishes to the worker's broker queue, so whatever the posting engine
enqueues reaches the worker. Only the emulator's counters are asserted on.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.celery import app as celery_app
from tests.worker_helpers import Worker, all_done, wait_until
from twitter_oauth.models import ScheduledTweet, TwitterAccount
from twitter_oauth.services import schedule_tweet
from twitter_oauth.testing import EmulatorServer, XEmulator

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]

SCOPES = ("tweet.read", "tweet.write", "users.read", "offline.access")
POSTS = 12


@pytest.fixture
def emulator():
    state = XEmulator(post_limit=10**6, daily_post_limit=10**6, seed=12)
    with EmulatorServer(state) as server:
        yield server


@pytest.fixture
def worker(redis_url, emulator, tmp_path):
    worker = Worker(redis_url, emulator, tmp_path)
    saved = {
        name: celery_app.conf[name]
        for name in ("broker_url", "task_always_eager", "task_default_queue")
    }
    celery_app.close()
    celery_app.conf.update(
        broker_url=redis_url, task_always_eager=False, task_default_queue=worker.queue
    )
    yield worker
    celery_app.close()
    celery_app.conf.update(saved)
    worker.stop()


def expired_oauth2_accounts(emulator: EmulatorServer, count: int) -> list[TwitterAccount]:
    """Accounts whose access tokens are two hours old, at X and here."""
    accounts = []
    for n in range(count):
        person = emulator.emulator.add_user(f"bearer{n}")
        access, refresh = emulator.emulator.issue_oauth2_token("test-client-id", person, SCOPES)
        accounts.append(
            TwitterAccount.objects.create(
                user=get_user_model().objects.create_user(f"bearer{n}"),
                twitter_id=person.id,
                screen_name=person.screen_name,
                protocol="oauth2",
                access_token=access,
                refresh_token=refresh,
                token_expires_at=timezone.now() - dt.timedelta(minutes=1),
                refresh_token_issued_at=timezone.now() - dt.timedelta(hours=2),
                scopes=" ".join(SCOPES),
            )
        )
    emulator.emulator.expire_oauth2_tokens()
    return accounts


def test_expired_accounts_post_everything_with_exactly_one_refresh_each(worker, emulator):
    accounts = expired_oauth2_accounts(emulator, 2)
    worker.start(beat=True, concurrency=2)
    for n in range(POSTS):
        schedule_tweet(accounts[n % 2], f"bearer post {n}")

    wait_until(all_done(POSTS), timeout=90, worker=worker, what=f"{POSTS} posts")

    state = emulator.emulator
    assert Counter(ScheduledTweet.objects.values_list("status", flat=True)) == {"sent": POSTS}
    at_x = Counter((tweet.author_id, tweet.text) for tweet in state.tweets.values())
    assert len(at_x) == POSTS and set(at_x.values()) == {1}
    assert state.refreshes_by_user == {account.twitter_id: 1 for account in accounts}
    assert not state.refresh_token_presented_twice
    assert all(state.expired_token_requests[a.twitter_id] <= 1 for a in accounts)
    for account in accounts:
        account.refresh_from_db()
        assert account.revoked_at is None and state.bearer(account.access_token) is not None
