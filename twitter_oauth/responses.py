"""What X answers, read: result types, and every error body mapped to our exceptions.

X sends errors as JSON (``{"errors": [{"code": ..., "message": ...}]}`` or the v2
problem shape with ``detail``), as XML (``<error code="415">``) or as plain text.
Nothing here speaks HTTP; :mod:`twitter_oauth.client` does.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qsl

from twitter_oauth import exceptions

#: X's message for a post whose text the account already posted.
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
DUPLICATE_CODES = {187}  # v1.1's "Status is a duplicate."
REVOKED_CODES = {89}  # "Invalid or expired token."
CALLBACK_NOT_APPROVED_CODES = {415}
#: Longest piece of a non-JSON body kept in an exception message.
MAX_DETAIL_LENGTH = 300

_XML_ERROR = re.compile(r"<error\b[^>]*?code=\"(\d+)\"[^>]*>(.*?)</error>", re.S | re.I)


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """X's ``x-rate-limit-*`` headers for the endpoint that was called."""

    limit: int | None
    remaining: int | None
    reset_at: dt.datetime | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        if "x-rate-limit-limit" not in headers and "x-rate-limit-reset" not in headers:
            return None
        return cls(
            limit=_int_or_none(headers.get("x-rate-limit-limit")),
            remaining=_int_or_none(headers.get("x-rate-limit-remaining")),
            reset_at=_epoch_or_none(headers.get("x-rate-limit-reset")),
        )


@dataclass(frozen=True)
class RequestToken:
    token: str
    secret: str = field(repr=False)
    callback_confirmed: bool


@dataclass(frozen=True)
class OAuth2Token:
    """The answer of ``POST 2/oauth2/token``: a Bearer token, and its refresh token with
    ``offline.access``. ``scopes`` are the ones X granted."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int | None
    scopes: tuple[str, ...]
    token_type: str = "bearer"  # noqa: S105


@dataclass(frozen=True)
class AccessToken:
    """Who signed in, with the credentials to store for them.

    OAuth 1.0a fills ``token`` and ``secret``; OAuth 2.0 leaves ``secret`` empty and
    carries its grant in ``oauth2``, the profile read with it, and ``email`` (X's
    ``confirmed_email``, with the ``users.email`` scope).
    """

    token: str = field(repr=False)
    secret: str = field(repr=False)
    user_id: str
    screen_name: str
    oauth2: OAuth2Token | None = None
    name: str = ""
    profile_image_url: str = ""
    email: str | None = None

    @property
    def protocol(self) -> str:
        return "oauth1" if self.oauth2 is None else "oauth2"


@dataclass(frozen=True)
class Tweet:
    id: str
    text: str
    rate_limit: RateLimit | None = None


@dataclass(frozen=True)
class XResponse:
    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def rate_limit(self) -> RateLimit | None:
        return RateLimit.from_headers(self.headers)


# --- error mapping -------------------------------------------------------------------------------


def error_for_response(
    response: XResponse, *, method: str = "", path: str = "", url: str | None = None
) -> exceptions.TwitterError:
    """The exception for an X answer that is not a success, keeping X's message."""
    status = response.status
    code, detail = parse_error_body(response.content, response.headers.get("Content-Type", ""))
    where = f"{method} {path}".strip()
    error_class, text = _classify(status, code, detail, where)
    error_class, text = _app_wide(response, error_class, text)
    if detail and not 300 <= status < 400:
        text = f"{text} X said: {detail}"
    if issubclass(error_class, exceptions.TwitterAppHeld):
        until = _epoch_or_none(response.headers.get("x-app-limit-24hour-reset"))
        return error_class(
            text,
            until=until if error_class is exceptions.TwitterAppDailyCapReached else None,
            status=status,
            code=code,
            detail=detail,
            url=url,
        )
    if error_class is exceptions.TwitterRateLimited:
        return exceptions.TwitterRateLimited(
            text,
            reset_at=_rate_limit_reset(response.headers),
            status=status,
            code=code,
            detail=detail,
            url=url,
        )
    return error_class(text, status=status, code=code, detail=detail, url=url)


def _app_wide(
    response: XResponse, error_class: type[exceptions.TwitterError], text: str
) -> tuple[type[exceptions.TwitterError], str]:
    """402 and the app-wide 429s concern every account of the app, not the one that met them."""
    if response.status == 402:
        return (
            exceptions.TwitterCreditsDepleted,
            "X refused the request: the app's credits are depleted.",
        )
    if response.status != 429:
        return error_class, text
    if _problem_type(response.content).endswith("usage-capped"):
        return (
            exceptions.TwitterUsageCapped,
            "X refused the request: the app's usage cap is reached.",
        )
    if response.headers.get("x-app-limit-24hour-remaining") == "0":
        return (
            exceptions.TwitterAppDailyCapReached,
            "X refused the post: the app's 24-hour post cap is reached.",
        )
    return error_class, text


def _problem_type(content: bytes) -> str:
    """The ``type`` of X's v2 problem body (``https://api.x.com/2/problems/...``), or ""."""
    try:
        payload = json.loads(content)
    except ValueError:
        return ""
    kind = payload.get("type") if isinstance(payload, dict) else None
    return kind if isinstance(kind, str) else ""


