"""Real workers killed while posts wait, and app-wide holds, on Redis and RabbitMQ.

What was in flight when a worker died is what these tests are about: posts waiting
on a retry backoff, an account waiting out a 429, the app waiting out a 402 or a
usage cap. Every wait is the row's, so a new worker (or the other one) finds them
by the documented bound: ``POST_LEASE`` plus the dispatch interval.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from tests.worker_helpers import (
    DISPATCH_INTERVAL,
    Status,
    all_done,
    assert_each_posted_once,
    make_accounts,
    make_posts,
    wait_until,
)
from twitter_oauth.models import AppHold, ScheduledTweet, TwitterAccount
from twitter_oauth.services import delivery

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]

LEASE = 3.0  # TEST_POST_LEASE of the test workers
#: Start-up of a new worker process and its beat, and the sends themselves.
SLACK = 20.0
#: Seconds a post already sent may take to arrive at the emulator (it delays each by 0.02 s).
IN_FLIGHT = 0.1


def slow_backoff(worker) -> None:
    """Retries that wait several seconds in their rows: long enough to kill a worker meanwhile."""
    worker.env.update({"TEST_POST_RETRY_BACKOFF": "4", "TEST_POST_RETRY_BACKOFF_MAX": "6"})


def posts_at(emulator, method="POST", path="/2/tweets"):
    with emulator.emulator.lock:
        return [r for r in emulator.emulator.requests if r.method == method and r.path == path]


def test_killed_while_posts_wait_on_a_backoff_every_post_goes_once_within_the_bound(
    worker, emulator
):
    slow_backoff(worker)
    accounts = make_accounts(emulator, 3)
    make_posts(accounts, 60)
    emulator.emulator.inject("/2/tweets", status=503, times=None, rate=0.3)
    first = worker.start(beat=True)
    wait_until(
        lambda: ScheduledTweet.objects.filter(status=Status.SENT).count() >= 30
        and ScheduledTweet.objects.filter(
            status=Status.PENDING, attempts__gte=1, send_at__gt=timezone.now()
        ).exists(),
        timeout=60, worker=worker, what="posts sent and others waiting on a backoff",
    )  # fmt: skip
    worker.kill(first)
    killed_at = timezone.now()
    emulator.emulator.clear_faults()
    waiting = ScheduledTweet.objects.exclude(status=Status.SENT)
    latest_due = max(row.send_at for row in waiting)
    assert waiting.filter(send_at__gt=killed_at).exists()  # some were waiting when it died

    worker.start(beat=True)
    bound = max(latest_due, killed_at).timestamp() + LEASE + DISPATCH_INTERVAL
    wait_until(all_done(60), timeout=bound - time.time() + SLACK, worker=worker, what="recovery")
    assert_each_posted_once(emulator, 60)
    last_sent = max(ScheduledTweet.objects.values_list("sent_at", flat=True))
    assert last_sent.timestamp() <= bound + SLACK


def test_killed_while_an_account_waits_out_a_429_no_request_comes_before_the_reset(
    worker, emulator
):
    accounts = make_accounts(emulator, 3)
    make_posts(accounts, 30)
    # The first post meets a 429 (faults apply in order), the rest are slowed down a little.
    limited = emulator.emulator.inject("/2/tweets", status=429, times=1, reset_in=6)
    emulator.emulator.inject("/2/tweets", delay=0.05, times=None)
    first = worker.start(beat=True)
    # Killed once the account waits (its limit recorded): a kill between X's 429 and that
    # record would leave nothing to wait for, and the next worker would meet X's 429 again.
    wait_until(
        lambda: limited.applied == 1
        and TwitterAccount.objects.filter(rate_limited_until__isnull=False).exists(),
        timeout=60, worker=worker, what="the 429 recorded",
    )  # fmt: skip
    worker.kill(first)
    emulator.emulator.clear_faults()
    [hit] = [r for r in emulator.emulator.requests if r.status == 429]
    reset = int(hit.response_headers["x-rate-limit-reset"])

    worker.start(beat=True)
    bound = max(reset, time.time()) + LEASE + DISPATCH_INTERVAL
    wait_until(all_done(30), timeout=bound - time.time() + SLACK, worker=worker, what="recovery")
    assert_each_posted_once(emulator, 30)
    early = [
        r for r in emulator.emulator.requests if r.token == hit.token and hit.at < r.at < reset
    ]
    assert early == [], f"{len(early)} request(s) with the limited token before its reset"


def test_two_workers_one_killed_while_posts_wait_the_other_sends_each_once(worker, emulator):
    slow_backoff(worker)
    accounts = make_accounts(emulator, 4)
    make_posts(accounts, 80)
    emulator.emulator.inject("/2/tweets", status=503, times=None, rate=0.3)
    doomed = worker.start(beat=True)
    worker.start()  # no beat: one beat per deployment
    wait_until(
        lambda: ScheduledTweet.objects.filter(status=Status.SENT).count() >= 30,
        timeout=60, worker=worker, what="the first 30 posts",
    )  # fmt: skip
    worker.kill(doomed)  # the beat dies with it: the survivor's senders are kicked by their own
    emulator.emulator.clear_faults()
    worker.start(beat=True)  # a replacement, as a supervisor would start
    wait_until(all_done(80), timeout=90, worker=worker, what="80 posts with two workers")
    assert_each_posted_once(emulator, 80)


def test_killed_while_the_app_is_held_the_next_worker_probes_and_sends_each_once(worker, emulator):
    worker.env["TEST_APP_HOLD_PROBE_INTERVAL"] = "3"
    accounts = make_accounts(emulator, 3)
    make_posts(accounts, 30)
    emulator.emulator.inject("/2/tweets", delay=0.02, times=None)
    first = worker.start(beat=True)
    wait_until(
        lambda: ScheduledTweet.objects.filter(status=Status.SENT).count() >= 5,
        timeout=60, worker=worker, what="the first 5 posts",
    )  # fmt: skip
    emulator.emulator.deplete_credits()
    wait_until(
        lambda: AppHold.objects.filter(active=True).exists()
        and not ScheduledTweet.objects.filter(status=Status.SENDING).exists(),
        timeout=30, worker=worker, what="every post waiting under the hold",
    )  # fmt: skip
    worker.kill(first)  # the posts wait in their rows, under the hold, with nobody left
    emulator.emulator.add_credits()
    probe_at = AppHold.objects.get(active=True).next_probe_at.timestamp()

    worker.start(beat=True)
    bound = max(probe_at, time.time()) + LEASE + DISPATCH_INTERVAL
    wait_until(all_done(30), timeout=bound - time.time() + SLACK, worker=worker, what="recovery")
    assert_each_posted_once(emulator, 30)
    assert set(ScheduledTweet.objects.values_list("attempts", flat=True)) == {1}
    assert not AppHold.objects.filter(active=True).exists()


REFUSALS = {
    # reason: (start it at the emulator, end it, what held posts say)
    "credits_depleted": ("deplete_credits", "add_credits", "Waiting: X credits depleted"),
    "usage_capped": ("cap_usage", "uncap_usage", "Waiting: X monthly usage cap reached"),
}


@pytest.mark.parametrize(
    ("reason", "broker_url"),
    [("credits_depleted", "redis"), ("usage_capped", "rabbitmq")],
    indirect=["broker_url"],
)
def test_an_app_hold_of_60_seconds_fails_nothing_and_is_probed_once_per_interval(
    reason, worker, emulator
):
    start_refusing, stop_refusing, waiting_says = REFUSALS[reason]
    probe_interval = 10.0
    worker.env["TEST_APP_HOLD_PROBE_INTERVAL"] = str(probe_interval)
    accounts = make_accounts(emulator, 3)
    make_posts(accounts, 100)
    emulator.emulator.inject("/2/tweets", delay=0.02, times=None)
    worker.start(beat=True)
    wait_until(
        lambda: ScheduledTweet.objects.filter(status=Status.SENT).count() >= 30,
        timeout=60, worker=worker, what="the first 30 posts",
    )  # fmt: skip
    getattr(emulator.emulator, start_refusing)()
    refusing_since = time.time()
    wait_until(
        lambda: AppHold.objects.filter(reason=reason, active=True).exists(),
        timeout=30, worker=worker, what="the hold",
    )  # fmt: skip
    time.sleep(max(0.0, refusing_since + 60 - time.time()))
    assert not ScheduledTweet.objects.filter(status=Status.FAILED).exists()
    waiting = ScheduledTweet.objects.filter(status=Status.PENDING)
    assert waiting.exists()
    assert all(
        error.startswith(waiting_says) for error in waiting.values_list("last_error", flat=True)
    )
    getattr(emulator.emulator, stop_refusing)()
    refused_until = time.time()
    wait_until(all_done(100), timeout=probe_interval + 60, worker=worker, what="the rest")
    assert_each_posted_once(emulator, 100)

    during = [r for r in posts_at(emulator) if refusing_since <= r.at < refused_until]
    in_flight = 2  # the worker's two processes may each have had a post on its way
    assert len(during) <= 60 / probe_interval + 1 + in_flight
    assert all(r.status in (402, 429) for r in during)
    assert set(ScheduledTweet.objects.values_list("attempts", flat=True)) == {1}
    assert not AppHold.objects.filter(active=True).exists()


@pytest.mark.parametrize("broker_url", ["redis"], indirect=True)
def test_the_apps_24_hour_cap_lets_no_post_reach_x_before_its_reset(worker, emulator):
    accounts = make_accounts(emulator, 3)
    make_posts(accounts, 40)
    reset = int(time.time()) + 8
    capped = emulator.emulator.inject(
        "/2/tweets",
        status=429,
        times=1,
        headers={"x-app-limit-24hour-remaining": "0", "x-app-limit-24hour-reset": str(reset)},
    )
    emulator.emulator.inject("/2/tweets", delay=0.02, times=None)
    worker.start(beat=True)
    wait_until(lambda: capped.applied == 1, timeout=60, worker=worker, what="the app cap")
    capped_at = next(r.at for r in posts_at(emulator) if r.status == 429)
    bound = reset + LEASE + DISPATCH_INTERVAL
    wait_until(all_done(40), timeout=bound - time.time() + SLACK, worker=worker, what="the rest")
    assert_each_posted_once(emulator, 40)
    # What left before the hold was recorded could not be called back (the other process's
    # post in flight); nothing that left after it reached X before the reset.
    held_since = AppHold.objects.get(reason="app_daily_cap").started_at.timestamp()
    noticed = held_since + delivery.HOLD_CHECK_INTERVAL + IN_FLIGHT
    early = [r for r in posts_at(emulator) if max(capped_at, noticed) < r.at < reset]
    assert early == [], f"{len(early)} post(s) reached X before the app cap's reset"
