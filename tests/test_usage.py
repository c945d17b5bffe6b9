"""The usage ledger: what each request to X is counted as, how counts reach the database,
and the daily spending limit, against the emulator."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import warnings

import pytest
from celery.signals import worker_process_shutdown
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.signin_helpers import receiving
from twitter_oauth import services, signals, tasks
from twitter_oauth.client import TwitterClient
from twitter_oauth.exceptions import TwitterSpendLimitReached, TwitterUnavailable
from twitter_oauth.models import AppHold, ScheduledTweet, UsageRecord
from twitter_oauth.usage import NO_ACCOUNT, Call, Counts, UsageLedger, ledger

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 15)


@pytest.fixture
def account(linked_account):
    return linked_account


@pytest.fixture
def clock(monkeypatch):
    """Django's clock, which the ledger and the holds read, moved by the test (``clock.now``)."""

    class Clock:
        now = dt.datetime(2026, 6, 15, 22, 0, tzinfo=dt.UTC)

        def __call__(self) -> dt.datetime:
            return self.now

    fixed = Clock()
    monkeypatch.setattr(timezone, "now", fixed)
    return fixed


def stored():
    """The ledger's rows as (day, endpoint, account_id, requests, succeeded, units, micros)."""
    return sorted(
        UsageRecord.objects.values_list(
            "day",
            "endpoint",
            "account_id",
            "requests",
            "succeeded",
            "billed_units",
            "usd_micros",
        )
    )


# --- what a request is counted as ---------------------------------------------------------------


def test_a_post_is_counted_without_a_query_and_written_at_flush(account, clock):
    client = services.client_for(account)
    with CaptureQueriesContext(connection) as queries:
        client.create_tweet("hello")
    assert [q["sql"] for q in queries] == []
    assert ledger.pending_requests == 1
    assert ledger.flush() == 1
    assert stored() == [(DAY, "POST /2/tweets", account.pk, 1, 1, 1, 15_000)]


def test_a_post_with_a_link_is_counted_apart_at_its_price(account, clock):
    services.post_tweet(account, "read this: https://example.com/a")
    services.post_tweet(account, "and example.org too")
    ledger.flush()
    assert stored() == [(DAY, "POST /2/tweets (with URL)", account.pk, 2, 2, 2, 400_000)]


def test_refusals_count_as_requests_that_did_not_succeed_and_cost_nothing(
    account, clock, x_emulator
):
    services.post_tweet(account, "once")
    with pytest.raises(Exception, match="duplicate"):
        services.post_tweet(account, "once")
    x_emulator.state.inject("/2/tweets", status=503)
    with pytest.raises(TwitterUnavailable):
        services.post_tweet(account, "during an outage")
    ledger.flush()
    assert stored() == [(DAY, "POST /2/tweets", account.pk, 3, 1, 1, 15_000)]


def test_a_request_that_got_no_answer_is_counted_as_sent(account, clock, x_emulator):
    x_emulator.state.inject("/2/tweets", drop=True)
    with pytest.raises(TwitterUnavailable):
        services.post_tweet(account, "lost")
    ledger.flush()
    assert stored() == [(DAY, "POST /2/tweets", account.pk, 1, 0, 0, 0)]


def test_a_read_is_billed_per_resource_returned_and_ids_become_placeholders(account, clock):
    client = services.client_for(account)
    for n in range(3):
        client.create_tweet(f"post {n}")
    client.get_user_tweets(account.twitter_id, max_results=5)
    client.get_me()
    ledger.flush()
    assert stored() == [
        (DAY, "GET /2/users/:id/tweets", account.pk, 1, 1, 3, 15_000),
        (DAY, "GET /2/users/me", account.pk, 1, 1, 1, 10_000),
        (DAY, "POST /2/tweets", account.pk, 3, 3, 3, 45_000),
    ]


def test_requests_for_no_account_are_counted_under_none(x_settings, clock):
    TwitterClient().get_request_token("oob")
    ledger.flush()
    assert stored() == [(DAY, "POST /oauth/request_token", NO_ACCOUNT, 1, 1, 0, 0)]


