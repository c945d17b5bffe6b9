"""Outcomes on PostgreSQL: sent on a connection of their own without waiting, and nothing lost.

Outside a transaction (as in a worker) the sender does not wait for the database
after each post; these tests check that every outcome is still written once the
round ends, that an outcome for a row another worker took over is refused, and
that a broken connection fails the round without losing a post.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.delivery_helpers import make_posts, statuses
from twitter_oauth import services
from twitter_oauth.models import ScheduledTweet
from twitter_oauth.services import delivery, outcomes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = ScheduledTweet.Status


def test_outcomes_leave_the_senders_connection_and_are_all_written_when_the_round_ends(
    sender_accounts, x_emulator
):
    make_posts(sender_accounts, 30)
    with CaptureQueriesContext(connection) as queries:
        result = services.send_due(batch_size=10)
    assert result.sent == 30
    rows = ScheduledTweet.objects.all()
    assert statuses() == {Status.SENT: 30}
    assert {row.tweet_id for row in rows} == set(x_emulator.state.tweets)
    assert all(row.claim_id is None and row.lease_expires_at is None for row in rows)
    # The sender's own connection carries the claims only: no statement per post.
    outcome_updates = [
        q
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and "tweet_id" in q["sql"]
    ]
    assert outcome_updates == []
    assert len(queries) < 30


def test_each_batch_is_written_before_the_next_claim(sender_accounts, x_emulator):
    """The next claim must find the accounts free again, or a round would stop after one batch."""
    make_posts(sender_accounts, 12)
    result = services.send_due(batch_size=3)
    assert (result.sent, result.more) == (12, False)
    assert x_emulator.state.count("/2/tweets", "POST") == 12


def test_an_outcome_for_a_row_taken_over_is_refused_and_logged(sender_accounts, x_emulator, caplog):
    [post] = make_posts(sender_accounts[:1], 1)
    batch = delivery.claim(10)
    # Our lease ran out meanwhile and another worker took the row over (a new claim).
    ScheduledTweet.objects.filter(pk=post.pk).update(claim_id=None)
    with caplog.at_level(logging.WARNING, "twitter_oauth.posting"), outcomes.recording():
        delivery._send_batch(batch, delivery.Round())
    post.refresh_from_db()
    assert post.status == Status.SENDING and post.tweet_id == ""
    assert f"Post {post.pk} was sent as tweet" in caplog.text


def test_a_broken_outcome_connection_fails_the_round_and_loses_no_post(
    sender_accounts, x_emulator, monkeypatch
):
    make_posts(sender_accounts, 6)
    sent_outcomes = []
    send = outcomes._Channel.send

    def send_then_lose_the_connection(channel, pk, claim_id, changes):
        sent_outcomes.append(pk)
        if len(sent_outcomes) == 3:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [channel._pgconn.backend_pid])
        send(channel, pk, claim_id, changes)

    monkeypatch.setattr(outcomes._Channel, "send", send_then_lose_the_connection)
    with pytest.raises(DatabaseError):
        services.send_due()
    monkeypatch.undo()
    counted = statuses()
    # What was written is sent; the rest is still claimed, for its lease to hand over.
    assert set(counted) <= {Status.SENT, Status.SENDING} and counted.get(Status.SENT, 0) >= 1
    ScheduledTweet.objects.filter(status=Status.SENDING).update(lease_expires_at=timezone.now())
    services.send_due()
    assert statuses() == {Status.SENT: 6}
    texts = Counter(tweet.text for tweet in x_emulator.state.tweets.values())
    assert len(texts) == 6 and set(texts.values()) == {1}, "a post reached X twice"


def test_without_psycopg_3_outcomes_are_written_at_once_on_the_senders_connection(
    sender_accounts, x_emulator, monkeypatch
):
    monkeypatch.setattr(outcomes, "_can_send_ahead", lambda: False)
    make_posts(sender_accounts, 6)
    with CaptureQueriesContext(connection) as queries:
        assert services.send_due().sent == 6
    outcome_updates = [q for q in queries.captured_queries if "tweet_id" in q["sql"]]
    assert len([q for q in outcome_updates if q["sql"].startswith("UPDATE")]) == 6
    assert statuses() == {Status.SENT: 6}


def hold_row_lock(pk, seconds):
    """Another connection holds the row's lock for ``seconds``: the outcome's UPDATE waits."""
    from django.db import connections, transaction

    locked = threading.Event()

    def hold():
        try:
            with transaction.atomic():
                ScheduledTweet.objects.select_for_update().get(pk=pk)
                locked.set()
                time.sleep(seconds)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(5)
    return thread


def test_a_slow_answer_is_waited_for(sender_accounts, x_emulator):
    [post] = make_posts(sender_accounts[:1], 1)
    batch = delivery.claim(1)
    holder = hold_row_lock(post.pk, 0.5)
    started = time.monotonic()
    with outcomes.recording():
        delivery._send_batch(batch, delivery.Round())
    assert time.monotonic() - started >= 0.4  # the round waited for the UPDATE's answer
    holder.join()
    post.refresh_from_db()
    assert post.status == Status.SENT and post.tweet_id


def test_an_answer_that_never_comes_fails_the_round(sender_accounts, x_emulator, monkeypatch):
    monkeypatch.setattr(outcomes, "ANSWER_TIMEOUT", 0.2)
    [post] = make_posts(sender_accounts[:1], 1)
    batch = delivery.claim(1)
    holder = hold_row_lock(post.pk, 1.0)
    with pytest.raises(DatabaseError, match="did not answer in time"), outcomes.recording():
        delivery._send_batch(batch, delivery.Round())
    holder.join()
    assert x_emulator.state.count("/2/tweets", "POST") == 1
