"""App-wide holds: X refuses the whole app, so no post of any account is sent until it ends.

A hold starts when X answers 402 (credits depleted), a ``usage-capped`` 429, or
a 429 for the app's 24-hour cap, or when this site's own spending limit is
reached. One with an end (``until``) ends by itself then; one without is
probed: every ``APP_HOLD_PROBE_INTERVAL`` seconds one post may go to X, and any
answer but the hold's own refusal ends it. While a hold is active, held posts
stay ``pending``, spend no attempt, and their ``last_error`` says why they wait.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from twitter_oauth import exceptions, signals
from twitter_oauth.conf import app_settings
from twitter_oauth.models import AppHold, ScheduledTweet

logger = logging.getLogger("twitter_oauth.holds")

Reason = AppHold.Reason

#: The exception a held app raises, by reason (what post_tweet() raises without calling X).
EXCEPTIONS: dict[str, type[exceptions.TwitterAppHeld]] = {
    cls.hold_reason: cls
    for cls in (
        exceptions.TwitterCreditsDepleted,
        exceptions.TwitterUsageCapped,
        exceptions.TwitterAppDailyCapReached,
        exceptions.TwitterSpendLimitReached,
    )
}


@dataclass(frozen=True)
class HoldState:
    """The active holds, read once; ``probe_at`` is when the next probe may go (None: no probe)."""

    holds: tuple[AppHold, ...]

    @property
    def active(self) -> bool:
        return bool(self.holds)

    @property
    def probe_at(self) -> dt.datetime | None:
        # A hold with an end is waited out, not probed; probing needs every active hold open-ended.
        if not self.holds or any(hold.until is not None for hold in self.holds):
            return None
        return min(hold.next_probe_at or timezone.now() for hold in self.holds)

    def probe_due(self, now: dt.datetime) -> bool:
        probe_at = self.probe_at
        return probe_at is not None and probe_at <= now

    def latest(self) -> AppHold | None:
        """The hold that lasts longest (open-ended ones first)."""
        far = dt.datetime.max.replace(tzinfo=dt.UTC)
        return max(self.holds, key=lambda hold: hold.until or far, default=None)


def state(now: dt.datetime | None = None) -> HoldState:
    """The active holds, after ending those whose time is up (one query when none is active)."""
    now = now or timezone.now()
    holds = list(AppHold.objects.filter(active=True))
    for hold in [hold for hold in holds if hold.until is not None and hold.until <= now]:
        end(hold.reason, now=now)
        holds.remove(hold)
    return HoldState(tuple(holds))


def raise_if_held(now: dt.datetime | None = None) -> None:
    """Raise the exception of the active hold that lasts longest, without calling X."""
    hold = state(now).latest()
    if hold is not None:
        raise EXCEPTIONS[hold.reason](waiting_message(hold), until=hold.until)


def start(exc: exceptions.TwitterAppHeld, *, now: dt.datetime | None = None) -> AppHold:
    """Start the hold ``exc`` calls for, or extend the active one to the later end.

    Safe from several workers at once: one conditional UPDATE decides who starts it,
    and only that one sends :data:`~twitter_oauth.signals.app_hold_started`.
    """
    now = now or timezone.now()
    reason = exc.hold_reason
    AppHold.objects.get_or_create(reason=reason)
    next_probe = (
        None if exc.until else now + dt.timedelta(seconds=app_settings.APP_HOLD_PROBE_INTERVAL)
    )
    detail = (exc.detail or str(exc))[:2000]
    started = AppHold.objects.filter(reason=reason, active=False).update(
        active=True,
        started_at=now,
        until=exc.until,
        next_probe_at=next_probe,
        ended_at=None,
        detail=detail,
        refusals=1,
    )
    if not started:
        # Already held: the later end wins; an open-ended refusal makes the hold open-ended.
        extend = Q(until__isnull=False) & (Q(until__lt=exc.until) if exc.until else Q())
        AppHold.objects.filter(reason=reason, active=True).filter(extend).update(until=exc.until)
        AppHold.objects.filter(reason=reason, active=True).update(
            next_probe_at=next_probe, detail=detail, refusals=F("refusals") + 1
        )
    hold = AppHold.objects.get(reason=reason)
    if started:
        logger.warning("X holds the app: %s (until %s)", hold.get_reason_display(), hold.until)
        ScheduledTweet.objects.filter(status=ScheduledTweet.Status.PENDING).update(
            last_error=waiting_message(hold)
        )
        signals.app_hold_started.send(sender=AppHold, hold=hold)
    return hold


def claim_probe(now: dt.datetime) -> bool:
    """Take the right to send the one probe now (one worker wins); moves the next probe on."""
    after = now + dt.timedelta(seconds=app_settings.APP_HOLD_PROBE_INTERVAL)
    return bool(
        AppHold.objects.filter(active=True, until__isnull=True, next_probe_at__lte=now).update(
            next_probe_at=after
        )
    )


def end(reason: str, *, now: dt.datetime | None = None) -> bool:
    """End an active hold; :data:`~twitter_oauth.signals.app_hold_ended` is sent once."""
    now = now or timezone.now()
    ended = AppHold.objects.filter(reason=reason, active=True).update(active=False, ended_at=now)
    if ended:
        hold = AppHold.objects.get(reason=reason)
        logger.warning("X no longer holds the app: %s", hold.get_reason_display())
        ScheduledTweet.objects.filter(
            status=ScheduledTweet.Status.PENDING, last_error__startswith=_waiting_prefix(hold)
        ).update(last_error="")
        signals.app_hold_ended.send(sender=AppHold, hold=hold)
    return bool(ended)


def end_open_ended(*, except_reason: str | None = None, now: dt.datetime | None = None) -> None:
    """A probe met another answer than its hold's refusal: the open-ended holds are over."""
    for reason in AppHold.objects.filter(active=True, until__isnull=True).values_list(
        "reason", flat=True
    ):
        if reason != except_reason:
            end(reason, now=now)


def _waiting_prefix(hold: AppHold) -> str:
    return _("Waiting: %(reason)s") % {"reason": hold.get_reason_display()}


def waiting_message(hold: AppHold) -> str:
    """What a held post's ``last_error`` says, e.g. "Waiting: X credits depleted (...)"."""
    if hold.until is not None:
        when = _("until %(until)s UTC") % {"until": f"{hold.until:%Y-%m-%d %H:%M}"}
    else:
        when = _("X gave no end; the next try is at %(probe)s UTC") % {
            "probe": f"{hold.next_probe_at or timezone.now():%Y-%m-%d %H:%M}"
        }
    return f"{_waiting_prefix(hold)} ({when})."


__all__ = [
    "EXCEPTIONS",
    "HoldState",
    "claim_probe",
    "end",
    "end_open_ended",
    "raise_if_held",
    "start",
    "state",
    "waiting_message",
]