def test_prices_come_from_the_prices_setting(account, clock, x_settings):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "PRICES": {"post": 0.02}}
    services.post_tweet(account, "dearer")
    ledger.flush()
    assert stored() == [(DAY, "POST /2/tweets", account.pk, 1, 1, 1, 20_000)]


def test_with_the_ledger_off_nothing_is_counted(account, x_settings):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "USAGE_LEDGER": False}
    services.post_tweet(account, "uncounted")
    assert ledger.pending_requests == 0
    assert ledger.flush() == 0
    assert stored() == []


def test_a_request_is_counted_on_the_utc_day_it_was_sent(account, clock):
    services.post_tweet(account, "before midnight")
    clock.now += dt.timedelta(hours=3)
    services.post_tweet(account, "after midnight")
    ledger.flush()
    assert [(day, requests) for day, _e, _a, requests, *_ in stored()] == [
        (DAY, 1),
        (DAY + dt.timedelta(days=1), 1),
    ]


# --- writing -------------------------------------------------------------------------------------


def call(endpoint="POST /2/tweets", account_id=7, day=DAY):
    return Call(day, endpoint, account_id)


def test_a_flush_adds_to_the_stored_row(db):
    writer = UsageLedger()
    writer.add(call(), Counts(requests=2, succeeded=1, billed_units=1, usd_micros=15_000))
    writer.flush()
    writer.add(call(), Counts(requests=1, succeeded=1, billed_units=1, usd_micros=15_000))
    writer.add(call(account_id=8), Counts(requests=1))
    with CaptureQueriesContext(connection) as queries:
        assert writer.flush() == 2
    # One INSERT ... ON CONFLICT for the batch, inside a transaction (savepoint in tests).
    assert sum("INSERT" in q["sql"] for q in queries) == 1
    assert stored() == [
        (DAY, "POST /2/tweets", 7, 3, 2, 2, 30_000),
        (DAY, "POST /2/tweets", 8, 1, 0, 0, 0),
    ]


def test_databases_without_on_conflict_add_row_by_row(db, monkeypatch):
    monkeypatch.setattr("twitter_oauth.models.ON_CONFLICT_VENDORS", ())
    writer = UsageLedger()
    writer.add(call(), Counts(requests=2, succeeded=1, billed_units=1, usd_micros=15_000))
    writer.flush()
    writer.add(call(), Counts(requests=1, succeeded=1, billed_units=1, usd_micros=15_000))
    writer.add(call(account_id=8), Counts(requests=1))
    writer.flush()
    assert stored() == [
        (DAY, "POST /2/tweets", 7, 3, 2, 2, 30_000),
        (DAY, "POST /2/tweets", 8, 1, 0, 0, 0),
    ]


def test_a_flush_with_nothing_counted_makes_no_query(db):
    with CaptureQueriesContext(connection) as queries:
        assert UsageLedger().flush() == 0
    assert queries.captured_queries == []


def test_a_failed_flush_keeps_the_counts_for_the_next(db, monkeypatch):
    writer = UsageLedger()
    writer.add(call(), Counts(requests=1, succeeded=1, billed_units=1, usd_micros=15_000))

    def broken(batch):
        raise RuntimeError("database down")

    monkeypatch.setattr("twitter_oauth.usage._upsert", broken)
    with pytest.raises(RuntimeError):
        writer.flush()
    monkeypatch.undo()
    assert writer.pending_requests == 1
    writer.flush()
    assert stored() == [(DAY, "POST /2/tweets", 7, 1, 1, 1, 15_000)]


def test_after_a_failed_write_a_full_batch_does_not_try_again_at_once(db, monkeypatch):
    monkeypatch.setattr("twitter_oauth.usage.BATCH_SIZE", 2)
    attempts = []

    def broken(batch):
        attempts.append(len(batch))
        raise RuntimeError("database down")

    monkeypatch.setattr("twitter_oauth.usage._upsert", broken)
    writer = UsageLedger()
    for _ in range(10):
        writer.add(call(), Counts(requests=1))
    assert attempts == [1]
    assert writer.pending_requests == 10


def test_a_full_batch_is_written_at_once_without_a_timer(db, monkeypatch):
    monkeypatch.setattr("twitter_oauth.usage.BATCH_SIZE", 3)
    writer = UsageLedger()
    for _ in range(3):
        writer.add(call(), Counts(requests=1))
    assert writer.pending_requests == 0
    assert stored() == [(DAY, "POST /2/tweets", 7, 3, 0, 0, 0)]


