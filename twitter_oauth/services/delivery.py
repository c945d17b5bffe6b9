"""Delivery of scheduled posts: the database row is the only clock.

A wait (retry backoff, an account's rate limit, an app-wide hold) is the row's
``send_at`` or the account's or app's hold, never a message waiting in a broker.
:func:`send_due` claims a batch of due posts of accounts nobody else is sending
for, sends them one after another through the process's pooled session, and
records each outcome as it goes: a crash loses at most the post in flight, which
its lease then hands to the next worker. Any number of workers on any number of
machines may run it at once; the claim decides who sends what.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
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
            batch = claim(min(batch_size, max_posts - result.claimed))
            if not batch.rows:
                return result
            _send_batch(batch, result)
            # The next claim must see this batch's accounts free again.
            outcomes.flush()
            if time.monotonic() >= deadline:
                break
    result.more = True
    return result


# --- claiming -----------------------------------------------------------------------------------


#: What sending a claimed post reads of its row (loading the rest would cost 5% of a
#: post on a nearby X).
_SENDING_FIELDS = (
    "account", "text", "send_at", "status", "attempts", "claim_id", "uncertain_since",
)  # fmt: skip


@dataclass
class Batch:
    claim_id: uuid.UUID
    rows: list[ScheduledTweet]
    probe: bool = False
    lease_expires_at: dt.datetime | None = None
    #: Rows another worker took over after this batch's lease ran out.
    lost: set[int] = field(default_factory=set)


def _due(now: dt.datetime) -> Q:
    """Pending and due, or left in ``sending`` by a worker whose lease ran out."""
    return Q(status=Status.PENDING, send_at__lte=now) | Q(
        status=Status.SENDING, lease_expires_at__lt=now
    )


def _busy(now: dt.datetime, account_ref: str) -> Exists:
    """The account has a post another attempt holds right now."""
    return Exists(
        ScheduledTweet.objects.filter(
            account_id=OuterRef(account_ref), status=Status.SENDING, lease_expires_at__gte=now
        )
    )


def _free_accounts(now: dt.datetime) -> QuerySet[TwitterAccount]:
    """Accounts with a due post that no other attempt is sending for and X does not limit."""
    due = ScheduledTweet.objects.filter(_due(now))
    return (
        TwitterAccount.objects.filter(pk__in=due.values("account_id"))
        .exclude(rate_limited_until__gt=now)
        .exclude(_busy(now, "pk"))
    )


def claim(limit: int) -> Batch:
    """Take up to ``limit`` due posts, of accounts no other attempt is sending for.

    On PostgreSQL the accounts are locked with ``FOR UPDATE SKIP LOCKED``, so
    concurrent claimers take disjoint accounts without waiting; elsewhere the
    conditional UPDATE alone decides. Either way the UPDATE re-checks, in its own
    snapshot, that no other attempt holds a post of the account: one account's
    posts are sent one at a time, in ``send_at`` order.
    """
    now = timezone.now()
    empty = Batch(uuid.uuid4(), [])
    hold_state = holds.state(now)
    probe = hold_state.active
    if probe:
        if not hold_state.probe_due(now):
            return empty
        limit = 1
    due = ScheduledTweet.objects.filter(_due(now))
    lease = now + dt.timedelta(seconds=app_settings.POST_LEASE)
    free = _free_accounts(now)
    # A sender sends one post after another: taking every free account would leave the
    # other senders idle. Each takes its share of the accounts free now.
    senders = app_settings.POST_PARALLEL_SENDERS
    share = min(limit, -(-len(free.values_list("pk", flat=True)[: limit * senders]) // senders))
    if not share:
        return empty
    with transaction.atomic():
        oldest_due = due.filter(account_id=OuterRef("pk")).order_by("send_at").values("send_at")
        accounts = list(
            free.annotate(oldest=Subquery(oldest_due[:1]))
            .order_by("oldest", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:share]
        )
        if not accounts or (probe and not holds.claim_probe(now)):
            return empty
        chosen = due.filter(account_id__in=accounts).order_by("send_at", "pk").values("pk")[:limit]
        taken_over = When(
            status=Status.SENDING, then=Coalesce("uncertain_since", "claimed_at", Value(now))
        )
        claimed = (
            ScheduledTweet.objects.filter(pk__in=Subquery(chosen))
            .filter(_due(now))
            .exclude(_busy(now, "account_id"))
            .update(
                # A row taken over from a dead attempt may have reached X then.
                uncertain_since=Case(taken_over, default=F("uncertain_since")),
                status=Status.SENDING,
                claim_id=empty.claim_id,
                claimed_at=now,
                lease_expires_at=lease,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
        )
    if not claimed:
        return empty
    rows = list(
        ScheduledTweet.objects.filter(claim_id=empty.claim_id)
        .only(*_SENDING_FIELDS)
        .order_by("send_at", "pk")
    )
    # One instance per account (its tokens decrypted once), so what one send learns
    # (a 429's reset) the next one sees.
    shared = TwitterAccount.objects.in_bulk({row.account_id for row in rows})
    for row in rows:
        row.account = shared[row.account_id]
    return Batch(empty.claim_id, rows, probe=probe, lease_expires_at=lease)


def _still_ours(batch: Batch, rows: list[ScheduledTweet]) -> bool:
    """Whether the first of ``rows`` (those still to send) is still this batch's to send.

    Renews the lease of all of them while a whole request still fits in what is left
    of it, so that no send outlives its lease; a row another worker took over after a
    lease ran out is this batch's no longer.
    """
    now = timezone.now()
    assert batch.lease_expires_at is not None
    request_time = 2 * (app_settings.CONNECT_TIMEOUT + app_settings.TIMEOUT)
    margin = dt.timedelta(seconds=min(request_time, app_settings.POST_LEASE / 2))
    if batch.lease_expires_at - now <= margin:
        ids = {row.pk for row in rows}
        lease = now + dt.timedelta(seconds=app_settings.POST_LEASE)
        ours = ScheduledTweet.objects.filter(
            pk__in=ids, claim_id=batch.claim_id, status=Status.SENDING
        )
        if ours.update(lease_expires_at=lease) != len(ids):
            batch.lost |= ids - set(ours.values_list("pk", flat=True))
        batch.lease_expires_at = lease
    return rows[0].pk not in batch.lost


# --- sending ------------------------------------------------------------------------------------


class _Stop(Exception):
    """The account's other posts in the batch must not be sent now; ``outcome`` is theirs
    and the outcome recorded for the row that met it."""

    def __init__(self, outcome: str, *, reached_x: bool = True) -> None:
        self.outcome = outcome
        self.reached_x = reached_x
        super().__init__(outcome)


def _send_batch(batch: Batch, result: Round) -> None:
    clients: dict[int, TwitterClient] = {}
    stopped_accounts: dict[int, str] = {}  # account id -> outcome for its remaining rows
    held_message = ""  # set once X held the app: the rest of the batch waits
    checked_holds = time.monotonic()
    for index, row in enumerate(batch.rows):
        account = row.account
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
        if not _still_ours(batch, batch.rows[index:]):
            continue  # taken over by another worker after our lease ran out
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


# --- the dispatcher -----------------------------------------------------------------------------


def accounts_with_due_posts(limit: int) -> int:
    """How many accounts have a post that could be sent now (at most ``limit``)."""
    now = timezone.now()
    hold_state = holds.state(now)
    if hold_state.active:
        return 1 if hold_state.probe_due(now) else 0
    return len(_free_accounts(now).values_list("pk", flat=True)[:limit])


__all__ = ["Batch", "Round", "accounts_with_due_posts", "claim", "hold_account", "send_due"]
