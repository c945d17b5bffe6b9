"""Celery tasks. They receive ids, never model instances, and call the service layer."""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task

from twitter_oauth import services
from twitter_oauth.exceptions import TwitterRateLimited, TwitterTokenRevoked, TwitterUnavailable
from twitter_oauth.models import TwitterAccount

logger = logging.getLogger("twitter_oauth.tasks")


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