def test_a_worker_shutdown_writes_what_the_process_counted(account, clock):
    services.post_tweet(account, "last post before shutdown")
    worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)
    assert stored() == [(DAY, "POST /2/tweets", account.pk, 1, 1, 1, 15_000)]


def test_a_forked_child_starts_with_nothing_pending(db):
    writer = ledger  # the process's own, with the fork hook usage.py registers
    writer.add(call(), Counts(requests=5))
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns that forking a process with threads is unsafe: that is the case here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: report what it would write, and leave without cleanup
        os.write(write, str(writer.pending_requests).encode())
        os._exit(0)
    os.close(write)
    child_pending = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_pending == "0"
    assert writer.pending_requests == 5


# --- the twitter_usage command -------------------------------------------------------------------


def usage(*args: str) -> str:
    out = io.StringIO()
    call_command("twitter_usage", *args, stdout=out)
    return out.getvalue()


def test_twitter_usage_json_is_designs_shape_and_includes_this_process(account, clock):
    services.post_tweet(account, "one")
    services.post_tweet(account, "two https://example.com")
    assert json.loads(usage("--json")) == [
        {
            "day": "2026-06-15",
            "endpoint": "POST /2/tweets",
            "requests": 1,
            "succeeded": 1,
            "billed_units": 1,
            "usd": 0.015,
        },
        {
            "day": "2026-06-15",
            "endpoint": "POST /2/tweets (with URL)",
            "requests": 1,
            "succeeded": 1,
            "billed_units": 1,
            "usd": 0.2,
        },
    ]


def test_twitter_usage_by_account_carries_the_account_in_an_extra_key(account, clock, x_settings):
    services.post_tweet(account, "mine")
    TwitterClient().get_request_token("oob")
    rows = json.loads(usage("--json", "--by-account"))
    assert [(row["endpoint"], row["account"]) for row in rows] == [
        ("POST /2/tweets", {"id": account.pk, "twitter_id": "783214", "screen_name": "alice"}),
        ("POST /oauth/request_token", None),
    ]


def test_twitter_usage_table_for_a_person(account, clock):
    services.post_tweet(account, "one")
    services.post_tweet(account, "two")
    services.client_for(account).get_me()
    assert usage("--by-account") == (
        "day         endpoint         account  requests  succeeded  billed    usd\n"
        "----------  ---------------  -------  --------  ---------  ------  -----\n"
        "2026-06-15  GET /2/users/me  @alice          1          1       1  0.010\n"
        "2026-06-15  POST /2/tweets   @alice          2          2       2  0.030\n"
        "----------  ---------------  -------  --------  ---------  ------  -----\n"
        "total                                        3          3       3  0.040\n"
    )


def test_twitter_usage_days_reaches_back_from_today(clock):
    UsageRecord.objects.create(day=DAY - dt.timedelta(days=7), endpoint="POST /2/tweets")
    UsageRecord.objects.create(day=DAY - dt.timedelta(days=6), endpoint="GET /2/users/me")
    assert [row["endpoint"] for row in json.loads(usage("--json"))] == ["GET /2/users/me"]
    assert len(json.loads(usage("--json", "--days", "8"))) == 2
    assert usage("--days", "1") == "No requests to X in the last 1 day(s).\n"


@pytest.mark.parametrize("days", ["0", "-3", "100000"])
def test_twitter_usage_refuses_a_number_of_days_out_of_range(days):
    with pytest.raises(CommandError, match="--days must be between 1 and"):
        usage("--days", days)


# --- the daily spending limit --------------------------------------------------------------------


@pytest.fixture
def limited(x_settings):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "DAILY_SPEND_LIMIT": 0.05}
    return x_settings


