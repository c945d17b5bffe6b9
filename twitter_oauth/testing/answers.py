"""X's answers, in X's formats: JSON errors, v2 problems, forms, refusals, faults."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from twitter_oauth.testing.oauth import CALLBACK, MALFORMED, TIMESTAMP, TOKEN, VERIFIER
from twitter_oauth.testing.state import EmulatorResponse, Fault

if TYPE_CHECKING:
    from twitter_oauth.testing.state import XEmulator

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
GARBAGE = b'\x00\x9f<!-- upstream reset -->{"data": [tru'
RETIRED = (
    "You currently have access to a subset of X API V2 endpoints and limited v1.1 endpoints "
    "(e.g. media post, oauth) only. If you need access to this endpoint, you may need a "
    "different access level."
)
_STATUS_TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def json_response(
    status: int, payload: Any, headers: dict[str, str] | None = None
) -> EmulatorResponse:
    return EmulatorResponse(
        status=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        body=json.dumps(payload).encode(),
    )


def v1_error(status: int, code: int, message: str) -> EmulatorResponse:
    return json_response(status, {"errors": [{"code": code, "message": message}]})


def problem(status: int, detail: str | None = None, **extra: Any) -> EmulatorResponse:
    title = _STATUS_TITLES.get(status, "Error")
    payload = {"title": title, "detail": detail or title, "type": "about:blank", "status": status}
    return json_response(status, {**payload, **extra})


def form_response(values: dict[str, str]) -> EmulatorResponse:
    return EmulatorResponse(
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8"},
        body=urlencode(values).encode(),
    )


def refusal(reason: str, *, v2: bool) -> EmulatorResponse:
    """X's answer for a request that failed verification."""
    if reason == MALFORMED:
        return v1_error(400, 215, "Bad Authentication data.")
    if reason == TIMESTAMP:
        return v1_error(401, 135, "Timestamp out of bounds.")
    if reason == TOKEN:
        errors = [{"code": 89, "message": "Invalid or expired token."}]
        if v2:
            return problem(401, "Unauthorized", errors=errors)
        return json_response(401, {"errors": errors})
    if reason == VERIFIER:
        return EmulatorResponse(
            status=401,
            headers={"Content-Type": "text/plain; charset=utf-8"},
            body=b"Error processing your OAuth request: Invalid oauth_verifier parameter",
        )
    if reason == CALLBACK:
        return EmulatorResponse(
            status=403,
            headers={"Content-Type": "application/xml; charset=utf-8"},
            body=(
                b'<?xml version="1.0" encoding="UTF-8"?><errors><error code="415">Callback URL '
                b"not approved for this client application. Approved callback URLs can be "
                b"adjusted in your application settings</error></errors>"
            ),
        )
    # NONCE and CREDENTIALS: X does not say which part was wrong.
    return v1_error(401, 32, "Could not authenticate you.")


def fault_response(fault: Fault, emulator: XEmulator) -> EmulatorResponse:
    if fault.drop:
        return EmulatorResponse(status=0, drop=True)
    if fault.garble:
        return EmulatorResponse(
            status=200, headers={"Content-Type": "application/json"}, body=GARBAGE
        )
    status = fault.status or 503
    if fault.body is not None:
        response = EmulatorResponse(status=status, body=fault.body)
    elif status == 429:
        reset = str(int(emulator.clock() + fault.reset_in))
        response = problem(429)
        response.headers.update(
            {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": reset,
            }
        )
    elif status == 401:
        response = v1_error(401, 32, "Could not authenticate you.")
    elif status == 503:
        response = problem(503, errors=[{"code": 130, "message": "Over capacity"}])
    elif status >= 500:
        response = problem(status, errors=[{"code": 131, "message": "Internal error"}])
    else:
        response = problem(status)
    response.headers.update(fault.headers)
    return response
