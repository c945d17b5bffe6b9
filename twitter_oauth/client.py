"""The only module that speaks HTTP to X.

Everything goes through one ``requests.Session`` per process
(:mod:`twitter_oauth.sessions`), so connections to X are kept alive across calls
(and across Celery tasks in a worker). Every call
has a timeout, is signed with OAuth 1.0a (HMAC-SHA1, parameters in the
Authorization header) through requests-oauthlib or carries an OAuth 2.0 Bearer
token, and every failure is re-raised as a :mod:`twitter_oauth.exceptions` class
with X's status, code and message.

This module knows nothing of Django models: callers hand it plain strings.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from requests.auth import AuthBase, HTTPBasicAuth
from requests_oauthlib import OAuth1

from twitter_oauth import exceptions
from twitter_oauth.conf import app_settings
from twitter_oauth.responses import (
    DUPLICATE_DETAIL,
    AccessToken,
    OAuth2Token,
    RateLimit,
    RequestToken,
    Tweet,
    XResponse,
    clip,
    error_for_response,
    parse_error_body,
    parse_form,
    parse_oauth2_token,
    read_data,
    read_json,
)
from twitter_oauth.sessions import PooledSession, get_session, reset_session
from twitter_oauth.usage import ledger

__all__ = [
    "DUPLICATE_DETAIL",
    "AccessToken",
    "BearerAuth",
    "OAuth2Token",
    "PooledSession",
    "RateLimit",
    "RequestToken",
    "Tweet",
    "TwitterClient",
    "XResponse",
    "error_for_response",
    "get_session",
    "parse_error_body",
    "reset_session",
]

logger = logging.getLogger("twitter_oauth.client")

#: The useful words of a socket error inside requests' long exception text.
_ERRNO = re.compile(r"(\[Errno -?\d+\] [^'\"()]+)")


# --- the client -----------------------------------------------------------------------------------


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>``, for calls with an OAuth 2.0 access token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class TwitterClient:
    """Signed calls to X for one consumer and, optionally, one access token.

    With ``bearer_token`` (an OAuth 2.0 access token) API calls carry it instead
    of an OAuth 1.0a signature. Cheap to build: the HTTP connections belong to the
    process-wide session, so build one per account and per task freely. Arguments
    left out come from ``TWITTER_OAUTH``. ``account_id`` is whom the usage ledger
    counts the requests under (the linked account's primary key; ``None`` for
    requests made for no account).
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
        bearer_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        account_id: int | None = None,
    ) -> None:
        self.consumer_key = consumer_key or app_settings.CONSUMER_KEY
        self._consumer_secret = consumer_secret or app_settings.CONSUMER_SECRET
        self.token = token
        self._token_secret = token_secret
        self.api_url = (api_url or app_settings.API_URL).rstrip("/")
        self.authorize_base = (authorize_url or app_settings.AUTHORIZE_URL).rstrip("/")
        self._session = session
        self._token_auth: OAuth1 | None = None
        self.bearer_token = bearer_token
        self.client_id = client_id or app_settings.CLIENT_ID
        self._client_secret = client_secret if client_id else app_settings.CLIENT_SECRET
        self.account_id = account_id

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
        values = parse_form(response, required=("oauth_token", "oauth_token_secret"))
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
        values = parse_form(
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

    # -- OAuth 2.0 (Authorization Code with PKCE) --

    def get_oauth2_authorize_url(
        self, *, redirect_uri: str, state: str, code_challenge: str, scopes: tuple[str, ...]
    ) -> str:
        """Where to send the person: X's consent page, with an S256 code challenge."""
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{app_settings.OAUTH2_AUTHORIZE_URL}?{urlencode(query)}"

    def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> OAuth2Token:
        """``POST 2/oauth2/token`` with ``grant_type=authorization_code``."""
        return self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        )

    def refresh_oauth2_token(self, refresh_token: str) -> OAuth2Token:
        """``POST 2/oauth2/token`` with ``grant_type=refresh_token``; X rotates it."""
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke_oauth2_token(self, token: str, *, token_type_hint: str = "access_token") -> None:  # noqa: S107
        """``POST 2/oauth2/revoke`` for an access or a refresh token."""
        body, auth = self._client_authentication(
            {"token": token, "token_type_hint": token_type_hint}
        )
        self._send("POST", "2/oauth2/revoke", data=body, auth=auth)

    def _token_request(self, body: dict[str, str]) -> OAuth2Token:
        body, auth = self._client_authentication(body)
        return parse_oauth2_token(self._send("POST", "2/oauth2/token", data=body, auth=auth))

    def _client_authentication(self, body: dict[str, str]) -> tuple[dict[str, str], AuthBase]:
        # A confidential client proves itself with HTTP Basic; a public one only names itself.
        if self._client_secret:
            return body, HTTPBasicAuth(self.client_id, self._client_secret)
        return {**body, "client_id": self.client_id}, _NO_AUTH

    # -- API calls with an access token --

    def get_me(self, fields: tuple[str, ...] = ("profile_image_url", "name", "verified")) -> dict:
        """``GET 2/users/me``: the profile of the token's owner (X's ``data`` object)."""
        params = {"user.fields": ",".join(fields)} if fields else None
        return read_data(self._send("GET", "2/users/me", params=params))

    def verify_credentials(self, *, include_email: bool = False) -> dict:
        """``GET 1.1/account/verify_credentials.json`` (75 calls per 15 minutes per user)."""
        params = {"include_email": "true", "skip_status": "true"} if include_email else None
        return read_json(self._send("GET", "1.1/account/verify_credentials.json", params=params))

    def create_tweet(self, text: str) -> Tweet:
        """``POST 2/tweets``; returns the new tweet's id and the rate-limit state."""
        response = self._send("POST", "2/tweets", json_body={"text": text})
        data = read_data(response)
        if not isinstance(data.get("id"), str):
            raise exceptions.TwitterBadResponse(
                "X accepted the post but sent no tweet id.", status=response.status
            )
        return Tweet(id=data["id"], text=data.get("text", text), rate_limit=response.rate_limit)

    def get_user_tweets(
        self,
        user_id: str,
        *,
        max_results: int = 20,
        start_time: dt.datetime | None = None,
        since_id: str | None = None,
    ) -> list[dict]:
        """``GET 2/users/:id/tweets``: the newest posts of a user, newest first.

        ``start_time`` and ``since_id`` bound the read (X bills each post returned).
        """
        params = {"max_results": str(max(5, min(100, max_results)))}
        if start_time is not None:
            params["start_time"] = f"{start_time.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
        if since_id:
            params["since_id"] = since_id
        data = read_json(self._send("GET", f"2/users/{user_id}/tweets", params=params)).get("data")
        return [tweet for tweet in data or [] if isinstance(tweet, dict)]

    def delete_tweet(self, tweet_id: str) -> bool:
        data = read_data(self._send("DELETE", f"2/tweets/{tweet_id}"))
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
        auth: AuthBase | None = None,
    ) -> XResponse:
        # Counted in the usage ledger whatever happens; refused here past the spending limit.
        call = ledger.before_send(
            method, path, params=params, json_body=json_body, account_id=self.account_id
        )
        response: XResponse | None = None
        try:
            response = self._exchange(
                method,
                path,
                params=params,
                data=data,
                json_body=json_body,
                auth=auth or self._auth(callback_uri, verifier),
            )
        finally:
            ledger.after_answer(call, response)
        url = f"{self.api_url}/{path.lstrip('/')}"
        if response.status >= 300:
            raise error_for_response(response, method=method, path=path, url=url)
        return response

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        json_body: Any,
        auth: AuthBase,
    ) -> XResponse:
        url = f"{self.api_url}/{path.lstrip('/')}"
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
        return response

    def _auth(self, callback_uri: str | None, verifier: str | None) -> AuthBase:
        if self.bearer_token:
            return BearerAuth(self.bearer_token)
        if callback_uri is None and verifier is None:
            # The signer of this client's token, built once: a sender posts many times with it.
            if self._token_auth is None:
                self._token_auth = self._oauth1(None, None)
            return self._token_auth
        return self._oauth1(callback_uri, verifier)

    def _oauth1(self, callback_uri: str | None, verifier: str | None) -> OAuth1:
        return OAuth1(
            self.consumer_key,
            client_secret=self._consumer_secret,
            resource_owner_key=self.token,
            resource_owner_secret=self._token_secret,
            callback_uri=callback_uri,
            verifier=verifier,
            signature_type="AUTH_HEADER",
        )


class _NoAuth(AuthBase):
    """No Authorization header: a public client's token request names itself in the body."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


_NO_AUTH = _NoAuth()


def _reason(exc: BaseException) -> str:
    # requests buries the useful words ("Connection refused") inside a long repr.
    text = str(exc)
    errno = _ERRNO.search(text)
    if errno:
        return errno.group(1).strip()
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the connection was closed without a response"
    return clip(text) or type(exc).__name__
