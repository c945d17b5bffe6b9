"""The only module that speaks HTTP to X.

Everything goes through one ``requests.Session`` per process, so connections to
X are kept alive across calls (and across Celery tasks in a worker). Every call
has a timeout, is signed with OAuth 1.0a (HMAC-SHA1, parameters in the
Authorization header) through requests-oauthlib, and every failure is re-raised
as a :mod:`twitter_oauth.exceptions` class with X's status, code and message.

This module knows nothing of Django models: callers hand it plain strings.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlencode

import requests
from django.utils.module_loading import import_string
from requests_oauthlib import OAuth1

from twitter_oauth import exceptions
from twitter_oauth.conf import app_settings

logger = logging.getLogger("twitter_oauth.client")

#: X's message for a post whose text the account already posted.
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
DUPLICATE_CODES = {187}  # v1.1's "Status is a duplicate."
REVOKED_CODES = {89}  # "Invalid or expired token."
CALLBACK_NOT_APPROVED_CODES = {415}
#: Longest piece of a non-JSON body kept in an exception message.
MAX_DETAIL_LENGTH = 300

_ERRNO = re.compile(r"(\[Errno -?\d+\] [^'\"()]+)")
_XML_ERROR = re.compile(r"<error\b[^>]*?code=\"(\d+)\"[^>]*>(.*?)</error>", re.S | re.I)


# --- the process-wide HTTP session ---------------------------------------------------------------

_session: requests.Session | None = None
_session_lock = threading.Lock()


def _build_session() -> requests.Session:
    factory = app_settings.SESSION_FACTORY
    session: requests.Session = import_string(factory)() if factory else requests.Session()
    size = app_settings.POOL_SIZE
    adapter = requests.adapters.HTTPAdapter(pool_connections=size, pool_maxsize=size)
    if not factory:
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    session.headers["User-Agent"] = (
        f"{app_settings.USER_AGENT} python-requests/{requests.__version__}"
    )
    return session


def get_session() -> requests.Session:
    """The process-wide session (created on first use, re-created after a fork)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = _build_session()
    return _session


def reset_session() -> None:
    """Close the pooled connections; the next call opens a fresh session.

    Called after ``fork()`` so a child never shares sockets with its parent, and
    by tests that change ``SESSION_FACTORY``, ``POOL_SIZE`` or ``USER_AGENT``.
    """
    global _session
    with _session_lock:
        old, _session = _session, None
    if old is not None:
        old.close()


def _forget_session_in_child() -> None:
    # The parent's sockets must not be used by the child; closing them here would
    # also shut them for the parent, so drop the reference only.
    global _session, _session_lock
    _session = None
    _session_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_session_in_child)


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
class AccessToken:
    token: str = field(repr=False)
    secret: str = field(repr=False)
    user_id: str
    screen_name: str


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


# --- the client -----------------------------------------------------------------------------------


