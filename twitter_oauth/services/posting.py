"""Posting for an account, now or later, exactly once in effect.

Delivery is at least once (Celery with late acknowledgement, a lease on each
post, a sweeper for leases that ran out) and every attempt after one whose
outcome is unknown first asks X whether the post already exists, so a post
reaches X once. See ``docs/posting.rst`` for the guarantee and its limits.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from twitter_text import parse_tweet

from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import (
    PostRejected,
    TwitterAuthError,
    TwitterDuplicate,
    TwitterError,
    TwitterRateLimited,
    TwitterUnavailable,
)
from twitter_oauth.models import ScheduledTweet, TwitterAccount
from twitter_oauth.services.accounts import client_for, mark_revoked

logger = logging.getLogger("twitter_oauth.posting")

Status = ScheduledTweet.Status
#: Posts of the account read back from X to find one whose fate is unknown.
LOOKBACK = 50
#: When X gives no reset time with a 429.
DEFAULT_RATE_LIMIT_WAIT = 60
#: Spread of the wake-ups after a rate limit, so a fleet of posts does not return at once.
RATE_LIMIT_JITTER = 5.0


def validate_text(text: str) -> None:
    """Refuse what X would refuse, counting as X counts (URLs 23, most CJK 2)."""
    if not text or not text.strip():
        raise PostRejected(_("A post cannot be empty."))
    parsed = parse_tweet(text)
    if parsed.weightedLength > 280:
        raise PostRejected(
            _("A post can be 280 characters at most; this one counts %(length)s.")
            % {"length": parsed.weightedLength}
        )
    if not parsed.valid:
        raise PostRejected(_("This post contains characters X does not accept."))


def _check_account(account: TwitterAccount) -> None:
    if account.revoked_at is not None:
        raise PostRejected(
            _(
                "@%(name)s no longer lets this site post (access was revoked). "
                "Sign in with it again."
            )
            % {"name": account.screen_name}
        )
    if not account.can_post():
        raise PostRejected(
            _(
                "@%(name)s was linked without permission to post (the tweet.write scope). "
                "Sign in with X again and allow this site to post."
            )
            % {"name": account.screen_name}
        )


def post_tweet(account: TwitterAccount, text: str) -> str:
    """Post now, in this process; returns the tweet id.

    Raises :class:`PostRejected` before calling X (bad text, revoked account),
    :class:`TwitterRateLimited` without calling X while the account is limited,
    and any :class:`TwitterError` from X. A 401 marks the account revoked and a
    429 holds the account's posts until X's reset time.
    """
    validate_text(text)
    _check_account(account)
    if account.is_rate_limited():
        raise TwitterRateLimited(
            _("X is limiting posts of @%(name)s until %(until)s.")
            % {
                "name": account.screen_name,
                "until": f"{account.rate_limited_until:%Y-%m-%d %H:%M:%S}",
            },
            reset_at=account.rate_limited_until,
        )
    try:
        return client_for(account).create_tweet(text).id
    except TwitterRateLimited as exc:
        _hold_account(account, exc)
        raise
    except TwitterAuthError:
        mark_revoked(account)
        raise


def schedule_tweet(
    account: TwitterAccount, text: str, send_at: dt.datetime | None = None
) -> ScheduledTweet:
    """Store a post and have it sent at ``send_at`` (now when None) by a Celery task.

    The task is enqueued once the transaction commits; a rolled-back row sends
    nothing. Posts due more than ``SCHEDULE_ETA_HORIZON`` seconds ahead are
    enqueued by the periodic task ``send_due_tweets`` when their time comes.
    """
    validate_text(text)
    _check_account(account)
    scheduled = ScheduledTweet.objects.create(
        account=account, text=text, send_at=send_at or timezone.now()
    )
    horizon = timezone.now() + dt.timedelta(seconds=app_settings.SCHEDULE_ETA_HORIZON)
    if scheduled.send_at <= horizon:
        enqueue(scheduled.pk, eta=scheduled.send_at)
    return scheduled


def enqueue(scheduled_id: int, *, eta: dt.datetime | None = None) -> None:
    """Put a send task on the queue after the current transaction commits."""
    from twitter_oauth import tasks

    def send() -> None:
        ScheduledTweet.objects.filter(pk=scheduled_id).update(enqueued_at=timezone.now())
        if eta is not None and eta > timezone.now():
            tasks.send_scheduled_tweet.apply_async((scheduled_id,), eta=eta)
        else:
            tasks.send_scheduled_tweet.delay(scheduled_id)

    # robust: a broker that is down leaves the row pending for the sweeper, not a 500.
    transaction.on_commit(send, robust=True)


# --- sending, as the task does it ----------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    """What one attempt did; ``retry_at`` is when the next may run."""

    outcome: str  # "sent", "failed", "retry" or "skipped"
    retry_at: dt.datetime | None = None
    tweet_id: str = ""


SKIPPED = SendResult("skipped")


def send_scheduled(scheduled_id: int) -> SendResult:
    """Claim the post, send it, record what happened. Safe to run any number of times."""
    claimed = _claim(scheduled_id)
    if claimed is None:
        return SKIPPED
    claim, took_over = claimed
    with transaction.atomic():
        # One send at a time per account: the lock on the account's row makes a worker
        # that meets a 429 (or a 401) record it before another may use the token again.
        row = (
            ScheduledTweet.objects.select_related("account")
            .select_for_update(of=("account",))
            .get(pk=scheduled_id, claim_id=claim)
        )
        return _attempt(row, row.account, took_over or row.may_have_posted)


def _attempt(row: ScheduledTweet, account: TwitterAccount, uncertain: bool) -> SendResult:
    if account.revoked_at is not None:
        return _fail(
            row,
            _("The X account @%(name)s revoked this site's access.")
            % {"name": account.screen_name},
        )
    if account.is_rate_limited():
        # No request with this token before X's reset: not an attempt, just a wait.
        return _release(row, retry_at=_after_reset(account.rate_limited_until), attempt=False)
    client = client_for(account)
    try:
        if uncertain:
            found = _find_posted(client, account, row.text)
            if found:
                logger.info("Post %s was already at X (tweet %s); not posting again", row.pk, found)
                return _succeed(row, found)
        tweet_id = client.create_tweet(row.text).id
    except TwitterRateLimited as exc:
        _hold_account(account, exc)
        return _release(
            row, retry_at=_after_reset(account.rate_limited_until), attempt=False, error=exc
        )
    except TwitterAuthError as exc:
        mark_revoked(account)
        return _fail(
            row, _("X refused the account's access token (revoked): %(error)s") % {"error": exc}
        )
    except TwitterDuplicate as exc:
        if uncertain:
            # Our own earlier attempt most likely reached X; posting again is what we must not do.
            return _succeed(
                row, "", note=_("X reported a duplicate of an earlier attempt; recorded as sent.")
            )
        return _fail(row, str(exc))
    except TwitterUnavailable as exc:
        if row.attempts >= app_settings.POST_MAX_ATTEMPTS:
            error = _("Gave up after %(n)s attempts: %(error)s") % {"n": row.attempts, "error": exc}
            return _fail(row, error, may_have_posted=True)
        return _release(
            row, retry_at=_backoff(row.attempts), attempt=True, error=exc, may_have_posted=True
        )
    except TwitterError as exc:
        return _fail(row, str(exc))
    return _succeed(row, tweet_id)


def _claim(scheduled_id: int) -> tuple[uuid.UUID, bool] | None:
    """Take the row for this attempt: a conditional UPDATE, so only one worker gets it.

    Returns the claim id and whether the row was taken over from an attempt
    whose lease ran out (its worker died mid-send, so it may have posted).
    """
    now = timezone.now()
    claim = uuid.uuid4()
    changes = {
        "status": Status.SENDING,
        "claim_id": claim,
        "lease_expires_at": now + dt.timedelta(seconds=app_settings.POST_LEASE),
        "attempts": F("attempts") + 1,
        "updated_at": now,
    }
    due = ScheduledTweet.objects.filter(pk=scheduled_id, send_at__lte=now)
    took_over = False
    if not due.filter(status=Status.PENDING).update(**changes):
        took_over = bool(
            due.filter(status=Status.SENDING, lease_expires_at__lt=now).update(**changes)
        )
        if not took_over:
            return None
    return claim, took_over


def _find_posted(client, account: TwitterAccount, text: str) -> str | None:
    for tweet in client.get_user_tweets(account.twitter_id, max_results=LOOKBACK):
        if tweet.get("text") == text and isinstance(tweet.get("id"), str):
            return tweet["id"]
    return None


def _finish(row: ScheduledTweet, **changes) -> bool:
    """Record the outcome only if this attempt still holds the claim."""
    changes.setdefault("claim_id", None)
    changes.setdefault("lease_expires_at", None)
    changes["updated_at"] = timezone.now()
    return bool(
        ScheduledTweet.objects.filter(
            pk=row.pk, claim_id=row.claim_id, status=Status.SENDING
        ).update(**changes)
    )


def _succeed(row: ScheduledTweet, tweet_id: str, *, note: str = "") -> SendResult:
    if not _finish(
        row,
        status=Status.SENT,
        tweet_id=tweet_id,
        sent_at=timezone.now(),
        last_error=note,
        may_have_posted=False,
    ):
        logger.warning("Post %s was sent as tweet %s after its lease ran out", row.pk, tweet_id)
    return SendResult("sent", tweet_id=tweet_id)


def _fail(row: ScheduledTweet, error: str, *, may_have_posted: bool = False) -> SendResult:
    logger.warning("Post %s failed: %s", row.pk, error)
    _finish(row, status=Status.FAILED, last_error=error[:2000], may_have_posted=may_have_posted)
    return SendResult("failed")


def _release(
    row: ScheduledTweet,
    *,
    retry_at: dt.datetime,
    attempt: bool,
    error: BaseException | None = None,
    may_have_posted: bool | None = None,
) -> SendResult:
    """Back to ``pending`` until ``retry_at``; waiting for a rate limit is not an attempt."""
    # Not enqueued: the task enqueues it for retry_at, or (eager mode) the sweep does when due.
    changes: dict = {"status": Status.PENDING, "send_at": retry_at, "enqueued_at": None}
    if not attempt:
        changes["attempts"] = F("attempts") - 1
    if error is not None:
        changes["last_error"] = str(error)[:2000]
    if may_have_posted:
        changes["may_have_posted"] = True
    _finish(row, **changes)
    return SendResult("retry", retry_at=retry_at)


def _hold_account(account: TwitterAccount, exc: TwitterRateLimited) -> None:
    """Every post of the account waits for X's reset, not only the one that met the 429."""
    until = exc.reset_at or timezone.now() + dt.timedelta(seconds=DEFAULT_RATE_LIMIT_WAIT)
    TwitterAccount.objects.filter(pk=account.pk).filter(
        Q(rate_limited_until__isnull=True) | Q(rate_limited_until__lt=until)
    ).update(rate_limited_until=until)
    account.rate_limited_until = until


