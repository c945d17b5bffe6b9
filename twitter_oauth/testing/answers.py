"""X's answers, in X's formats: v1.1 JSON errors, v2 problems, forms, XML and plain text.

X answers in several formats depending on the endpoint and the failure, and clients
must parse them all; so the emulator reproduces each one, byte for byte where it matters.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from twitter_oauth.testing.oauth import CALLBACK, MALFORMED, TIMESTAMP, TOKEN, VERIFIER
from twitter_oauth.testing.records import EmulatorResponse

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
RETIRED = (
    "You currently have access to a subset of X API V2 endpoints and limited v1.1 endpoints "
    "(e.g. media post, oauth) only. If you need access to this endpoint, you may need a "
    "different access level."
)
VERIFIER_ERROR = b"Error processing your OAuth request: Invalid oauth_verifier parameter"
CALLBACK_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?><errors><error code="415">Callback URL '
    b"not approved for this client application. Approved callback URLs can be "
    b"adjusted in your application settings</error></errors>"
)
#: Where X's problem types live, e.g. ``.../credits-depleted``.
PROBLEMS = "https://api.x.com/2/problems"
PRODUCT_URL = "https://developer.x.com/en/portal/product"
INVALID_TOKEN = [{"code": 89, "message": "Invalid or expired token."}]
_STATUS_TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    402: "Payment Required",
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
    """The v1.1 and ``oauth/*`` error shape: ``{"errors": [{"code": ..., "message": ...}]}``."""
    return json_response(status, {"errors": [{"code": code, "message": message}]})


def problem(status: int, detail: str | None = None, **extra: Any) -> EmulatorResponse:
    """The v2 error shape (an RFC 7807 problem): ``title``, ``detail``, ``type``, ``status``."""
    title = _STATUS_TITLES.get(status, "Error")
    payload = {"title": title, "detail": detail or title, "type": "about:blank", "status": status}
    return json_response(status, {**payload, **extra})


def invalid_request(parameter: str, message: str, value: str | None = None) -> EmulatorResponse:
    """v2's 400 for a parameter it cannot use, naming the parameter (and its value, if given)."""
    return json_response(
        400,
        {
            "errors": [
                {"parameters": {parameter: [] if value is None else [value]}, "message": message}
            ],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


def credits_depleted() -> EmulatorResponse:
    """X's 402 once the app's credits are spent: every request, until credits are added."""
    return problem(402, "credits depleted", type=f"{PROBLEMS}/credits-depleted")


def usage_capped() -> EmulatorResponse:
    """X's 429 for the monthly usage cap; no reset is given, it lasts to the billing cycle's end."""
    return problem(
        429,
        "Usage cap exceeded: Monthly product cap",
        type=f"{PROBLEMS}/usage-capped",
        period="Monthly",
        scope="Product",
    )


def client_not_enrolled() -> EmulatorResponse:
    """X's 403 for an endpoint the app's plan does not include."""
    return problem(
        403,
        f"{RETIRED} You can learn more here: {PRODUCT_URL}",
        title="Client Forbidden",
        type=f"{PROBLEMS}/client-forbidden",
        reason="client-not-enrolled",
        required_enrollment="Appropriate Level of API Access",
        registration_url=PRODUCT_URL,
    )


def not_found() -> EmulatorResponse:
    return v1_error(404, 34, "Sorry, that page does not exist")


def form_response(values: dict[str, str]) -> EmulatorResponse:
    """``oauth/*`` answers are form-encoded but labelled text/html, as at X."""
    return EmulatorResponse(
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8"},
        body=urlencode(values).encode(),
    )


def refusal(reason: str, *, v2: bool) -> EmulatorResponse:
    """X's answer for a request that failed verification, by the reason it failed."""
    if reason == MALFORMED:
        return v1_error(400, 215, "Bad Authentication data.")
    if reason == TIMESTAMP:
        return v1_error(401, 135, "Timestamp out of bounds.")
    if reason == TOKEN:
        if v2:
            return problem(401, "Unauthorized", errors=INVALID_TOKEN)
        return json_response(401, {"errors": INVALID_TOKEN})
    if reason == VERIFIER:
        return EmulatorResponse(
            status=401, headers={"Content-Type": "text/plain; charset=utf-8"}, body=VERIFIER_ERROR
        )
    if reason == CALLBACK:
        return EmulatorResponse(
            status=403,
            headers={"Content-Type": "application/xml; charset=utf-8"},
            body=CALLBACK_ERROR,
        )
    # NONCE, CONSUMER and CREDENTIALS: X does not say which part was wrong.
    return v1_error(401, 32, "Could not authenticate you.")
