"""Delivery of scheduled posts: the database row is the only clock.

A wait (retry backoff, an account's rate limit, an app-wide hold) is the row's
``send_at`` or the account's or app's hold, never a message waiting in a broker.
:func:`send_due` claims a batch of due posts of accounts nobody else is sending
for (:mod:`~twitter_oauth.services.claims`), sends them one after another through
the process's pooled session, and records each outcome as it goes
(:mod:`~twitter_oauth.services.outcomes`): a crash loses at most the post in
flight, which its lease then hands to the next worker. Any number of workers on
any number of machines may run it at once; the claim decides who sends what.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from dataclasses import dataclass, field

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from twitter_oauth.client import TwitterClient
from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import (
    TwitterAppHeld,
    TwitterAuthError,
    TwitterDuplicate,
    TwitterError,
    TwitterForbidden,
    TwitterNotFound,
    TwitterRateLimited,
    TwitterUnavailable,
)
from twitter_oauth.models import ScheduledTweet, TwitterAccount
from twitter_oauth.services import holds, outcomes
from twitter_oauth.services.accounts import client_for, mark_revoked
from twitter_oauth.services.claims import (
    Batch,
    accounts_with_due_posts,
    claim,
    hand_back,
    still_ours,
)

logger = logging.getLogger("twitter_oauth.posting")

Status = ScheduledTweet.Status
#: When X gives no reset time with a 429.
DEFAULT_RATE_LIMIT_WAIT = 60
#: Spread of the wake-ups after a rate limit, so a fleet of posts does not return at once.
RATE_LIMIT_JITTER = 5.0
#: The look for an uncertain post starts this long before its attempt (clocks differ).
LOOKUP_CLOCK_SLACK = dt.timedelta(seconds=10)
#: Posts read back to find an uncertain one (X's minimum page; $0.005 each on pay-per-use X).
LOOKUP_MAX_RESULTS = 5
#: Stop a call of send_due() after this long, so a task ends and the next one carries on.
ROUND_SECONDS = 30.0
#: A batch still sending after this many seconds hands its unsent posts back, so that the
#: accounts pass between senders and every sender has one (a nearby X sends a batch sooner).
BATCH_SECONDS = 2.0
#: A sender looks this often (seconds) whether another one met an app-wide refusal meanwhile:
#: with X tens of milliseconds away, before every post; on loopback, every few dozen.
HOLD_CHECK_INTERVAL = 0.05


@dataclass
class Round:
    """What one :func:`send_due` did; ``more`` means due posts were left for the next call."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    held: int = 0
    more: bool = False
    outcomes: list[tuple[int, str]] = field(default_factory=list, repr=False)

    @property
    def claimed(self) -> int:
        return self.sent + self.failed + self.retried + self.held

    def count(self, row: ScheduledTweet, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.outcomes.append((row.pk, outcome))


def send_due(
    *, batch_size: int | None = None, max_posts: int | None = None, max_seconds: float | None = None
) -> Round:
    """Claim due posts in batches and send them until none is left or the budget is spent."""
    batch_size = batch_size or app_settings.POST_BATCH_SIZE
    max_posts = max_posts or 10 * batch_size
    deadline = time.monotonic() + (max_seconds if max_seconds is not None else ROUND_SECONDS)
    result = Round()
    with outcomes.recording():
        while result.claimed < max_posts:
            limit = min(batch_size, max_posts - result.claimed, pace.batch_limit())
            batch = claim(limit)
            if not batch.rows:
                return result
            started = time.monotonic()
            posted = _send_batch(batch, result)
            pace.record(posted, time.monotonic() - started)
            # The next claim must see this batch's accounts free again.
            outcomes.flush()
            if time.monotonic() >= deadline:
                break
    result.more = True
    return result


class Pace:
    """How long a post to X takes lately in this process, so that a batch claims about what
    it can send in :data:`BATCH_SECONDS` (and hands back nothing on a distant X)."""

    def __init__(self) -> None:
        self.seconds_per_post: float | None = None

    def batch_limit(self) -> int:
        if not self.seconds_per_post:
            return app_settings.POST_BATCH_SIZE
        return max(1, int(BATCH_SECONDS / self.seconds_per_post))

    def record(self, posts: int, seconds: float) -> None:
        if posts:
            latest = seconds / posts
            known = self.seconds_per_post
            self.seconds_per_post = latest if known is None else (known + latest) / 2


pace = Pace()


# --- sending ------------------------------------------------------------------------------------


class _Stop(Exception):
    """The account's other posts in the batch must not be sent now; ``outcome`` is theirs
    and the outcome recorded for the row that met it."""

    def __init__(self, outcome: str, *, reached_x: bool = True) -> None:
        self.outcome = outcome
        self.reached_x = reached_x
        super().__init__(outcome)


def _send_batch(batch: Batch, result: Round) -> int:
    """Send the batch's posts in order; how many went to X."""
    posted = 0
    clients: dict[int, TwitterClient] = {}
    stopped_accounts: dict[int, str] = {}  # account id -> outcome for its remaining rows
    held_message = ""  # set once X held the app: the rest of the batch waits
    started = checked_holds = time.monotonic()
    for index, row in enumerate(batch.rows):
        account = row.account
        if index and not held_message and time.monotonic() - started >= BATCH_SECONDS:
            hand_back(batch, batch.rows[index:])
            return posted
        if (
            not held_message
            and not batch.probe
            and time.monotonic() - checked_holds >= HOLD_CHECK_INTERVAL
        ):
            # Another sender may have met an app-wide refusal since this batch was claimed.
            checked_holds = time.monotonic()
            hold = holds.state().latest()
            if hold is not None:
                held_message = holds.waiting_message(hold)
        if held_message:
            result.count(
                row, _release(row, retry_at=row.send_at, attempt=False, error=held_message)
            )
            continue
        if account.pk in stopped_accounts:
            result.count(row, _after_account_stop(row, account, stopped_accounts[account.pk]))
            continue
        if not still_ours(batch, batch.rows[index:]):
            continue  # taken over by another worker after our lease ran out
        posted += 1
        try:
            outcome = _attempt(row, account, clients)
        except TwitterAppHeld as exc:
            hold = holds.start(exc)
            if batch.probe:
                holds.end_open_ended(except_reason=exc.hold_reason)
            held_message = holds.waiting_message(hold)
            outcome = _release(row, retry_at=row.send_at, attempt=False, error=held_message)
        except _Stop as stop:
            stopped_accounts[account.pk] = stop.outcome
            outcome = stop.outcome
            if batch.probe and stop.reached_x:
                holds.end_open_ended()
        else:
            if batch.probe:
                holds.end_open_ended()
        result.count(row, outcome)
    return posted


def _after_account_stop(row: ScheduledTweet, account: TwitterAccount, outcome: str) -> str:
    if outcome == "failed":
        return _fail(row, _revoked_message(account))
    return _release(row, retry_at=_after_reset(account.rate_limited_until), attempt=False)


def _revoked_message(account: TwitterAccount) -> str:
    return _("The X account @%(name)s revoked this site's access.") % {"name": account.screen_name}


def _attempt(
    row: ScheduledTweet, account: TwitterAccount, clients: dict[int, TwitterClient]
) -> str:
    """Send one claimed post and record the outcome; raises _Stop for the account's other rows.

    ``clients`` caches one client per account for the batch (building one may
    refresh an OAuth 2.0 token, so it happens here, under the same handling).
    """
    if account.revoked_at is not None:
        _fail(row, _revoked_message(account))
        raise _Stop("failed", reached_x=False)
    started = timezone.now()
    uncertain = row.uncertain_since is not None
    try:
        client = clients.get(account.pk) or clients.setdefault(account.pk, client_for(account))
        if uncertain and app_settings.UNCERTAIN_POST_LOOKUP:
            found = _look_for(client, account, row)
            if found:
                logger.info("Post %s was already at X (tweet %s); not posting again", row.pk, found)
                return _succeed(row, found)
        tweet_id = client.create_tweet(row.text).id
    except TwitterRateLimited as exc:
        hold_account(account, exc)
        _release(row, retry_at=_after_reset(account.rate_limited_until), attempt=False, error=exc)
        raise _Stop("held") from exc
    except TwitterAuthError as exc:
        mark_revoked(account)
        _fail(row, _("X refused the account's access token (revoked): %(error)s") % {"error": exc})
        raise _Stop("failed") from exc
    except TwitterDuplicate as exc:
        if uncertain:
            # Our own earlier attempt most likely reached X; posting again is what we must not do.
            return _succeed(
                row, "", note=_("X reported a duplicate of an earlier attempt; recorded as sent.")
            )
        return _fail(row, str(exc))
    except TwitterUnavailable as exc:
        since = row.uncertain_since or started
        if row.attempts >= app_settings.POST_MAX_ATTEMPTS:
            error = _("Gave up after %(n)s attempts: %(error)s") % {"n": row.attempts, "error": exc}
            return _fail(row, error, uncertain_since=since)
        return _release(
            row, retry_at=_backoff(row.attempts), attempt=True, error=exc, uncertain_since=since
        )
    except TwitterAppHeld:
        raise
    except TwitterError as exc:
        return _fail(row, str(exc))
    return _succeed(row, tweet_id)


def _look_for(client: TwitterClient, account: TwitterAccount, row: ScheduledTweet) -> str | None:
    """One bounded read of the account's posts since the uncertain attempt.

    Where X refuses the read (a plan without the endpoint answers 403
    ``client-not-enrolled``; a 404; the read's own rate limit), the post is sent
    again and X's duplicate 403 counts as sent.
    """
    assert row.uncertain_since is not None
    try:
        tweets = client.get_user_tweets(
            account.twitter_id,
            start_time=row.uncertain_since - LOOKUP_CLOCK_SLACK,
            max_results=LOOKUP_MAX_RESULTS,
        )
    except (TwitterForbidden, TwitterNotFound, TwitterRateLimited) as exc:
        logger.info("X refused the look for post %s (%s); posting again", row.pk, exc)
        return None
    for tweet in tweets:
        if tweet.get("text") == row.text and isinstance(tweet.get("id"), str):
            return tweet["id"]
    return None


# --- outcomes -----------------------------------------------------------------------------------


def _succeed(row: ScheduledTweet, tweet_id: str, *, note: str = "") -> str:
    outcomes.record(
        row,
        status=Status.SENT,
        tweet_id=tweet_id,
        sent_at=timezone.now(),
        last_error=note,
        uncertain_since=None,
    )
    return "sent"


def _fail(row: ScheduledTweet, error: str, **changes) -> str:
    logger.warning("Post %s failed: %s", row.pk, error)
    outcomes.record(row, status=Status.FAILED, last_error=error[:2000], **changes)
    return "failed"


def _release(
    row: ScheduledTweet,
    *,
    retry_at: dt.datetime,
    attempt: bool,
    error: BaseException | str | None = None,
    uncertain_since: dt.datetime | None = None,
) -> str:
    """Back to ``pending`` until ``retry_at``; a wait (rate limit, hold) is not an attempt."""
    changes: dict = {"status": Status.PENDING, "send_at": retry_at}
    if not attempt:
        changes["attempts"] = F("attempts") - 1
    if error is not None:
        changes["last_error"] = str(error)[:2000]
    if uncertain_since is not None:
        changes["uncertain_since"] = uncertain_since
    outcomes.record(row, **changes)
    return "retried" if attempt else "held"


def hold_account(account: TwitterAccount, exc: TwitterRateLimited) -> None:
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


__all__ = ["Batch", "Round", "accounts_with_due_posts", "claim", "hold_account", "send_due"]
