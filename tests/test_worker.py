"""A real Celery worker, against Redis and against RabbitMQ, posting through the emulator.

The worker is a subprocess using tests.settings, pointed by environment at this
test's PostgreSQL database, broker queue and emulator. Posts are created here
and their tasks published by name, as a web process would.
"""

from __future__ import annotations

import pytest

from tests.worker_helpers import (
    Status,
    all_done,
    assert_each_posted_once,
    make_accounts,
    make_posts,
    wait_until,
)
from twitter_oauth.models import ScheduledTweet

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_two_hundred_posts_are_each_sent_once(worker, emulator):
    accounts = make_accounts(emulator, 4)
    ids = make_posts(accounts, 200)
    worker.start()
    worker.send(ids)
    wait_until(all_done(200), timeout=90, worker=worker, what="200 posts")
    assert_each_posted_once(emulator, 200)
    assert emulator.emulator.count("/2/tweets", "POST") == 200  # no retries were needed


def test_outages_and_rate_limits_lose_nothing_and_respect_the_reset(worker, emulator):
    accounts = make_accounts(emulator, 4)
    ids = make_posts(accounts, 200)
    emulator.emulator.inject("/2/tweets", status=503, times=None, rate=0.3)
    emulator.emulator.inject("/2/tweets", status=429, times=4, rate=0.1, reset_in=2)
    worker.start(beat=True)
    worker.send(ids)
    wait_until(all_done(200), timeout=150, worker=worker, what="posts through outages")
    emulator.emulator.clear_faults()
    assert_each_posted_once(emulator, 200)

    requests = emulator.emulator.requests
    limited = [r for r in requests if r.status == 429]
    assert len(limited) == 4
    assert sum(r.status == 503 for r in requests) >= 30
    for hit in limited:
        reset = int(hit.response_headers["x-rate-limit-reset"])
        early = [r for r in requests if r.token == hit.token and hit.at < r.at < reset]
        assert early == [], f"{len(early)} request(s) with a limited token before its reset"


def test_a_worker_killed_mid_send_loses_nothing_and_posts_nothing_twice(worker, emulator):
    accounts = make_accounts(emulator, 2)
    ids = make_posts(accounts, 100)
    slow = {"delay": 0.05, "times": None}  # keep the batch going a while
    emulator.emulator.inject("/2/tweets", **slow)
    first = worker.start(concurrency=2)
    worker.send(ids)
    wait_until(
        lambda: ScheduledTweet.objects.filter(status=Status.SENT).count() >= 20,
        timeout=60, worker=worker, what="the first 20 posts",
    )  # fmt: skip
    emulator.emulator.clear_faults()
    in_flight = emulator.emulator.inject("/2/tweets", delay=1.5, times=1)
    emulator.emulator.inject("/2/tweets", **slow)
    wait_until(lambda: in_flight.applied == 1, timeout=30, worker=worker, what="a send in flight")
    worker.kill(first)
    emulator.emulator.clear_faults()
    assert ScheduledTweet.objects.filter(status=Status.SENDING).exists()

    worker.start(beat=True)  # a new worker, with the sweep that takes over abandoned posts
    worker.send(ScheduledTweet.objects.filter(status=Status.PENDING).values_list("pk", flat=True))
    wait_until(all_done(100), timeout=120, worker=worker, what="recovery after SIGKILL")
    assert_each_posted_once(emulator, 100)
    # The post the dead worker was sending was taken over, and X was asked before posting.
    assert ScheduledTweet.objects.filter(attempts__gte=2).exists()
    lookups = [
        r for r in emulator.emulator.requests if r.path.endswith("/tweets") and r.method == "GET"
    ]
    assert lookups


def test_a_revoked_token_fails_its_posts_clearly(worker, emulator):
    accounts = make_accounts(emulator, 2)
    emulator.emulator.revoke(accounts[0].access_token)
    ids = make_posts(accounts, 10)
    worker.start()
    worker.send(ids)
    wait_until(all_done(10), timeout=60, worker=worker, what="10 posts")
    failed = ScheduledTweet.objects.filter(status=Status.FAILED)
    assert set(failed.values_list("account", flat=True)) == {accounts[0].pk}
    assert failed.count() == 5
    assert all("revoked" in error for error in failed.values_list("last_error", flat=True))
    assert ScheduledTweet.objects.filter(status=Status.SENT, account=accounts[1]).count() == 5
    accounts[0].refresh_from_db()
    assert accounts[0].revoked_at is not None