def _classify(
    status: int, code: int | None, detail: str | None, where: str
) -> tuple[type[exceptions.TwitterError], str]:
    if status == 429:
        return exceptions.TwitterRateLimited, f"X rate limit reached for {where}."
    if status >= 500:
        return exceptions.TwitterUnavailable, f"X answered {status} for {where}."
    if status == 401 and code in REVOKED_CODES:
        return (
            exceptions.TwitterTokenRevoked,
            "X refused the access token: it is invalid or was revoked.",
        )
    if status == 401:
        return exceptions.TwitterAuthError, f"X could not authenticate {where}."
    if status == 403 and code in CALLBACK_NOT_APPROVED_CODES:
        return (
            exceptions.TwitterCallbackNotApproved,
            "X refused the callback URL: add it to the app's callback URLs "
            "in the X developer portal.",
        )
    if status == 403 and (code in DUPLICATE_CODES or (detail and "duplicate content" in detail)):
        return exceptions.TwitterDuplicate, "X refused a duplicate post."
    if status == 403:
        return exceptions.TwitterForbidden, f"X refused {where}."
    if status == 404:
        return exceptions.TwitterNotFound, f"X found nothing at {where}."
    if 300 <= status < 400:
        return (
            exceptions.TwitterBadResponse,
            f"X answered {where} with an unexpected redirect ({status}).",
        )
    return exceptions.TwitterBadRequest, f"X refused {where} as invalid ({status})."


def parse_error_body(content: bytes, content_type: str = "") -> tuple[int | None, str | None]:
    """X's error code and message from a JSON, XML or plain-text body."""
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return None, None
    if text[0] in "{[":
        try:
            payload = json.loads(text)
        except ValueError:
            return None, clip(text)
        return _json_error(payload)
    if text.startswith("<") and "<error" in text.lower():
        match = _XML_ERROR.search(text)
        if match:
            return int(match.group(1)), clip(unescape(match.group(2)).strip())
    if text.startswith("<") or "html" in content_type:
        return None, None  # an HTML error page from a proxy says nothing useful
    return None, clip(text)


def _json_error(payload: Any) -> tuple[int | None, str | None]:
    if not isinstance(payload, dict):
        return None, None
    errors = [error for error in payload.get("errors") or [] if isinstance(error, dict)]
    code = next((error["code"] for error in errors if isinstance(error.get("code"), int)), None)
    messages = [error["message"] for error in errors if isinstance(error.get("message"), str)]
    detail = payload.get("detail")
    if isinstance(detail, str) and detail not in messages:
        messages.insert(0, detail)
    if not messages:
        messages = [
            payload[key]
            for key in ("error_description", "error", "title")
            if isinstance(payload.get(key), str)
        ]
    return code, (clip("; ".join(messages)) if messages else None)


def _rate_limit_reset(headers: Mapping[str, str]) -> dt.datetime | None:
    # The per-endpoint window is the usual cause; when the user's daily cap is exhausted
    # the per-endpoint reset comes too early, so the later of the exhausted ones wins.
    # (The app's daily cap is an app-wide hold, see _app_wide.)
    resets = [_epoch_or_none(headers.get("x-rate-limit-reset"))]
    if headers.get("x-user-limit-24hour-remaining") == "0":
        resets.append(_epoch_or_none(headers.get("x-user-limit-24hour-reset")))
    known = [reset for reset in resets if reset is not None]
    return max(known) if known else None


# --- reading answers ----------------------------------------------------------------------------


def parse_form(response: XResponse, *, required: tuple[str, ...]) -> dict[str, str]:
    try:
        values = dict(
            parse_qsl(response.content.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        )
    except (UnicodeDecodeError, ValueError):
        values = {}
    missing = [name for name in required if not values.get(name)]
    if missing:
        raise exceptions.TwitterBadResponse(
            f"X's answer lacks {', '.join(missing)}.", status=response.status
        )
    return values


def parse_oauth2_token(response: XResponse) -> OAuth2Token:
    """The token endpoint's JSON answer; an answer without an access token is unusable."""
    payload = read_json(response)
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        raise exceptions.TwitterBadResponse(
            "X's token answer lacks access_token.", status=response.status
        )
    refresh = payload.get("refresh_token")
    expires_in = payload.get("expires_in")
    scope = payload.get("scope")
    return OAuth2Token(
        access_token=token,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_in=expires_in if isinstance(expires_in, int) and expires_in > 0 else None,
        scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        token_type=str(payload.get("token_type") or "bearer"),
    )


def read_json(response: XResponse) -> dict:
    try:
        payload = json.loads(response.content)
    except ValueError as exc:
        raise exceptions.TwitterBadResponse(
            "X sent a response that is not JSON.", status=response.status
        ) from exc
    if not isinstance(payload, dict):
        raise exceptions.TwitterBadResponse(
            "X sent JSON of an unexpected shape.", status=response.status
        )
    return payload


def read_data(response: XResponse) -> dict:
    data = read_json(response).get("data")
    if not isinstance(data, dict):
        raise exceptions.TwitterBadResponse(
            "X's answer has no data object.", status=response.status
        )
    return data


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _epoch_or_none(value: str | None) -> dt.datetime | None:
    seconds = _int_or_none(value)
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def clip(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_LENGTH else text[: MAX_DETAIL_LENGTH - 1] + "…"
