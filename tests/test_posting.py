"""Posting and the sender's logic, run in-process against the emulator."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from tests.signin_helpers import receiving
from twitter_oauth import services, signals, tasks
from twitter_oauth.exceptions import PostRejected, TwitterRateLimited, TwitterTokenRevoked
from twitter_oauth.models import ScheduledTweet

pytestmark = pytest.mark.django_db

Status = ScheduledTweet.Status


@pytest.fixture
def account(linked_account):
    return linked_account


def posted_texts(x_emulator):
    return sorted(t.text for t in x_emulator.state.tweets.values())


def row(text, account, **fields):
    return ScheduledTweet.objects.create(account=account, text=text, **fields)


def send(scheduled):
    """One sending round; the outcome of this post in it ("skipped" if it was not claimed)."""
    outcomes = dict(services.send_due().outcomes)
    return outcomes.get(scheduled.pk, "skipped")


def reload(scheduled):
    scheduled.refresh_from_db()
    return scheduled


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot be empty"),
        ("   \n", "cannot be empty"),
        ("x" * 281, "counts 281"),
        ("漢" * 141, "counts 282"),  # most CJK characters count 2
    ],
)
def test_text_x_would_refuse_is_refused_before_storing(account, text, message):
    with pytest.raises(PostRejected, match=message):
        services.schedule_tweet(account, text)
    assert not ScheduledTweet.objects.exists()


def test_urls_count_as_23_characters(account):
    text = "a" * 250 + " https://example.com/" + "p" * 100
    services.validate_text(text)  # 250 + 1 + 23 = 274, though len() is 371


def test_a_revoked_account_is_refused_at_once(account, x_emulator):
    account.revoked_at = timezone.now()
    with pytest.raises(PostRejected, match="access was revoked"):
        services.schedule_tweet(account, "hello")
    with pytest.raises(PostRejected):
        services.post_tweet(account, "hello")
    assert x_emulator.state.count() == 0


# --- post now -----------------------------------------------------------------------------------


def test_post_tweet_returns_the_tweet_id(account, x_emulator):
    tweet_id = services.post_tweet(account, "hello now")
    assert x_emulator.state.tweets[tweet_id].text == "hello now"


def test_post_tweet_while_rate_limited_does_not_call_x(account, x_emulator):
    account.rate_limited_until = timezone.now() + dt.timedelta(minutes=5)
    with pytest.raises(TwitterRateLimited) as caught:
        services.post_tweet(account, "too soon")
    assert caught.value.reset_at == account.rate_limited_until
    assert x_emulator.state.count() == 0


def test_post_tweet_429_holds_the_account_until_reset(account, x_emulator):
    x_emulator.state.inject("/2/tweets", status=429, reset_in=120)
    with pytest.raises(TwitterRateLimited):
        services.post_tweet(account, "limited")
    account.refresh_from_db()
    assert account.rate_limited_until > timezone.now() + dt.timedelta(seconds=100)


def test_post_tweet_401_marks_the_account_revoked(account, x_emulator):
    x_emulator.state.revoke(account.access_token)
    with receiving(signals.account_tokens_revoked) as revoked, pytest.raises(TwitterTokenRevoked):
        services.post_tweet(account, "after revoking")
    account.refresh_from_db()
    assert account.revoked_at is not None
    assert [kw["reason"] for kw in revoked] == ["refused_by_x"]


# --- scheduling ---------------------------------------------------------------------------------


def test_schedule_kicks_a_sender_after_commit_and_it_posts(
    account, x_emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scheduled = services.schedule_tweet(account, "scheduled hello")
        assert x_emulator.state.count() == 0  # nothing before the commit
    assert len(callbacks) == 1
    scheduled = reload(scheduled)
    assert scheduled.status == Status.SENT
    assert x_emulator.state.tweets[scheduled.tweet_id].text == "scheduled hello"
    assert scheduled.attempts == 1 and scheduled.sent_at is not None


def test_a_rolled_back_schedule_sends_nothing(
    account, x_emulator, django_capture_on_commit_callbacks
):
    def schedule_then_fail():
        with transaction.atomic():
            services.schedule_tweet(account, "never")
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        schedule_then_fail()
    assert callbacks == []
    assert not ScheduledTweet.objects.exists()
    assert x_emulator.state.count() == 0


def test_a_post_for_later_waits_in_its_row_for_the_dispatcher(
    account, x_emulator, django_capture_on_commit_callbacks
):
    later = timezone.now() + dt.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scheduled = services.schedule_tweet(account, "later", send_at=later)
    assert callbacks == []  # no task waits in the broker for it
    assert tasks.send_due_tweets.delay().get() == 0
    ScheduledTweet.objects.filter(pk=scheduled.pk).update(send_at=timezone.now())
    assert tasks.send_due_tweets.delay().get() == 1
    assert reload(scheduled).status == Status.SENT


def test_a_message_of_an_earlier_version_sends_what_is_due_and_running_it_twice_posts_once(
    account, x_emulator
):
    scheduled = row("twice", account)
    tasks.send_scheduled_tweet.delay(scheduled.pk)
    tasks.send_scheduled_tweet.delay(scheduled.pk)
    assert reload(scheduled).status == Status.SENT
    assert x_emulator.state.count("/2/tweets", "POST") == 1


def test_a_post_not_yet_due_is_not_sent(account, x_emulator):
    scheduled = row("not yet", account, send_at=timezone.now() + dt.timedelta(minutes=1))
    assert send(scheduled) == "skipped"
    assert x_emulator.state.count() == 0


# --- failures -----------------------------------------------------------------------------------


def test_a_5xx_is_retried_later_with_backoff(account, x_emulator, settings):
    scheduled = row("outage", account)
    x_emulator.state.inject("/2/tweets", status=503)
    assert send(scheduled) == "retried"
    scheduled = reload(scheduled)
    assert scheduled.status == Status.PENDING and scheduled.attempts == 1
    assert scheduled.may_have_posted and "503" in scheduled.last_error
    backoff = (scheduled.send_at - timezone.now()).total_seconds()
    assert 14 <= backoff <= 31  # base 30 s, full jitter from base/2

    ScheduledTweet.objects.filter(pk=scheduled.pk).update(send_at=timezone.now())
    assert send(scheduled) == "sent"
    calls = [(r.method, r.path) for r in x_emulator.state.requests]
    assert calls == [
        ("POST", "/2/tweets"),
        ("GET", f"/2/users/{account.twitter_id}/tweets"),  # did the 503 post it after all?
        ("POST", "/2/tweets"),
    ]
    assert posted_texts(x_emulator) == ["outage"]


def test_an_answer_lost_to_a_timeout_is_found_at_x_not_posted_twice(
    account, x_emulator, x_settings
):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "TIMEOUT": 0.2}
    scheduled = row("slow", account)
    x_emulator.state.inject("/2/tweets", delay=0.5)  # X posts it, but after we stopped waiting
    assert send(scheduled) == "retried"
    import time

    time.sleep(0.5)
    ScheduledTweet.objects.filter(pk=scheduled.pk).update(send_at=timezone.now())
    assert send(scheduled) == "sent"
    scheduled = reload(scheduled)
    assert posted_texts(x_emulator) == ["slow"]
    assert x_emulator.state.tweets[scheduled.tweet_id].text == "slow"
    assert x_emulator.state.count("/2/tweets", "POST") == 1


def test_a_429_holds_every_post_of_the_account_until_reset(account, x_emulator):
    first, second = row("first", account), row("second", account)
    x_emulator.state.inject("/2/tweets", status=429, reset_in=300)
    assert send(first) == "held"  # and the second with it, without calling X
    account.refresh_from_db()
    reset = account.rate_limited_until
    assert reset > timezone.now() + dt.timedelta(seconds=290)
    assert send(second) == "skipped"  # the account is not claimed before its reset
    assert x_emulator.state.count() == 1  # the second never reached X
    for scheduled in (reload(first), reload(second)):
        assert scheduled.status == Status.PENDING
        assert scheduled.send_at > reset
        assert scheduled.attempts == 0  # waiting for X's reset is not an attempt
        assert not scheduled.may_have_posted


def test_a_401_fails_the_post_and_marks_the_account(account, x_emulator):
    first, second = row("first", account), row("second", account)
    x_emulator.state.revoke(account.access_token)
    with receiving(signals.account_tokens_revoked) as revoked:
        outcomes = dict(services.send_due().outcomes)
    assert outcomes == {first.pk: "failed", second.pk: "failed"}
    assert "revoked" in reload(first).last_error
    assert "revoked this site's access" in reload(second).last_error
    assert x_emulator.state.count() == 1  # the second failed without calling X
    assert len(revoked) == 1
    account.refresh_from_db()
    assert account.revoked_at is not None


def test_a_duplicate_of_someone_elses_post_fails(account, x_emulator):
    services.post_tweet(account, "said before")
    scheduled = row("said before", account)
    assert send(scheduled) == "failed"
    assert "duplicate" in reload(scheduled).last_error


def test_a_duplicate_after_our_own_uncertain_attempt_counts_as_sent(account, x_emulator):
    services.post_tweet(account, "maybe sent")
    scheduled = row("maybe sent", account, uncertain_since=timezone.now())
    # The earlier post is not in the bounded read: X's duplicate answer decides.
    x_emulator.state.inject(
        f"/2/users/{account.twitter_id}/tweets", status=200, body='{"meta": {"result_count": 0}}'
    )
    assert send(scheduled) == "sent"
    scheduled = reload(scheduled)
    assert scheduled.status == Status.SENT and "duplicate" in scheduled.last_error
    assert x_emulator.state.count("/2/tweets", "POST") == 2


def test_a_bad_request_fails_without_retry(account, x_emulator):
    scheduled = row("rejected by X", account)
    x_emulator.state.inject("/2/tweets", status=400)
    assert send(scheduled) == "failed"
    assert reload(scheduled).status == Status.FAILED


def test_gives_up_after_max_attempts(account, x_emulator, x_settings):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "POST_MAX_ATTEMPTS": 2}
    scheduled = row("never up", account)
    x_emulator.state.inject("/2/tweets", status=503, times=None)
    assert send(scheduled) == "retried"
    ScheduledTweet.objects.filter(pk=scheduled.pk).update(send_at=timezone.now())
    assert send(scheduled) == "failed"
    assert "Gave up after 2 attempts" in reload(scheduled).last_error


# --- claims and leases --------------------------------------------------------------------------


def test_a_post_held_by_a_live_lease_is_left_alone(account, x_emulator):
    scheduled = row(
        "held",
        account,
        status=Status.SENDING,
        lease_expires_at=timezone.now() + dt.timedelta(seconds=30),
    )
    assert send(scheduled) == "skipped"
    assert x_emulator.state.count() == 0


def test_a_post_whose_lease_ran_out_is_taken_over_and_checked_at_x(account, x_emulator):
    tweet_id = services.post_tweet(account, "crashed mid-send")  # the dead worker's post reached X
    scheduled = row(
        "crashed mid-send",
        account,
        status=Status.SENDING,
        attempts=1,
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1),
    )
    assert send(scheduled) == "sent"
    assert reload(scheduled).tweet_id == tweet_id
    assert x_emulator.state.count("/2/tweets", "POST") == 1


def test_the_dispatcher_starts_a_sender_for_abandoned_posts(
    account, x_emulator, django_capture_on_commit_callbacks
):
    scheduled = row(
        "abandoned",
        account,
        status=Status.SENDING,
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_due_tweets.delay().get() == 1
    assert reload(scheduled).status == Status.SENT


def test_an_outcome_after_a_lost_lease_is_not_recorded_over_the_new_claim(
    account, x_emulator, caplog
):
    scheduled = row("contested", account)
    from twitter_oauth.services import delivery

    [claimed] = delivery.claim(10).rows
    assert claimed.pk == scheduled.pk and claimed.claim_id is not None
    ScheduledTweet.objects.filter(pk=scheduled.pk).update(claim_id=None)  # another worker took it
    delivery._succeed(claimed, "123")
    assert reload(scheduled).status == Status.SENDING
    assert "after its lease ran out" in caplog.text


def test_retry_failed_and_cancel(account, x_emulator, django_capture_on_commit_callbacks):
    failed = row("try again", account, status=Status.FAILED, attempts=6)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.retry_failed(failed)
    assert reload(failed).status == Status.SENT
    pending = row("stop", account, send_at=timezone.now() + dt.timedelta(hours=1))
    assert services.cancel(pending)
    assert reload(pending).status == Status.FAILED and reload(pending).last_error == "Cancelled."
    assert not services.cancel(reload(failed))


# --- profiles -----------------------------------------------------------------------------------


def test_refresh_profiles_finds_stale_and_revoked_accounts(account, x_emulator):
    x_emulator.state.revoke(account.access_token)
    assert tasks.refresh_profiles.delay().get() == 1
    account.refresh_from_db()
    assert account.revoked_at is not None
    assert tasks.refresh_profiles.delay().get() == 0


# --- the command --------------------------------------------------------------------------------


def run_post(*args):
    out = io.StringIO()
    call_command("twitter_post", *args, stdout=out)
    return out.getvalue().strip()


def test_twitter_post_schedules_and_prints_the_id(account, x_emulator):
    scheduled_id = run_post("@alice", "from the command line", "--at", "2030-01-01T09:00:00+01:00")
    scheduled = ScheduledTweet.objects.get(pk=int(scheduled_id))
    assert scheduled.text == "from the command line"
    assert scheduled.send_at == dt.datetime(2030, 1, 1, 8, tzinfo=dt.UTC)
    assert scheduled.status == Status.PENDING


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nobody", "hi"), "No linked X account @nobody"),
        (("alice", ""), "cannot be empty"),
        (("alice", "hi", "--at", "tomorrow"), "not an ISO 8601"),
    ],
)
def test_twitter_post_refuses_clearly(account, args, message):
    with pytest.raises(CommandError, match=message):
        run_post(*args)
