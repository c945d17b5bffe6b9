"""Accounts and posts for the in-process sender tests (test_delivery, test_outcomes_postgres)."""

from __future__ import annotations

import pytest
from django.db.models import Count

from twitter_oauth.models import ScheduledTweet, TwitterAccount


@pytest.fixture
def sender_accounts(x_settings, x_emulator, django_user_model):
    """Three accounts at the emulator, with one sender in-process (it takes every free one)."""
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "POST_PARALLEL_SENDERS": 1}
    made = []
    for n in range(3):
        person = x_emulator.state.add_user(f"sender{n}")
        token, secret = x_emulator.state.issue_access_token("test-consumer-key", person)
        made.append(
            TwitterAccount.objects.create(
                user=django_user_model.objects.create_user(f"sender{n}"),
                twitter_id=person.id,
                screen_name=person.screen_name,
                access_token=token,
                access_token_secret=secret,
            )
        )
    return made


def make_posts(accounts, count, **fields):
    return ScheduledTweet.objects.bulk_create(
        ScheduledTweet(account=accounts[n % len(accounts)], text=f"post {n}", **fields)
        for n in range(count)
    )


def statuses():
    counted = ScheduledTweet.objects.values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in counted}
