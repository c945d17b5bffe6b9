"""Posting for an account, now or later, exactly once in effect.

Scheduled posts are delivered by :mod:`twitter_oauth.services.delivery`: the
row is the schedule, claims and leases decide who sends it, and an attempt
after one whose outcome is unknown first looks for the post at X. See
``docs/posting.rst`` for the guarantee, its bound and its limits.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from twitter_text import parse_tweet

from twitter_oauth.exceptions import (
    PostRejected,
    TwitterAppHeld,
    TwitterAuthError,
    TwitterRateLimited,
)
from twitter_oauth.models import ScheduledTweet, TwitterAccount
from twitter_oauth.services import holds
from twitter_oauth.services.accounts import client_for, mark_revoked
from twitter_oauth.services.delivery import hold_account, send_due

logger = logging.getLogger("twitter_oauth.posting")

Status = ScheduledTweet.Status


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
    the hold's :class:`TwitterAppHeld` subclass without calling X while X holds
    the whole app, and any :class:`TwitterError` from X. A 401 marks the account
    revoked, a 429 holds the account's posts until X's reset time, and a 402 or
    an app-wide 429 starts an app-wide hold.
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
    holds.raise_if_held()
    try:
        return client_for(account).create_tweet(text).id
    except TwitterRateLimited as exc:
        hold_account(account, exc)
        raise
    except TwitterAppHeld as exc:
        holds.start(exc)
        raise
    except TwitterAuthError:
        mark_revoked(account)
        raise


def schedule_tweet(
    account: TwitterAccount, text: str, send_at: dt.datetime | None = None
) -> ScheduledTweet:
    """Store a post to be sent at ``send_at`` (now when None).

    The row is the schedule: a post due now is sent as soon as the transaction
    commits (a task is kicked then; a rolled-back row sends nothing), a later one
    by the dispatcher within its interval of falling due.
    """
    validate_text(text)
    _check_account(account)
    scheduled = ScheduledTweet.objects.create(
        account=account, text=text, send_at=send_at or timezone.now()
    )
    if scheduled.send_at <= timezone.now():
        kick()
    return scheduled


def kick() -> None:
    """Have a worker look for due posts as soon as the current transaction commits."""
    from twitter_oauth import tasks

    # robust: a broker that is down leaves the post to the dispatcher, not a 500.
    transaction.on_commit(tasks.kick_delivery, robust=True)


def retry_failed(scheduled: ScheduledTweet) -> bool:
    """Send a failed post again (from the admin): back to pending, attempts reset."""
    updated = ScheduledTweet.objects.filter(pk=scheduled.pk, status=Status.FAILED).update(
        status=Status.PENDING, attempts=0, send_at=timezone.now(), updated_at=timezone.now()
    )
    if updated:
        kick()
    return bool(updated)


def cancel(scheduled: ScheduledTweet) -> bool:
    """Cancel a pending post; one already being sent cannot be called back."""
    return bool(
        ScheduledTweet.objects.filter(pk=scheduled.pk, status=Status.PENDING).update(
            status=Status.FAILED, last_error=_("Cancelled."), updated_at=timezone.now()
        )
    )


__all__ = [
    "cancel",
    "kick",
    "post_tweet",
    "retry_failed",
    "schedule_tweet",
    "send_due",
    "validate_text",
]
