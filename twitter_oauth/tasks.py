"""Celery tasks. They receive ids, never model instances, and call the service layer.

Tasks are ``@shared_task`` so they bind to the project's Celery app. Periodic
ones are listed in :data:`twitter_oauth.beat.BEAT_SCHEDULE`.
"""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task

from twitter_oauth import services
from twitter_oauth.exceptions import TwitterRateLimited, TwitterTokenRevoked, TwitterUnavailable
from twitter_oauth.models import TwitterAccount
from twitter_oauth.services import posting

logger = logging.getLogger("twitter_oauth.tasks")


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_scheduled_tweet(self: Task, scheduled_tweet_id: int) -> str:
    """Send one scheduled post. Running it twice, or after a crash, does no harm.

    ``acks_late``: the message is acknowledged after the work, so a worker that
    dies mid-send has it redelivered; the row's claim and lease decide who sends.
    """
    result = posting.send_scheduled(scheduled_tweet_id)
    if result.outcome == "retry" and not self.request.is_eager:
        # Eager mode (no broker) must not recurse: the periodic sweep picks it up.
        posting.enqueue(scheduled_tweet_id, eta=result.retry_at)
    return result.outcome


@shared_task(ignore_result=True)
def send_due_tweets() -> int:
    """Enqueue due posts and take over posts whose worker died (every minute, from beat)."""
    return posting.enqueue_due()


@shared_task(
    bind=True,
    autoretry_for=(TwitterUnavailable,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def refresh_profile(self: Task, account_id: int) -> None:
    """Fetch the profile (name, avatar, screen name) of a linked account from X.

    Harmless twice: it only overwrites the profile fields with X's current values.
    A 401 marks the account revoked.
    """
    account = TwitterAccount.objects.filter(pk=account_id).first()
    if account is None or account.revoked_at is not None:
        return  # unlinked or revoked since it was enqueued
    try:
        services.refresh_profile(account)
    except TwitterTokenRevoked:
        logger.info("X account %s revoked access; marked revoked", account.twitter_id)
    except TwitterRateLimited as exc:
        # Waiting for X's reset does not use up the retries meant for outages.
        wait = (exc.seconds_until_reset() or 60) + random.uniform(0, 10)  # noqa: S311
        raise self.retry(exc=exc, countdown=wait, max_retries=None) from exc


@shared_task(ignore_result=True)
def refresh_profiles(limit: int = 200) -> int:
    """Enqueue profile refreshes for accounts not verified for PROFILE_REFRESH_INTERVAL.

    This is also how revoked tokens are found: X answers 401 for them.
    """
    ids = services.stale_account_ids(limit=limit)
    for account_id in ids:
        refresh_profile.delay(account_id)
    return len(ids)


@shared_task(ignore_result=True)
def keep_oauth2_tokens_alive(limit: int = 500) -> int:
    """Refresh OAuth 2.0 accounts whose refresh token would otherwise go unused too long.

    X forgets a refresh token left unused; an account that posts rarely would lose
    its access silently. Each refresh takes the account's row lock, so it never
    spends a token a worker is refreshing at the same moment.
    """
    from twitter_oauth.services import tokens

    return sum(
        tokens.keep_alive(account_id)
        for account_id in tokens.expiring_refresh_token_ids(limit=limit)
    )
