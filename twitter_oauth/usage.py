"""The usage ledger: every request to X, counted per UTC day, endpoint and account, in memory.

The client tells the ledger about each request twice: :meth:`UsageLedger.before_send` names the
endpoint and enforces ``DAILY_SPEND_LIMIT``; :meth:`UsageLedger.after_answer` counts it, with
what X bills for the answer. Neither touches the database in the common case: counts add up in
this process and a background thread writes them every ``USAGE_FLUSH_INTERVAL`` seconds (sooner
when a batch fills), and at exit or a Celery worker's shutdown, with an upsert that adds to the
day's row, so several processes write the same rows safely. A crash loses the counts of the last
interval at most. A forked child starts with nothing pending: its parent writes its own counts.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from twitter_oauth import signals
from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import TwitterSpendLimitReached
from twitter_oauth.pricing import (
    CREATE_POST,
    CREATE_POST_WITH_URL,
    charge,
    endpoint_name,
    price_key,
)
from twitter_oauth.responses import XResponse

__all__ = ["BATCH_SIZE", "NO_ACCOUNT", "Call", "UsageLedger", "ledger", "to_micros"]

logger = logging.getLogger("twitter_oauth.usage")

#: The ``account_id`` of requests made for no account (the sign-in's token exchanges).
NO_ACCOUNT = 0
#: Requests counted since the last write that make the thread write now, not at its next tick.
BATCH_SIZE = 1000
#: Seconds the database's total for the day is trusted without a timer (USAGE_FLUSH_INTERVAL
#: None); past it, the next priced call reads it again.
STALE_AFTER = 5.0
#: Reads whose answer is one resource at most: their price is known before they are sent.
SINGLE_RESOURCE_READS = frozenset(
    {
        "GET /2/users/me",
        "GET /2/users/:id",
        "GET /2/tweets/:id",
        "GET /1.1/account/verify_credentials.json",
    }
)

Key = tuple[dt.date, str, int]


def to_micros(usd: float) -> int:
    """Dollars as whole millionths, so sums are exact in every database."""
    return round(usd * 1_000_000)


@dataclass(slots=True)
class Call:
    """One request on its way to X, as the ledger will count it."""

    day: dt.date
    endpoint: str
    account_id: int
    #: Millionths of a dollar set aside for it under ``DAILY_SPEND_LIMIT`` until it is answered.
    reserved: int = 0


@dataclass(slots=True)
class Counts:
    requests: int = 0
    succeeded: int = 0
    billed_units: int = 0
    usd_micros: int = 0

    def add(self, other: Counts) -> None:
        self.requests += other.requests
        self.succeeded += other.succeeded
        self.billed_units += other.billed_units
        self.usd_micros += other.usd_micros


class UsageLedger:
    """This process's counts not yet written, and what today has cost so far.

    ``clock`` returns the current aware datetime (default :func:`django.utils.timezone.now`,
    looked up at each call); the UTC day of its answer is the ledger's "today".
    """

    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.clock = clock or (lambda: timezone.now())
        self._start_empty()

    def _start_empty(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: dict[Key, Counts] = {}
        self._pending_count = 0
        # Millionths of a dollar by day: counted here but not written, being written, reserved.
        self._unwritten_usd: dict[dt.date, int] = {}
        self._writing_usd: dict[dt.date, int] = {}
        self._reserved_usd: dict[dt.date, int] = {}
        # The database's total for one day (day, millionths, monotonic time of the read).
        self._stored_usd: tuple[dt.date, int, float] | None = None
        self._limit_announced: dt.date | None = None
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None
        self._pid = os.getpid()
        # After a failed write, a full batch waits for this moment (monotonic) to try again.
        self._retry_at = 0.0

    def today(self) -> dt.date:
        return self.clock().astimezone(dt.UTC).date()

    # -- what the client calls --

    def before_send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        account_id: int | None = None,
    ) -> Call | None:
        """Name the request; raise :class:`TwitterSpendLimitReached` if it may not be sent."""
        if not app_settings.USAGE_LEDGER:
            return None
        text = json_body.get("text") if isinstance(json_body, dict) else None
        call = Call(
            self.today(),
            endpoint_name(method, path, text=text if isinstance(text, str) else None),
            account_id or NO_ACCOUNT,
        )
        limit = app_settings.DAILY_SPEND_LIMIT
        if limit is not None:
            self._reserve_within(call, limit, params or {})
        return call

    def after_answer(self, call: Call | None, response: XResponse | None) -> None:
        """Count the request: ``response`` is X's answer, ``None`` when none came."""
        if call is None:
            return
        counts = Counts(requests=1)
        if response is not None and 200 <= response.status < 300:
            billed = charge(call.endpoint, response.status, response.content, app_settings.PRICES)
            counts.succeeded = 1
            counts.billed_units = billed.units
            counts.usd_micros = to_micros(billed.usd)
        self.add(call, counts)

    def add(self, call: Call, counts: Counts) -> None:
        key = (call.day, call.endpoint, call.account_id)
        with self._lock:
            pending = self._pending.get(key)
            if pending is None:
                self._pending[key] = counts
            else:
                pending.add(counts)
            if counts.usd_micros:
                self._unwritten_usd[call.day] = (
                    self._unwritten_usd.get(call.day, 0) + counts.usd_micros
                )
            if call.reserved:
                self._reserved_usd[call.day] -= call.reserved
                call.reserved = 0
            self._pending_count += counts.requests
            full = self._pending_count >= BATCH_SIZE and time.monotonic() >= self._retry_at
        self._after_add(full)

    # -- the spending limit --

    def estimate(self, day: dt.date | None = None) -> float:
        """Dollars spent on ``day`` (default today): the database's total plus this process's."""
        day = day or self.today()
        return self._estimate_micros(day) / 1_000_000

    def _estimate_micros(self, day: dt.date) -> int:
        stored = self._stored_usd
        if stored is None or stored[0] != day:
            stored = (day, self._read_stored(day), time.monotonic())
            self._stored_usd = stored
        return (
            stored[1]
            + self._unwritten_usd.get(day, 0)
            + self._writing_usd.get(day, 0)
            + self._reserved_usd.get(day, 0)
        )

    def _reserve_within(self, call: Call, limit: float, params: Mapping[str, str]) -> None:
        price = self._price_before_sending(call.endpoint, params)
        if price is None:
            return
        if self._stored_is_stale(call.day):
            # What other processes wrote: read at most once an interval, outside the lock.
            self._stored_usd = (call.day, self._read_stored(call.day), time.monotonic())
        with self._lock:
            spent = self._estimate_micros(call.day)
            allowed = spent + price <= to_micros(limit)
            if allowed:
                self._reserved_usd[call.day] = self._reserved_usd.get(call.day, 0) + price
                call.reserved = price
            announce = not allowed and self._limit_announced != call.day
            if announce:
                self._limit_announced = call.day
        if allowed:
            return
        until = dt.datetime.combine(call.day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        if announce:
            logger.warning(
                "Daily spending limit for X reached: $%.6f spent, limit $%.2f", spent / 1e6, limit
            )
            from twitter_oauth.models import UsageRecord

            signals.spend_limit_reached.send(
                sender=UsageRecord, day=call.day, limit=limit, spent=spent / 1_000_000, until=until
            )
        raise TwitterSpendLimitReached(
            _(
                "%(endpoint)s was not sent: it would take today's spending at X past the daily "
                "limit of $%(limit)s. Requests resume at %(until)s UTC."
            )
            % {
                "endpoint": call.endpoint,
                "limit": f"{limit:.2f}",
                "until": f"{until:%Y-%m-%d %H:%M}",
            },
            until=until,
        )

    def _stored_is_stale(self, day: dt.date) -> bool:
        stored = self._stored_usd
        if stored is None or stored[0] != day:
            return True
        return time.monotonic() - stored[2] > (app_settings.USAGE_FLUSH_INTERVAL or STALE_AFTER)

    @staticmethod
    def _price_before_sending(endpoint: str, params: Mapping[str, str]) -> int | None:
        """The most X can bill for this request, when that is known before sending it."""
        key = price_key(endpoint)
        if key is None:
            return None
        unit = to_micros(app_settings.PRICES[key])
        if endpoint in (CREATE_POST, CREATE_POST_WITH_URL) or endpoint in SINGLE_RESOURCE_READS:
            return unit
        # A list read asks for at most max_results resources (the read-back of a post asks 5).
        count = params.get("max_results")
        return unit * int(count) if count and str(count).isdigit() else None

    # -- writing --

    def flush(self) -> int:
        """Write this process's counts now; returns how many rows it added to or created."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending, self._pending_count = self._pending, {}, 0
                self._writing_usd, self._unwritten_usd = self._unwritten_usd, {}
            if not batch:
                self._writing_usd = {}
                return 0
            try:
                _upsert(batch)
            except Exception:
                with self._lock:
                    # The database is down: the next full batch does not try before the interval.
                    self._retry_at = time.monotonic() + (
                        app_settings.USAGE_FLUSH_INTERVAL or STALE_AFTER
                    )
                    for key, counts in batch.items():
                        self._pending.setdefault(key, Counts()).add(counts)
                        self._pending_count += counts.requests
                    for day, usd in self._writing_usd.items():
                        self._unwritten_usd[day] = self._unwritten_usd.get(day, 0) + usd
                    self._writing_usd = {}
                raise
            day, stored = self.today(), None
            if app_settings.DAILY_SPEND_LIMIT is not None:
                try:
                    stored = (day, self._read_stored(day), time.monotonic())
                except Exception:
                    logger.exception("Could not read today's spending at X; read it again later")
            with self._lock:
                self._writing_usd = {}
                self._stored_usd = stored
            return len(batch)

    def discard(self) -> None:
        """Forget the counts not written yet (tests start each case from nothing)."""
        with self._lock:
            self._pending, self._pending_count = {}, 0
            self._unwritten_usd, self._reserved_usd = {}, {}
            self._stored_usd = None
            self._limit_announced = None

    @property
    def pending_requests(self) -> int:
        """Requests counted in this process since the last write."""
        return self._pending_count

    @staticmethod
    def _read_stored(day: dt.date) -> int:
        from twitter_oauth.models import UsageRecord

        total = UsageRecord.objects.filter(day=day).aggregate(total=Sum("usd_micros"))["total"]
        return int(total or 0)

    def _after_add(self, full: bool) -> None:
        interval = app_settings.USAGE_FLUSH_INTERVAL
        if interval is None:
            if full:
                self._flush_logged()
            return
        if self._flusher is None or self._pid != os.getpid():
            self._start_flusher()
        if full:
            self._wake.set()

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None and self._pid == os.getpid():
                return
            self._flusher = threading.Thread(
                target=self._flush_periodically, name="twitter-oauth-usage", daemon=True
            )
            self._flusher.start()

    def _flush_periodically(self) -> None:
        wake = self._wake
        while True:
            wake.wait(app_settings.USAGE_FLUSH_INTERVAL or STALE_AFTER)
            wake.clear()
            self._flush_logged()
            # This thread's connection is not needed until the next tick.
            connections.close_all()

    def _flush_logged(self) -> None:
        try:
            self.flush()
        except Exception:
            logger.exception("Could not write X usage counts; they are kept for the next write")

    def _forget_in_child(self) -> None:
        # The parent writes what it counted; the child's thread and locks are its own.
        self._start_empty()


def _upsert(batch: dict[Key, Counts]) -> None:
    from twitter_oauth.models import UsageRecord

    # A stable order, so concurrent writers lock rows in the same order and cannot deadlock.
    UsageRecord.objects.add_counts(
        (*key, counts.requests, counts.succeeded, counts.billed_units, counts.usd_micros)
        for key, counts in sorted(batch.items())
    )


#: The process's ledger; the client counts every request here.
ledger = UsageLedger()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=ledger._forget_in_child)


@atexit.register
def _flush_at_exit() -> None:
    if ledger.pending_requests:
        ledger._flush_logged()


def flush_on_worker_shutdown(**kwargs: Any) -> None:
    """Celery's ``worker_process_shutdown`` and ``worker_shutdown``: write before exiting.

    A prefork child leaves through ``os._exit``, past the ``atexit`` hook.
    """
    if ledger.pending_requests:
        ledger._flush_logged()
