"""Injected faults: what an outage, a proxy or a slow network does to a request.

A fault acts before authentication, as a proxy or an outage in front of X would;
the request is still recorded, marked as faulted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from twitter_oauth.testing.answers import problem, v1_error
from twitter_oauth.testing.records import EmulatorResponse

#: What a garbled answer carries: a truncated body with bytes that are not UTF-8.
GARBAGE = b'\x00\x9f<!-- upstream reset -->{"data": [tru'


@dataclass
class Fault:
    """What to do instead of (or before) answering a matching request.

    ``times`` counts down as the fault applies (``None``: until cleared); ``applied``
    counts up, so a test can wait until a fault has met a request.
    """

    path: str
    method: str | None = None
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    garble: bool = False
    #: Handle the request as X would, then close the connection without the answer.
    lose_answer: bool = False
    times: int | None = 1
    rate: float = 1.0
    #: Seconds from now to the ``x-rate-limit-reset`` of an injected 429.
    reset_in: int = 60
    applied: int = 0

    def matches(self, method: str, path: str) -> bool:
        """The same path, or any path below one given with a trailing slash ("/2/tweets/")."""
        if self.method and self.method.upper() != method:
            return False
        return path == self.path or (self.path.endswith("/") and path.startswith(self.path))

    @property
    def answers(self) -> bool:
        """Whether the fault replaces X's answer (a bare delay only holds the request up)."""
        return self.drop or self.garble or self.status is not None or self.body is not None


def take(faults: list[Fault], method: str, path: str, rng: random.Random) -> Fault | None:
    """The first fault that applies to this request, counted as used; spent ones are removed."""
    for fault in faults:
        if not fault.matches(method, path):
            continue
        if fault.rate < 1.0 and rng.random() >= fault.rate:
            continue
        fault.applied += 1
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                faults.remove(fault)
        return fault
    return None


def fault_response(fault: Fault, now: float, limit: int) -> EmulatorResponse:
    """The answer a fault gives instead of X's: X's usual body for its status unless given one.

    ``limit`` is what an injected 429 reports in ``x-rate-limit-limit``.
    """
    if fault.drop:
        return EmulatorResponse(status=0, drop=True)
    if fault.garble:
        return EmulatorResponse(
            status=200, headers={"Content-Type": "application/json"}, body=GARBAGE
        )
    if fault.body is not None:
        response = EmulatorResponse(status=fault.status or 200, body=fault.body)
    elif fault.status == 429:
        response = problem(429)
        response.headers.update(
            {
                "x-rate-limit-limit": str(limit),
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(now + fault.reset_in)),
            }
        )
    elif fault.status == 401:
        response = v1_error(401, 32, "Could not authenticate you.")
    elif fault.status == 503:
        response = problem(503, errors=[{"code": 130, "message": "Over capacity"}])
    elif fault.status is not None and fault.status >= 500:
        response = problem(fault.status, errors=[{"code": 131, "message": "Internal error"}])
    else:
        response = problem(fault.status or 503)
    response.headers.update(fault.headers)
    return response
