"""Which due posts a sender takes: the claim, its lease, and handing posts back.

A claim moves due posts of accounts no other attempt is sending for to
``sending``, under a claim id and a lease; the lease is renewed while the sender
works, and a row whose lease ran out is due again (and taken over as uncertain).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from twitter_oauth.conf import app_settings
from twitter_oauth.models import ScheduledTweet, TwitterAccount
from twitter_oauth.services import holds

Status = ScheduledTweet.Status

#: What sending a claimed post reads of its row (loading the rest would cost 5% of a
#: post on a nearby X).
_SENDING_FIELDS = (
    "account", "text", "send_at", "status", "attempts", "claim_id", "uncertain_since",
)  # fmt: skip


@dataclass
class Batch:
    """A claim: its rows in the order they go, and the lease they are held under."""

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
    # other senders idle, and taking more than its share would leave the last ones none
    # (16 senders, 20 accounts: rounding up gives 12 of them two or one, 4 nothing). The
    # accounts left over are taken as batches end (within delivery.BATCH_SECONDS).
    senders = app_settings.POST_PARALLEL_SENDERS
    if senders == 1:
        share = limit  # the only sender takes every free account: no need to count them
    else:
        free_now = len(free.values_list("pk", flat=True)[: limit * senders])
        if not free_now:
            return empty
        share = min(limit, max(1, free_now // senders))
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


def still_ours(batch: Batch, rows: list[ScheduledTweet]) -> bool:
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


def hand_back(batch: Batch, rows: list[ScheduledTweet]) -> None:
    """Unsent posts go back to ``pending`` as they were, for whichever sender claims next."""
    ScheduledTweet.objects.filter(
        pk__in=[row.pk for row in rows], claim_id=batch.claim_id, status=Status.SENDING
    ).update(
        status=Status.PENDING,
        claim_id=None,
        claimed_at=None,
        lease_expires_at=None,
        attempts=F("attempts") - 1,
        updated_at=timezone.now(),
    )


def accounts_with_due_posts(limit: int) -> int:
    """How many accounts have a post that could be sent now (at most ``limit``)."""
    now = timezone.now()
    hold_state = holds.state(now)
    if hold_state.active:
        return 1 if hold_state.probe_due(now) else 0
    return len(_free_accounts(now).values_list("pk", flat=True)[:limit])


__all__ = ["Batch", "accounts_with_due_posts", "claim", "hand_back", "still_ours"]