class TwitterClient:
    """Signed calls to X for one consumer and, optionally, one access token.

    Cheap to build: the HTTP connections belong to the process-wide session, so
    build one per account and per task freely. Arguments left out come from
    ``TWITTER_OAUTH``.
    """

    def __init__(
        self,
        token: str | None = None,
        token_secret: str | None = None,
        *,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        api_url: str | None = None,
        authorize_url: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.consumer_key = consumer_key or app_settings.CONSUMER_KEY
        self._consumer_secret = consumer_secret or app_settings.CONSUMER_SECRET
        self.token = token
        self._token_secret = token_secret
        self.api_url = (api_url or app_settings.API_URL).rstrip("/")
        self.authorize_base = (authorize_url or app_settings.AUTHORIZE_URL).rstrip("/")
        self._session = session

    def __repr__(self) -> str:
        return f"<TwitterClient consumer={self.consumer_key!r} api_url={self.api_url!r}>"

    @property
    def session(self) -> requests.Session:
        return self._session or get_session()

    # -- OAuth 1.0a three-legged flow --

    def get_request_token(
        self, callback_url: str, *, access_type: str | None = None
    ) -> RequestToken:
        """Step 1: ``POST oauth/request_token``. ``callback_url="oob"`` starts the PIN flow."""
        params = {"x_auth_access_type": access_type} if access_type else None
        response = self._send(
            "POST", "oauth/request_token", params=params, callback_uri=callback_url
        )
        values = _parse_form(response, required=("oauth_token", "oauth_token_secret"))
        return RequestToken(
            token=values["oauth_token"],
            secret=values["oauth_token_secret"],
            callback_confirmed=values.get("oauth_callback_confirmed") == "true",
        )

    def get_authorize_url(
        self,
        request_token: str,
        *,
        authenticate: bool = False,
        force_login: bool = False,
        screen_name: str | None = None,
    ) -> str:
        """Step 2: where to send the person. ``authenticate`` is "Sign in with X",
        which skips the prompt for people who already approved the app."""
        query = {"oauth_token": request_token}
        if force_login:
            query["force_login"] = "true"
        if screen_name:
            query["screen_name"] = screen_name
        page = "authenticate" if authenticate else "authorize"
        return f"{self.authorize_base}/oauth/{page}?{urlencode(query)}"

    def get_access_token(self, verifier: str) -> AccessToken:
        """Step 3: exchange the verifier; this client's token is the request token."""
        response = self._send("POST", "oauth/access_token", verifier=verifier)
        values = _parse_form(
            response, required=("oauth_token", "oauth_token_secret", "user_id", "screen_name")
        )
        return AccessToken(
            token=values["oauth_token"],
            secret=values["oauth_token_secret"],
            user_id=values["user_id"],
            screen_name=values["screen_name"],
        )

    def invalidate_token(self) -> None:
        """Revoke this client's access token at X."""
        self._send("POST", "1.1/oauth/invalidate_token")

    # -- API calls with an access token --

    def get_me(self, fields: tuple[str, ...] = ("profile_image_url", "name", "verified")) -> dict:
        """``GET 2/users/me``: the profile of the token's owner (X's ``data`` object)."""
        params = {"user.fields": ",".join(fields)} if fields else None
        return _data(self._send("GET", "2/users/me", params=params))

    def verify_credentials(self, *, include_email: bool = False) -> dict:
        """``GET 1.1/account/verify_credentials.json`` (75 calls per 15 minutes per user)."""
        params = {"include_email": "true", "skip_status": "true"} if include_email else None
        return _json(self._send("GET", "1.1/account/verify_credentials.json", params=params))

    def create_tweet(self, text: str) -> Tweet:
        """``POST 2/tweets``; returns the new tweet's id and the rate-limit state."""
        response = self._send("POST", "2/tweets", json_body={"text": text})
        data = _data(response)
        if not isinstance(data.get("id"), str):
            raise exceptions.TwitterBadResponse(
                "X accepted the post but sent no tweet id.", status=response.status
            )
        return Tweet(id=data["id"], text=data.get("text", text), rate_limit=response.rate_limit)

    def get_user_tweets(self, user_id: str, *, max_results: int = 20) -> list[dict]:
        """``GET 2/users/:id/tweets``: the newest posts of a user, newest first."""
        params = {"max_results": str(max(5, min(100, max_results)))}
        data = _json(self._send("GET", f"2/users/{user_id}/tweets", params=params)).get("data")
        return [tweet for tweet in data or [] if isinstance(tweet, dict)]

    def delete_tweet(self, tweet_id: str) -> bool:
        data = _data(self._send("DELETE", f"2/tweets/{tweet_id}"))
        return bool(data.get("deleted"))

    # -- the one door --

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> XResponse:
        """A signed request to any X endpoint (``path`` relative to ``API_URL``)."""
        return self._send(method, path, params=params, data=data, json_body=json_body)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
        callback_uri: str | None = None,
        verifier: str | None = None,
    ) -> XResponse:
        url = f"{self.api_url}/{path.lstrip('/')}"
        auth = OAuth1(
            self.consumer_key,
            client_secret=self._consumer_secret,
            resource_owner_key=self.token,
            resource_owner_secret=self._token_secret,
            callback_uri=callback_uri,
            verifier=verifier,
            signature_type="AUTH_HEADER",
        )
        started = time.monotonic()
        try:
            raw = self.session.request(
                method,
                url,
                params=params,
                data=data,
                json=json_body,
                auth=auth,
                timeout=(app_settings.CONNECT_TIMEOUT, app_settings.TIMEOUT),
                allow_redirects=False,
            )
            content = raw.content
        except requests.Timeout as exc:
            raise exceptions.TwitterTimeout(
                f"X did not answer {method} {path} in time.", url=url
            ) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise exceptions.TwitterUnavailable(
                f"Could not reach X for {method} {path}: {_reason(exc)}", url=url
            ) from exc
        except requests.RequestException as exc:
            raise exceptions.TwitterUnavailable(
                f"Request to X failed for {method} {path}: {_reason(exc)}", url=url
            ) from exc
        response = XResponse(status=raw.status_code, headers=raw.headers, content=content)
        logger.debug(
            "%s %s -> %s in %.0f ms",
            method,
            path,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        if response.status >= 300:
            raise error_for_response(response, method=method, path=path, url=url)
        return response


# --- error mapping -------------------------------------------------------------------------------


def error_for_response(
    response: XResponse, *, method: str = "", path: str = "", url: str | None = None
) -> exceptions.TwitterError:
    """The exception for an X answer that is not a success, keeping X's message."""
    status = response.status
    code, detail = parse_error_body(response.content, response.headers.get("Content-Type", ""))
    where = f"{method} {path}".strip()
    kwargs = {"status": status, "code": code, "detail": detail, "url": url}

    def message(default: str) -> str:
        return f"{default} X said: {detail}" if detail else default

    if status == 429:
        return exceptions.TwitterRateLimited(
            message(f"X rate limit reached for {where}."),
            reset_at=_rate_limit_reset(response.headers),
            **kwargs,
        )
    if status >= 500:
        return exceptions.TwitterUnavailable(message(f"X answered {status} for {where}."), **kwargs)
    if status == 401:
        if code in REVOKED_CODES:
            return exceptions.TwitterTokenRevoked(
                message("X refused the access token: it is invalid or was revoked."), **kwargs
            )
        return exceptions.TwitterAuthError(message(f"X could not authenticate {where}."), **kwargs)
    if status == 403:
        if code in CALLBACK_NOT_APPROVED_CODES:
            return exceptions.TwitterCallbackNotApproved(
                message(
                    "X refused the callback URL: add it to the app's callback URLs "
                    "in the X developer portal."
                ),
                **kwargs,
            )
        if code in DUPLICATE_CODES or (detail and "duplicate content" in detail):
            return exceptions.TwitterDuplicate(message("X refused a duplicate post."), **kwargs)
        return exceptions.TwitterForbidden(message(f"X refused {where}."), **kwargs)
    if status == 404:
        return exceptions.TwitterNotFound(message(f"X found nothing at {where}."), **kwargs)
    if 300 <= status < 400:
        return exceptions.TwitterBadResponse(
            f"X answered {where} with an unexpected redirect ({status}).", **kwargs
        )
    return exceptions.TwitterBadRequest(
        message(f"X refused {where} as invalid ({status})."), **kwargs
    )


def parse_error_body(content: bytes, content_type: str = "") -> tuple[int | None, str | None]:
    """X's error code and message from a JSON, XML or plain-text body."""
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return None, None
    if text[0] in "{[":
        try:
            payload = json.loads(text)
        except ValueError:
            return None, _clip(text)
        return _json_error(payload)
    if text.startswith("<") and "<error" in text.lower():
        match = _XML_ERROR.search(text)
        if match:
            return int(match.group(1)), _clip(unescape(match.group(2)).strip())
    if text.startswith("<") or "html" in content_type:
        return None, None  # an HTML error page from a proxy says nothing useful
    return None, _clip(text)


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
        messages = [payload[key] for key in ("error", "title") if isinstance(payload.get(key), str)]
    return code, (_clip("; ".join(messages)) if messages else None)


def _rate_limit_reset(headers: Mapping[str, str]) -> dt.datetime | None:
    # The per-endpoint window is the usual cause; when a daily cap is exhausted the
    # per-endpoint reset comes too early, so the later of the exhausted ones wins.
    resets = [_epoch_or_none(headers.get("x-rate-limit-reset"))]
    for prefix in ("x-user-limit-24hour", "x-app-limit-24hour"):
        if headers.get(f"{prefix}-remaining") == "0":
            resets.append(_epoch_or_none(headers.get(f"{prefix}-reset")))
    known = [reset for reset in resets if reset is not None]
    return max(known) if known else None


# --- helpers --------------------------------------------------------------------------------------


def _parse_form(response: XResponse, *, required: tuple[str, ...]) -> dict[str, str]:
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


def _json(response: XResponse) -> dict:
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


def _data(response: XResponse) -> dict:
    data = _json(response).get("data")
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


def _clip(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_LENGTH else text[: MAX_DETAIL_LENGTH - 1] + "…"


def _reason(exc: BaseException) -> str:
    # requests buries the useful words ("Connection refused") inside a long repr.
    text = str(exc)
    errno = _ERRNO.search(text)
    if errno:
        return errno.group(1).strip()
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the connection was closed without a response"
    return _clip(text) or type(exc).__name__
