"""What this site asked of X and what it cost: the usage ledger read for people and programs.

The ledger itself (counting, writing, the spending limit) is :mod:`twitter_oauth.usage`; this
module reads what it wrote, for the ``twitter_usage`` command, the admin and the example site.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet, Sum

from twitter_oauth.conf import app_settings
from twitter_oauth.models import TwitterAccount, UsageRecord
from twitter_oauth.pricing import contains_url
from twitter_oauth.usage import NO_ACCOUNT, ledger

__all__ = [
    "DayTotal",
    "PostPrice",
    "account_spend",
    "daily_totals",
    "endpoint_totals",
    "post_price",
    "top_accounts",
    "usage_rows",
]

COUNTS = ("requests", "succeeded", "billed_units", "usd_micros")


@dataclass(frozen=True)
class PostPrice:
    """What X charges for one post of this text, and the price it would have without a link."""

    usd: float
    has_url: bool
    without_url: float


@dataclass(frozen=True)
class DayTotal:
    day: dt.date
    requests: int
    usd: float


def post_price(text: str) -> PostPrice:
    """X's price for posting ``text``: ``post_with_url`` when X sees a link in it."""
    prices = app_settings.PRICES
    has_url = contains_url(text)
    return PostPrice(
        usd=prices["post_with_url"] if has_url else prices["post"],
        has_url=has_url,
        without_url=prices["post"],
    )


def first_day(days: int, today: dt.date | None = None) -> dt.date:
    """The first of the last ``days`` UTC days, today included."""
    return (today or ledger.today()) - dt.timedelta(days=max(1, days) - 1)


def usage_rows(
    days: int = 7, *, by_account: bool = False, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """The ledger's rows of the last ``days`` UTC days, in ``twitter_usage --json``'s shape.

    One object per day and endpoint, ordered by both: ``{"day", "endpoint", "requests",
    "succeeded", "billed_units", "usd"}``. With ``by_account`` there is one per account too,
    with an extra key ``"account"``: ``{"id", "twitter_id", "screen_name"}`` (the last two
    ``None`` once the account is unlinked), or ``None`` for requests made for no account.
    """
    group = ("day", "endpoint", "account_id") if by_account else ("day", "endpoint")
    records = (
        UsageRecord.objects.filter(day__gte=first_day(days, today))
        .values(*group)
        .annotate(**{f"total_{name}": Sum(name) for name in COUNTS})
        .order_by(*group)
    )
    accounts = _accounts_by_id({r["account_id"] for r in records}) if by_account else {}
    rows = []
    for record in records:
        row: dict[str, Any] = {
            "day": record["day"].isoformat(),
            "endpoint": record["endpoint"],
            "requests": record["total_requests"],
            "succeeded": record["total_succeeded"],
            "billed_units": record["total_billed_units"],
            "usd": _usd(record["total_usd_micros"]),
        }
        if by_account:
            row["account"] = _account_key(record["account_id"], accounts)
        rows.append(row)
    return rows


def daily_totals(
    days: int = 30, *, account_id: int | None = None, today: dt.date | None = None
) -> list[DayTotal]:
    """Requests and dollars of each of the last ``days`` UTC days, oldest first, gaps as 0."""
    start = first_day(days, today)
    stored = {
        row["day"]: row
        for row in _records(start, account_id)
        .values("day")
        .annotate(requests=Sum("requests"), usd_micros=Sum("usd_micros"))
        .order_by()
    }
    totals = []
    for offset in range(max(1, days)):
        day = start + dt.timedelta(days=offset)
        row = stored.get(day, {"requests": 0, "usd_micros": 0})
        totals.append(DayTotal(day, row["requests"], _usd(row["usd_micros"])))
    return totals


def endpoint_totals(
    days: int = 30, *, account_id: int | None = None, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Each endpoint's counts over the last ``days`` UTC days, the costliest first."""
    rows = (
        _records(first_day(days, today), account_id)
        .values("endpoint")
        .annotate(**{name: Sum(name) for name in COUNTS})
        .order_by("-usd_micros", "endpoint")
    )
    return [_with_usd(row) for row in rows]


def top_accounts(
    days: int = 30, *, limit: int = 10, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """The accounts that spent most over the last ``days`` UTC days (``account`` may be None)."""
    rows = list(
        UsageRecord.objects.filter(day__gte=first_day(days, today))
        .exclude(account_id=NO_ACCOUNT)
        .values("account_id")
        .annotate(**{name: Sum(name) for name in COUNTS})
        .order_by("-usd_micros", "account_id")[:limit]
    )
    accounts = TwitterAccount.objects.in_bulk([row["account_id"] for row in rows])
    return [{**_with_usd(row), "account": accounts.get(row["account_id"])} for row in rows]


def account_spend(
    account_id: int, days: int = 30, *, today: dt.date | None = None
) -> dict[str, Any]:
    """One account's requests and dollars over the last ``days`` UTC days."""
    totals = UsageRecord.objects.filter(
        account_id=account_id, day__gte=first_day(days, today)
    ).aggregate(**{name: Sum(name) for name in COUNTS})
    return {
        **{name: totals[name] or 0 for name in COUNTS if name != "usd_micros"},
        "usd": _usd(totals["usd_micros"] or 0),
    }


def _records(start: dt.date, account_id: int | None) -> QuerySet[UsageRecord]:
    records = UsageRecord.objects.filter(day__gte=start)
    return records if account_id is None else records.filter(account_id=account_id)


def _accounts_by_id(ids: set[int]) -> dict[int, TwitterAccount]:
    return TwitterAccount.objects.in_bulk(sorted(ids - {NO_ACCOUNT}))


def _account_key(account_id: int, accounts: dict[int, TwitterAccount]) -> dict[str, Any] | None:
    if account_id == NO_ACCOUNT:
        return None
    account = accounts.get(account_id)
    return {
        "id": account_id,
        "twitter_id": account.twitter_id if account else None,
        "screen_name": account.screen_name if account else None,
    }


def _with_usd(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with its millionths of a dollar as dollars."""
    values = dict(row)
    values["usd"] = _usd(values.pop("usd_micros"))
    return values


def _usd(micros: int | None) -> float:
    return round((micros or 0) / 1_000_000, 6)