def test_past_the_limit_the_fourth_post_and_the_refresh_wait_for_the_next_utc_day(
    account, clock, limited, x_emulator
):
    for n in range(3):
        services.post_tweet(account, f"post {n}")
    with (
        receiving(signals.spend_limit_reached) as seen,
        pytest.raises(TwitterSpendLimitReached) as refused,
    ):
        services.post_tweet(account, "the fourth")
    assert x_emulator.state.count("/2/tweets", "POST") == 3
    midnight = dt.datetime(2026, 6, 16, tzinfo=dt.UTC)
    assert refused.value.until == midnight
    assert seen == [
        {"signal": signals.spend_limit_reached, "day": DAY, "limit": 0.05, "spent": 0.045,
         "until": midnight}
    ]  # fmt: skip
    hold = AppHold.objects.get(reason=AppHold.Reason.SPEND_LIMIT)
    assert hold.active and hold.until == midnight

    tasks.refresh_profile.delay(account.pk)
    assert x_emulator.state.count("/2/users/me") == 0
    account.refresh_from_db()
    assert account.verified_at is None

    clock.now = midnight + dt.timedelta(minutes=1)
    services.post_tweet(account, "the fourth")
    tasks.refresh_profile.delay(account.pk)
    assert x_emulator.state.count("/2/tweets", "POST") == 4
    assert x_emulator.state.count("/2/users/me") == 1


def test_past_the_limit_a_scheduled_post_stays_pending_until_the_next_utc_day(
    account, clock, limited, x_emulator
):
    posts = [
        ScheduledTweet.objects.create(account=account, text=f"post {n}", send_at=clock.now)
        for n in range(4)
    ]
    services.send_due()
    statuses = [post.status for post in ScheduledTweet.objects.order_by("pk")]
    assert statuses == ["sent", "sent", "sent", "pending"]
    assert x_emulator.state.count("/2/tweets", "POST") == 3
    held = ScheduledTweet.objects.get(pk=posts[3].pk)
    assert held.attempts == 0 and "spending limit" in held.last_error

    clock.now = dt.datetime(2026, 6, 16, 0, 1, tzinfo=dt.UTC)
    services.send_due()
    assert ScheduledTweet.objects.get(pk=posts[3].pk).status == "sent"
    assert x_emulator.state.count("/2/tweets", "POST") == 4


def test_the_limit_counts_what_other_processes_wrote_today(account, clock, limited):
    UsageRecord.objects.create(
        day=DAY, endpoint="POST /2/tweets", account_id=999, requests=3, usd_micros=45_000
    )
    with pytest.raises(TwitterSpendLimitReached):
        services.post_tweet(account, "one too many")


def test_the_estimate_reads_the_database_once_an_interval_not_per_request(account, clock, limited):
    with CaptureQueriesContext(connection) as first:
        services.client_for(account).create_tweet("first")
    with CaptureQueriesContext(connection) as second:
        services.client_for(account).create_tweet("second")
    assert len(first) == 1 and "SUM" in first[0]["sql"].upper()
    assert second.captured_queries == []


def test_the_estimate_reads_again_what_other_processes_wrote_once_it_is_stale(
    account, clock, limited, monkeypatch
):
    services.post_tweet(account, "first")
    UsageRecord.objects.create(
        day=DAY, endpoint="POST /2/tweets", account_id=999, requests=3, usd_micros=45_000
    )
    monkeypatch.setattr("twitter_oauth.usage.STALE_AFTER", 0)
    with pytest.raises(TwitterSpendLimitReached):
        services.post_tweet(account, "second")


def test_the_limit_signal_fires_once_a_day(account, clock, limited):
    for n in range(3):
        services.post_tweet(account, f"post {n}")
    with receiving(signals.spend_limit_reached) as seen:
        for _ in range(3):
            with pytest.raises(TwitterSpendLimitReached):
                services.post_tweet(account, "refused")
    assert len(seen) == 1


def test_a_read_back_is_limited_at_its_largest_price(account, clock, limited):
    client = services.client_for(account)
    for n in range(3):
        client.create_tweet(f"post {n}")
    # 0.045 spent; a read of up to 5 posts could cost 0.025 more.
    with pytest.raises(TwitterSpendLimitReached):
        client.get_user_tweets(account.twitter_id, max_results=5)


def test_requests_without_a_price_are_never_refused(account, clock, x_settings, limited):
    UsageRecord.objects.create(day=DAY, endpoint="POST /2/tweets", usd_micros=50_000)
    assert TwitterClient().get_request_token("oob").token