def _after_reset(reset: dt.datetime | None) -> dt.datetime:
    return (reset or timezone.now()) + dt.timedelta(seconds=random.uniform(0.5, RATE_LIMIT_JITTER))  # noqa: S311


def _backoff(attempts: int) -> dt.datetime:
    """Exponential backoff with full jitter: uniform in [base/2, min(cap, base * 2^(n-1))]."""
    base = app_settings.POST_RETRY_BACKOFF
    ceiling = min(app_settings.POST_RETRY_BACKOFF_MAX, base * 2 ** max(0, attempts - 1))
    return timezone.now() + dt.timedelta(seconds=random.uniform(base / 2, max(base / 2, ceiling)))  # noqa: S311


# --- the sweeper ---------------------------------------------------------------------------------


def enqueue_due(*, limit: int = 1000) -> int:
    """Enqueue posts that are due and not queued recently, and posts whose lease ran out.

    Run every minute by the beat task ``send_due_tweets``; returns how many it enqueued.
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=app_settings.REQUEUE_AFTER)
    due = Q(status=Status.PENDING, send_at__lte=now) & (
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale)
    )
    abandoned = Q(status=Status.SENDING, lease_expires_at__lt=now)
    ids = list(
        ScheduledTweet.objects.filter(due | abandoned)
        .order_by("send_at")
        .values_list("pk", flat=True)[:limit]
    )
    for scheduled_id in ids:
        enqueue(scheduled_id)
    return len(ids)


def retry_failed(scheduled: ScheduledTweet) -> bool:
    """Send a failed post again (from the admin): back to pending, attempts reset."""
    updated = ScheduledTweet.objects.filter(pk=scheduled.pk, status=Status.FAILED).update(
        status=Status.PENDING, attempts=0, send_at=timezone.now(), updated_at=timezone.now()
    )
    if updated:
        enqueue(scheduled.pk)
    return bool(updated)


def cancel(scheduled: ScheduledTweet) -> bool:
    """Cancel a pending post; one already being sent cannot be called back."""
    return bool(
        ScheduledTweet.objects.filter(pk=scheduled.pk, status=Status.PENDING).update(
            status=Status.FAILED, last_error=_("Cancelled."), updated_at=timezone.now()
        )
    )


__all__ = [
    "SendResult",
    "cancel",
    "enqueue",
    "enqueue_due",
    "post_tweet",
    "retry_failed",
    "schedule_tweet",
    "send_scheduled",
    "validate_text",
]
