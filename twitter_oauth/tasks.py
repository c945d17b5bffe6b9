"""Celery tasks. They receive ids, never model instances, and call the service layer.

Tasks are ``@shared_task`` so they bind to the project's Celery app. Periodic
ones are listed in :data:`twitter_oauth.beat.BEAT_SCHEDULE`. No task waits in the
broker for a time (no ``eta``, no ``countdown`` for posts): the row is the
schedule, and the dispatcher (``send_due_tweets``, every few seconds) starts
senders when posts fall due.
"""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task

from twitter_oauth import services
from twitter_oauth.beat import DISPATCH_INTERVAL
from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import (
    TwitterAppHeld,
    TwitterRateLimited,
    TwitterTokenRevoked,
    TwitterUnavailable,
)
from twitter_oauth.models import TwitterAccount
from twitter_oauth.services import delivery

logger = logging.getLogger("twitter_oauth.tasks")

#: A sender message not started within this many seconds is dropped: the next dispatch replaces it.
SENDER_EXPIRES = 2 * DISPATCH_INTERVAL
#: In eager mode (no broker) a kick sends in the committing request: keep that short.
EAGER_MAX_POSTS = 10


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_due_posts(self: Task) -> int:
    """Claim due posts in batches and send them; carries on in a new task while some are left.

    Safe to run any number of times at once, on any number of machines: claims
    decide who sends what. ``acks_late`` matters little: a lost message is
    replaced by the next dispatch, and a dead worker's posts by their lease.
    """
    return _send_due(eager=bool(self.request.is_eager))


def _send_due(*, eager: bool) -> int:
    if eager:
        return delivery.send_due(max_posts=EAGER_MAX_POSTS, max_seconds=2).claimed
    result = delivery.send_due()
    if result.more:
        kick_delivery()
    return result.claimed


def kick_delivery() -> None:
    """Start one sender now (called on commit after a post falls due, and by a busy sender)."""
    send_due_posts.apply_async(expires=SENDER_EXPIRES)


@shared_task(ignore_result=True)
def send_due_tweets() -> int:
    """The dispatcher (every few seconds, from beat): one sender per account with due posts,
    up to ``POST_PARALLEL_SENDERS``. Posts whose worker died are due again when their lease ends.
    """
    senders = delivery.accounts_with_due_posts(app_settings.POST_PARALLEL_SENDERS)
    for _ in range(senders):
        kick_delivery()
    return senders


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_scheduled_tweet(self: Task, scheduled_tweet_id: int) -> int:
    """Kept so that messages queued by earlier versions do no harm: sends what is due."""
    return _send_due(eager=bool(self.request.is_eager))


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
    A 401 marks the account revoked. While X holds the app it is skipped; the
    periodic ``refresh_profiles`` finds the account again later.
    """
    account = TwitterAccount.objects.filter(pk=account_id).first()
    if account is None or account.revoked_at is not None:
        return  # unlinked or revoked since it was enqueued
    try:
        services.refresh_profile(account)
    except TwitterTokenRevoked:
        logger.info("X account %s revoked access; marked revoked", account.twitter_id)
    except TwitterAppHeld as exc:
        logger.info("Profile of X account %s not read: %s", account.twitter_id, exc)
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
