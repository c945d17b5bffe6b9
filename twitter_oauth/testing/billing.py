"""What X refuses for the whole app (credits, the usage cap, enrollment) and what it bills.

:class:`AppAccount` is part of :class:`~twitter_oauth.testing.state.XEmulator`: the app's
account at X, shared by every user who signs in to it. Prices and endpoint names come from
:mod:`twitter_oauth.pricing`, the same module the site's usage ledger uses.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from twitter_oauth.pricing import (
    CREATE_POST,
    DEFAULT_PRICES,
    USD_DECIMALS,
    BilledResource,
    endpoint_name,
    is_oauth_path,
    price_of,
)
from twitter_oauth.testing.answers import (
    client_not_enrolled,
    credits_depleted,
    json_response,
    usage_capped,
)
from twitter_oauth.testing.limits import Window, Windows
from twitter_oauth.testing.records import EmulatorResponse, RecordedRequest

#: X's per-user limits (calls per 15 minutes) that the usage cap's answer reports.
#: Only ``POST /2/tweets`` and ``verify_credentials`` are enforced; the others are shown
#: as X publishes them, with the calls the emulator does not count left out.
PER_USER_LIMITS = {
    "GET /2/users/me": 75,
    "GET /2/users/:id/tweets": 900,
    "DELETE /2/tweets/:id": 50,
    "GET /1.1/account/verify_credentials.json": 75,
}
RATE_WINDOW = 15 * 60
#: Browser pages, avatars and the emulator's own controls are not requests of the app to
#: X's API, so the cost record leaves them out, as the site's ledger does.
_NOT_API = ("/_emulator/", "/avatars/", "/oauth/authorize", "/oauth/authenticate", "/i/")


def ledger_endpoint(method: str, path: str, body: bytes) -> str | None:
    """The cost record's name for a request, or None for what is not a call to X's API."""
    if path.startswith(_NOT_API):
        return None
    text = None
    if method == "POST" and path == "/2/tweets":
        with contextlib.suppress(ValueError, TypeError, KeyError):
            text = json.loads(body)["text"]
    return endpoint_name(method, path, text=text if isinstance(text, str) else None)


def _account_problem(changes: Any) -> str | None:
    """What is wrong with a ``POST _emulator/account`` body, if anything."""
    if not isinstance(changes, dict):
        return "The body must be a JSON object."
    unknown = set(changes) - {"credits_depleted", "usage_capped", "unenrolled"}
    if unknown:
        return f"Unknown keys: {', '.join(sorted(unknown))}."
    for key in ("credits_depleted", "usage_capped"):
        if not isinstance(changes.get(key, False), bool):
            return f"{key} must be true or false."
    unenrolled = changes.get("unenrolled", [])
    if not isinstance(unenrolled, list) or not all(isinstance(e, str) for e in unenrolled):
        return 'unenrolled must be a list of endpoints such as "GET /2/users/:id/tweets".'
    return None


def utc_day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).date().isoformat()


class AppAccount:
    """The app's standing at X: credits, the monthly cap, enrolled endpoints; its bill.

    Mixed into the emulator, whose lock, clock, request log and windows it uses.
    """

    lock: threading.RLock
    clock: Callable[[], float]
    requests: list[RecordedRequest]
    windows: Windows
    post_limit: int
    post_window: int
    prices: dict[str, float]

    def _reset_account(self) -> None:
        self.credits_are_depleted = False
        self.usage_is_capped = False
        self.unenrolled: set[str] = set()

    def _set_prices(self, prices: Mapping[str, float] | None) -> None:
        self.prices = {**DEFAULT_PRICES, **(prices or {})}

    # --- refusals for the whole app ------------------------------------------------------------

    def deplete_credits(self) -> None:
        """From now on every API request answers 402 "credits depleted", until credits are added."""
        with self.lock:
            self.credits_are_depleted = True

    def add_credits(self) -> None:
        with self.lock:
            self.credits_are_depleted = False

    def cap_usage(self) -> None:
        """From now on every API request meets the monthly usage cap (429, no reset given)."""
        with self.lock:
            self.usage_is_capped = True

    def uncap_usage(self) -> None:
        with self.lock:
            self.usage_is_capped = False

    def unenroll(self, endpoint: str) -> None:
        """The app's plan no longer includes ``endpoint`` (``"GET /2/users/:id/tweets"``): 403."""
        with self.lock:
            self.unenrolled.add(endpoint)

    def enroll(self, endpoint: str) -> None:
        with self.lock:
            self.unenrolled.discard(endpoint)

    def account(self) -> dict[str, Any]:
        """The app's standing, as ``GET _emulator/state`` and ``POST _emulator/account`` give it."""
        with self.lock:
            return {
                "credits_depleted": self.credits_are_depleted,
                "usage_capped": self.usage_is_capped,
                "unenrolled": sorted(self.unenrolled),
            }

    def change_account(self, body: bytes) -> EmulatorResponse:
        """``POST _emulator/account``: the refusals above, for an emulator in another process.

        The JSON body may set ``credits_depleted`` and ``usage_capped`` (booleans) and
        ``unenrolled`` (the endpoints outside the plan, replacing the present ones).
        """
        try:
            changes = json.loads(body or b"{}")
        except ValueError:
            changes = None
        problem = _account_problem(changes)
        if problem:
            return json_response(400, {"error": problem})
        with self.lock:
            self.credits_are_depleted = changes.get("credits_depleted", self.credits_are_depleted)
            self.usage_is_capped = changes.get("usage_capped", self.usage_is_capped)
            self.unenrolled = set(changes.get("unenrolled", self.unenrolled))
        return json_response(200, self.account())

    def app_refusal(self, method: str, path: str, user_id: str) -> EmulatorResponse | None:
        """X's refusal of an authenticated API request for a reason of the whole app, if any.

        The endpoint's enrollment is checked first, then credits, then the monthly cap.
        """
        if is_oauth_path(path):
            return None
        endpoint = endpoint_name(method, path)
        with self.lock:
            if endpoint in self.unenrolled:
                return client_not_enrolled()
            if self.credits_are_depleted:
                return credits_depleted()
            if self.usage_is_capped:
                response = usage_capped()
                response.headers.update(self.rate_window(user_id, endpoint).headers("x-rate-limit"))
                return response
        return None

    def rate_window(self, user_id: str, endpoint: str) -> Window:
        """The user's current 15-minute window for an endpoint (the caller holds the lock)."""
        if endpoint == CREATE_POST:
            limit, length = self.post_limit, self.post_window
        else:
            limit, length = (
                PER_USER_LIMITS.get(endpoint, PER_USER_LIMITS["GET /2/users/me"]),
                RATE_WINDOW,
            )
        return self.windows.current(user_id, endpoint, limit, length, self.clock())

    # --- what X bills --------------------------------------------------------------------------

    def usage(self) -> list[dict[str, Any]]:
        """The app's use of X per UTC day and endpoint, as ``twitter_usage --json`` prints it.

        ``requests`` counts every request that reached the emulator (faulted ones too),
        ``succeeded`` the 2xx answers (a lost answer included), and ``billed_units`` and
        ``usd`` what X prices them at, before X's per-day de-duplication of reads.
        """
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        with self.lock:
            for request in self.requests:
                if request.endpoint is None:
                    continue
                day = utc_day(request.at)
                row = rows.setdefault(
                    (day, request.endpoint),
                    {
                        "day": day,
                        "endpoint": request.endpoint,
                        "requests": 0,
                        "succeeded": 0,
                        "billed_units": 0,
                        "usd": 0.0,
                    },
                )
                row["requests"] += 1
                row["succeeded"] += 200 <= request.status < 300
                row["billed_units"] += len(request.billed)
                row["usd"] += price_of(request.billed, self.prices)
        for row in rows.values():
            row["usd"] = round(row["usd"], USD_DECIMALS)
        return [rows[key] for key in sorted(rows)]

    def billed_usd(self, day: str | date | None = None) -> float:
        """What X charges the app: for one UTC day (``"2026-06-01"`` or a date), or in all.

        A read resource (a post or a user) returned more than once on a day is billed once.
        """
        wanted = day.isoformat() if isinstance(day, date) else day
        billed: list[BilledResource] = []
        seen: set[tuple[str, BilledResource]] = set()
        with self.lock:
            for request in self.requests:
                request_day = utc_day(request.at)
                if not request.billed or wanted not in (None, request_day):
                    continue
                for resource in request.billed:
                    is_read = resource.price_key.endswith("_read") and resource.resource_id
                    if is_read and (request_day, resource) in seen:
                        continue
                    seen.add((request_day, resource))
                    billed.append(resource)
        return price_of(billed, self.prices)
