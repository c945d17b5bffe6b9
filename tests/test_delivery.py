"""The sender: batches, claims per account, the bounded look for uncertain posts, app-wide holds.

Run in-process against the emulator; the real-worker versions are in tests/test_worker.py.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.delivery_helpers import make_posts, statuses
from tests.signin_helpers import receiving
from twitter_oauth import services, signals, tasks
from twitter_oauth.exceptions import TwitterCreditsDepleted
from twitter_oauth.models import AppHold, ScheduledTweet, TwitterAccount
from twitter_oauth.services import delivery, holds

pytestmark = pytest.mark.django_db

Status = ScheduledTweet.Status


def posts_at_x(x_emulator):
    return sorted(t.text for t in x_emulator.state.tweets.values())


def make_due(**filters):
    ScheduledTweet.objects.filter(**filters).update(send_at=timezone.now())


# --- batches and claims --------------------------------------------------------------------------


def test_one_round_sends_every_due_post_of_every_account_each_once(sender_accounts, x_emulator):
    make_posts(sender_accounts, 12)
    result = services.send_due()
    assert (result.sent, result.more) == (12, False)
    assert statuses() == {Status.SENT: 12}
    assert posts_at_x(x_emulator) == sorted(f"post {n}" for n in range(12))
    assert x_emulator.state.count() == 12  # one request per post, nothing else


def test_queries_per_post_are_one_update_plus_the_claim(sender_accounts, x_emulator):
    make_posts(sender_accounts, 30)
    with CaptureQueriesContext(connection) as queries:
        services.send_due(batch_size=30)
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    # One claim UPDATE for the batch, then one outcome UPDATE per post.
    assert len(updates) == 1 + 30
    # The claim: the holds, the accounts, the UPDATE, the rows; then the next (empty) claim.
    assert len(queries) <= 30 + 4 + 2 + 2 + 4  # + savepoint/transaction statements


def test_a_sender_takes_its_share_of_the_free_accounts(sender_accounts, x_emulator, x_settings):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "POST_PARALLEL_SENDERS": 2}
    make_posts(sender_accounts, 9)
    claims = [delivery.claim(50) for _ in range(4)]
    # 3 free accounts / 2 senders, rounded down: one each, so that the second sender gets one
    # too; the third account goes to whichever claims next.
    taken = [{row.account_id for row in batch.rows} for batch in claims]
    assert [len(ids) for ids in taken] == [1, 1, 1, 0]
    assert len(set().union(*taken)) == 3
    assert sum(len(batch.rows) for batch in claims) == 9


def test_more_senders_than_half_the_accounts_all_get_one(sender_accounts, x_emulator, x_settings):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "POST_PARALLEL_SENDERS": 3}
    make_posts(sender_accounts, 6)
    taken = [{row.account_id for row in delivery.claim(50).rows} for _ in range(3)]
    assert [len(ids) for ids in taken] == [1, 1, 1]


def test_a_batch_hands_its_unsent_posts_back_after_batch_seconds(
    sender_accounts, x_emulator, monkeypatch
):
    make_posts(sender_accounts[:1], 4)
    monkeypatch.setattr(delivery, "BATCH_SECONDS", 0.0)
    batch = delivery.claim(10)
    delivery._send_batch(batch, result := delivery.Round())
    assert dict(result.outcomes) == {batch.rows[0].pk: "sent"}
    assert statuses() == {Status.SENT: 1, Status.PENDING: 3}
    handed_back = ScheduledTweet.objects.filter(status=Status.PENDING)
    assert all(row.attempts == 0 and row.claim_id is None for row in handed_back)
    assert all(row.uncertain_since is None and row.lease_expires_at is None for row in handed_back)
    # The next claims take them, one batch of one post each, in order, each post once.
    assert services.send_due().sent == 3
    assert statuses() == {Status.SENT: 4}
    sent = sorted(x_emulator.state.tweets.values(), key=lambda t: int(t.id))
    assert [t.text for t in sent] == ["post 0", "post 1", "post 2", "post 3"]


def test_a_batch_claims_what_the_recent_pace_sends_in_batch_seconds(sender_accounts, x_emulator):
    make_posts(sender_accounts, 30)
    delivery.pace.record(posts=10, seconds=delivery.BATCH_SECONDS)  # 10 posts per batch-time
    assert delivery.pace.batch_limit() == 10
    result = services.send_due()
    assert result.sent == 30
    claims = ScheduledTweet.objects.values("claimed_at").distinct().count()
    assert claims >= 2  # fewer than one claim for all 30
    # On this loopback X a post takes milliseconds: the pace learns it and claims more.
    assert delivery.pace.batch_limit() > 10


def test_a_post_for_later_is_not_claimed(sender_accounts, x_emulator):
    make_posts(sender_accounts, 3, send_at=timezone.now() + dt.timedelta(minutes=5))
    assert services.send_due().claimed == 0
    assert x_emulator.state.count() == 0


def test_an_account_with_a_post_in_flight_elsewhere_is_skipped(sender_accounts, x_emulator):
    busy, idle = sender_accounts[0], sender_accounts[1]
    ScheduledTweet.objects.create(
        account=busy,
        text="in flight elsewhere",
        status=Status.SENDING,
        lease_expires_at=timezone.now() + dt.timedelta(seconds=30),
    )
    waiting = ScheduledTweet.objects.create(account=busy, text="waits its turn")
    ScheduledTweet.objects.create(account=idle, text="goes now")
    assert dict(services.send_due().outcomes) == {
        ScheduledTweet.objects.get(text="goes now").pk: "sent"
    }
    waiting.refresh_from_db()
    assert waiting.status == Status.PENDING and waiting.attempts == 0


def test_an_accounts_posts_go_in_send_at_order(sender_accounts, x_emulator):
    now = timezone.now()
    for n, offset in enumerate([3, 1, 2]):
        ScheduledTweet.objects.create(
            account=sender_accounts[0],
            text=f"order {n}",
            send_at=now - dt.timedelta(seconds=offset),
        )
    services.send_due()
    sent = sorted(x_emulator.state.tweets.values(), key=lambda t: int(t.id))
    assert [t.text for t in sent] == ["order 0", "order 2", "order 1"]


def test_the_lease_is_renewed_before_a_send_could_outlive_it(
    sender_accounts, x_emulator, x_settings
):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "POST_LEASE": 2.0}
    make_posts(sender_accounts[:1], 3)
    batch = delivery.claim(10)
    ScheduledTweet.objects.update(lease_expires_at=timezone.now() + dt.timedelta(seconds=0.5))
    batch.lease_expires_at = timezone.now() + dt.timedelta(seconds=0.5)
    delivery._send_batch(batch, delivery.Round())
    assert statuses() == {Status.SENT: 3}


def test_a_row_taken_over_after_our_lease_ran_out_is_not_sent_by_us(sender_accounts, x_emulator):
    [post] = make_posts(sender_accounts[:1], 1)
    batch = delivery.claim(10)
    # Our lease ran out and another worker took the row over.
    ScheduledTweet.objects.filter(pk=post.pk).update(claim_id=None)
    batch.lease_expires_at = timezone.now()
    delivery._send_batch(batch, delivery.Round())
    assert x_emulator.state.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_take_disjoint_accounts_without_waiting(sender_accounts, x_emulator):
    """SKIP LOCKED: a claimer skips accounts another holds, and never takes one account twice."""
    make_posts(sender_accounts, 9)
    taken: list[list[int]] = []
    start = threading.Barrier(3)

    def claimer():
        try:
            start.wait()
            batch = delivery.claim(50)
            taken.append([row.account_id for row in batch.rows])
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    by_account = [set(accounts_of) for accounts_of in taken if accounts_of]
    claimed_accounts = [account for group in by_account for account in group]
    assert len(claimed_accounts) == len(set(claimed_accounts)), "one account claimed twice"
    assert sum(len(ids) for ids in taken) == 9  # every post claimed once, all in this round
    assert ScheduledTweet.objects.filter(status=Status.SENDING).count() == 9


# --- uncertain posts ----------------------------------------------------------------------------


def timeline_reads(x_emulator):
    return [
        r for r in x_emulator.state.requests if r.method == "GET" and r.path.endswith("/tweets")
    ]


def test_an_uncertain_post_is_looked_for_with_one_bounded_read(sender_accounts, x_emulator):
    x_emulator.state.inject("/2/tweets", method="POST", lose_answer=True)
    [post] = make_posts(sender_accounts[:1], 1)
    assert dict(services.send_due().outcomes) == {post.pk: "retried"}
    post.refresh_from_db()
    assert post.uncertain_since is not None
    make_due(pk=post.pk)
    assert dict(services.send_due().outcomes) == {post.pk: "sent"}
    [read] = timeline_reads(x_emulator)
    assert read.query["max_results"] == "5"
    started = dt.datetime.strptime(read.query["start_time"], "%Y-%m-%dT%H:%M:%SZ")
    started = started.replace(tzinfo=dt.UTC)
    assert post.uncertain_since - dt.timedelta(seconds=11) <= started <= post.uncertain_since
    post.refresh_from_db()
    assert post.tweet_id and x_emulator.state.tweets[post.tweet_id].text == "post 0"
    assert x_emulator.state.count("/2/tweets", "POST") == 1


def test_a_refused_read_means_posting_again_and_the_duplicate_counts_as_sent(
    sender_accounts, x_emulator
):
    x_emulator.state.unenroll("GET /2/users/:id/tweets")
    x_emulator.state.inject("/2/tweets", method="POST", lose_answer=True)
    [post] = make_posts(sender_accounts[:1], 1)
    services.send_due()
    make_due(pk=post.pk)
    assert dict(services.send_due().outcomes) == {post.pk: "sent"}
    post.refresh_from_db()
    assert "duplicate" in post.last_error
    [read] = timeline_reads(x_emulator)
    assert read.status == 403
    assert posts_at_x(x_emulator) == ["post 0"]


def test_the_look_can_be_turned_off(sender_accounts, x_emulator, x_settings):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "UNCERTAIN_POST_LOOKUP": False}
    x_emulator.state.inject("/2/tweets", method="POST", lose_answer=True)
    [post] = make_posts(sender_accounts[:1], 1)
    services.send_due()
    make_due(pk=post.pk)
    assert dict(services.send_due().outcomes) == {post.pk: "sent"}
    assert timeline_reads(x_emulator) == []
    assert posts_at_x(x_emulator) == ["post 0"]


def test_a_post_left_by_a_dead_worker_is_looked_for_from_its_attempt(sender_accounts, x_emulator):
    attempt = timezone.now() - dt.timedelta(minutes=2)
    services.post_tweet(sender_accounts[0], "the dead worker's post")
    post = ScheduledTweet.objects.create(
        account=sender_accounts[0],
        text="the dead worker's post",
        status=Status.SENDING,
        attempts=1,
        claimed_at=attempt,
        lease_expires_at=attempt + dt.timedelta(seconds=60),
    )
    assert dict(services.send_due().outcomes) == {post.pk: "sent"}
    post.refresh_from_db()
    assert post.attempts == 2 and post.uncertain_since is None
    assert x_emulator.state.count("/2/tweets", "POST") == 1


# --- app-wide holds -----------------------------------------------------------------------------


def probe_now():
    AppHold.objects.filter(active=True).update(next_probe_at=timezone.now())


def test_credits_depleted_hold_every_post_of_every_account_without_failing_any(
    sender_accounts, x_emulator
):
    make_posts(sender_accounts, 9)
    x_emulator.state.deplete_credits()
    with receiving(signals.app_hold_started) as started:
        result = services.send_due()
    assert (result.sent, result.failed, result.held) == (0, 0, 9)
    assert x_emulator.state.count("/2/tweets", "POST") == 1  # the rest never left
    assert [kw["hold"].reason for kw in started] == ["credits_depleted"]
    hold = AppHold.objects.get()
    assert hold.active and hold.until is None and hold.next_probe_at > timezone.now()
    rows = list(ScheduledTweet.objects.all())
    assert {row.status for row in rows} == {Status.PENDING}
    assert {row.attempts for row in rows} == {0}
    assert all(row.last_error.startswith("Waiting: X credits depleted") for row in rows)

    # Until the probe is due, nothing reaches X: not the sender, not post_tweet.
    assert services.send_due().claimed == 0
    with pytest.raises(TwitterCreditsDepleted):
        services.post_tweet(sender_accounts[0], "now, please")
    assert tasks.send_due_tweets.delay().get() == 0
    assert x_emulator.state.count() == 1


def test_a_refused_probe_extends_the_hold_and_costs_no_attempt(sender_accounts, x_emulator):
    make_posts(sender_accounts, 3)
    x_emulator.state.deplete_credits()
    services.send_due()
    probe_now()
    result = services.send_due()
    assert result.claimed == 1 and result.held == 1  # one probe, refused
    assert x_emulator.state.count("/2/tweets", "POST") == 2
    hold = AppHold.objects.get()
    assert hold.active and hold.refusals == 2 and hold.next_probe_at > timezone.now()
    assert set(ScheduledTweet.objects.values_list("attempts", flat=True)) == {0}


def test_the_hold_ends_when_a_probe_gets_through_and_every_post_goes(sender_accounts, x_emulator):
    make_posts(sender_accounts, 9)
    x_emulator.state.deplete_credits()
    services.send_due()
    x_emulator.state.add_credits()
    probe_now()
    with receiving(signals.app_hold_ended) as ended:
        first = services.send_due()
    assert len(ended) == 1 and not AppHold.objects.get().active
    assert first.sent == 9  # the probe, then (the hold over) the rest in the same round
    assert statuses() == {Status.SENT: 9}
    assert not ScheduledTweet.objects.exclude(last_error="").exists()
    assert x_emulator.state.count("/2/tweets", "POST") == 10  # 1 refused + 9 sent


def test_concurrent_probes_are_one(sender_accounts, x_emulator):
    make_posts(sender_accounts, 3)
    x_emulator.state.deplete_credits()
    services.send_due()
    now = timezone.now()
    probe_now()
    assert holds.claim_probe(now + dt.timedelta(seconds=1))
    assert not holds.claim_probe(now + dt.timedelta(seconds=1))


def test_a_usage_capped_429_is_an_app_hold_not_an_account_limit(sender_accounts, x_emulator):
    make_posts(sender_accounts, 6)
    x_emulator.state.cap_usage()
    result = services.send_due()
    assert (result.held, result.failed) == (6, 0)
    hold = AppHold.objects.get()
    assert hold.reason == "usage_capped" and hold.until is None
    assert not TwitterAccount.objects.filter(rate_limited_until__isnull=False).exists()
    x_emulator.state.uncap_usage()
    probe_now()
    services.send_due()
    assert statuses() == {Status.SENT: 6}


def test_the_apps_24_hour_cap_holds_until_its_reset_and_ends_by_itself(sender_accounts, x_emulator):
    x_emulator.state.app_daily_post_limit = 2
    make_posts(sender_accounts, 6)
    result = services.send_due()
    assert (result.sent, result.held) == (2, 4)
    hold = AppHold.objects.get()
    assert hold.reason == "app_daily_cap" and hold.until is not None
    assert hold.next_probe_at is None  # a known end is waited out, not probed
    probe_now()
    assert services.send_due().claimed == 0
    assert x_emulator.state.count("/2/tweets", "POST") == 3
    # X's reset comes: the hold ends by itself and the posts go.
    x_emulator.state.app_daily_post_limit = 100
    x_emulator.state.windows.clear()
    AppHold.objects.update(until=timezone.now() - dt.timedelta(seconds=1))
    with receiving(signals.app_hold_ended) as ended:
        services.send_due()
    assert len(ended) == 1
    assert statuses() == {Status.SENT: 6}


def test_an_app_cap_without_a_reset_is_probed(sender_accounts, x_emulator):
    x_emulator.state.app_daily_post_limit = 1
    x_emulator.state.app_cap_reset_header = False
    make_posts(sender_accounts, 3)
    services.send_due()
    hold = AppHold.objects.get()
    assert hold.until is None and hold.next_probe_at is not None


def test_a_second_refusal_during_a_hold_extends_it_to_the_later_end(sender_accounts):
    now = timezone.now()
    earlier, later = now + dt.timedelta(hours=1), now + dt.timedelta(hours=3)
    from twitter_oauth.exceptions import TwitterAppDailyCapReached

    with receiving(signals.app_hold_started) as started:
        holds.start(TwitterAppDailyCapReached(until=later))
        holds.start(TwitterAppDailyCapReached(until=earlier))
    assert AppHold.objects.get().until == later
    assert len(started) == 1


def test_profile_reads_wait_during_a_hold(sender_accounts, x_emulator):
    holds.start(TwitterCreditsDepleted())
    tasks.refresh_profile.delay(sender_accounts[0].pk)
    assert x_emulator.state.count() == 0
    sender_accounts[0].refresh_from_db()
    assert sender_accounts[0].verified_at is None


def test_post_tweet_meeting_a_402_starts_the_hold(sender_accounts, x_emulator):
    x_emulator.state.deplete_credits()
    with pytest.raises(TwitterCreditsDepleted):
        services.post_tweet(sender_accounts[0], "now")
    assert AppHold.objects.get(reason="credits_depleted").active
