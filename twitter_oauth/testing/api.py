"""The emulator's endpoints, with X's request and response formats.

Every request is recorded first, then meets any injected fault, and only then is
routed, verified and answered: a fault stands for something in front of X. An
authenticated API request then meets the app's refusals (credits, the usage cap,
enrollment), and every answer is priced for the cost record.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

from twitter_oauth.pricing import CREATE_POST, billed_resources
from twitter_oauth.testing import pages
from twitter_oauth.testing.answers import (
    DUPLICATE_DETAIL,
    RETIRED,
    form_response,
    invalid_request,
    json_response,
    not_found,
    problem,
    refusal,
    v1_error,
)
from twitter_oauth.testing.billing import ledger_endpoint
from twitter_oauth.testing.faults import fault_response
from twitter_oauth.testing.limits import Window
from twitter_oauth.testing.oauth import Refused
from twitter_oauth.testing.oauth2_api import OAuth2Endpoints, bearer_token
from twitter_oauth.testing.records import EmulatorResponse, RecordedRequest
from twitter_oauth.testing.timeline import timeline

if TYPE_CHECKING:
    from twitter_oauth.testing.state import XEmulator, XUser

logger = logging.getLogger("twitter_oauth.testing")

MAX_TWEET_LENGTH = 280
#: Limited to 75 calls per 15 minutes per user (``billing.PER_USER_LIMITS``).
VERIFY_CREDENTIALS = "GET /1.1/account/verify_credentials.json"
_TWEET_PATH = re.compile(r"^/2/tweets/(\d+)$")
_TIMELINE_PATH = re.compile(r"^/2/users/(\d+)/tweets$")
_AVATAR_PATH = re.compile(r"^/avatars/(\d+)\.svg$")
_DAY = 24 * 60 * 60

Handler = Callable[["Call"], EmulatorResponse]


@dataclass
class Call:
    """One request as the handlers see it."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    record: RecordedRequest

    def oauth_args(self) -> tuple[str, str, str, dict[str, str]]:
        return self.url, self.method, self.body.decode("utf-8", "replace"), self.headers


class Router:
    def __init__(self, emulator: XEmulator) -> None:
        self.emulator = emulator
        self.routes: dict[tuple[str, str], Handler] = {
            ("POST", "/oauth/request_token"): self.request_token,
            ("POST", "/oauth/access_token"): self.access_token,
            ("GET", "/oauth/authorize"): self.authorize_page,
            ("GET", "/oauth/authenticate"): self.authorize_page,
            ("POST", "/oauth/authorize"): self.authorize_answer,
            ("POST", "/oauth/authenticate"): self.authorize_answer,
            ("GET", "/2/users/me"): self.users_me,
            ("POST", "/2/tweets"): self.create_tweet,
            ("GET", "/1.1/account/verify_credentials.json"): self.verify_credentials,
            ("POST", "/1.1/oauth/invalidate_token"): self.invalidate_token,
            ("POST", "/1.1/statuses/update.json"): self.retired,
            ("GET", "/_emulator/state"): self.state,
            ("POST", "/_emulator/reset"): self.reset,
            ("POST", "/_emulator/account"): lambda call: self.emulator.change_account(call.body),
        }
        self.oauth2 = OAuth2Endpoints(emulator)
        self.routes.update(self.oauth2.routes())

    def handle(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        interrupt: threading.Event | None = None,
    ) -> EmulatorResponse:
        """Record, apply faults, route. ``interrupt`` cuts a delay short (the server stopping)."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        record = RecordedRequest(method, parts.path, query, headers, body, at=self.emulator.clock())
        record.endpoint = ledger_endpoint(method, parts.path, body)
        with self.emulator.lock:
            self.emulator.requests.append(record)
        response = self._answer(method, url, parts.path, record, interrupt)
        if record.consumer_key is None:
            # Not verified (refused, faulted or unsigned): attribute it to whom it names.
            record.consumer_key, record.token = _claimed_identity(headers, query, body)
        record.status, record.response_headers = response.status, response.headers
        if record.endpoint is not None:
            record.billed = billed_resources(record.endpoint, response.status, response.body)
        if record.answer_lost:
            return EmulatorResponse(status=0, drop=True)
        return response

    def _answer(
        self,
        method: str,
        url: str,
        path: str,
        record: RecordedRequest,
        interrupt: threading.Event | None,
    ) -> EmulatorResponse:
        fault = self.emulator.take_fault(method, path)
        if fault is not None:
            record.fault = True
            if fault.delay and _wait(fault.delay, interrupt):
                return EmulatorResponse(status=0, drop=True)
            record.answer_lost = fault.lose_answer
            if fault.answers:
                return fault_response(fault, self.emulator.clock(), self.emulator.post_limit)
        handler = self.routes.get((method, path)) or self._pattern_route(method, path)
        if handler is None:
            return not_found()
        try:
            return handler(Call(method, url, record.headers, record.body, record))
        except Exception:
            # A bug here must not look like a network failure to the client under test.
            logger.exception("the X emulator failed on %s %s", method, path)
            return problem(500, errors=[{"code": 131, "message": "Internal error"}])

    def _pattern_route(self, method: str, path: str) -> Handler | None:
        if method == "DELETE" and _TWEET_PATH.match(path):
            return self.delete_tweet
        if method == "GET" and _TIMELINE_PATH.match(path):
            return self.user_tweets
        if method == "GET" and _AVATAR_PATH.match(path):
            return self.avatar
        return None

    # --- OAuth ---------------------------------------------------------------------------------

    def request_token(self, call: Call) -> EmulatorResponse:
        try:
            request = self.emulator.verifier.request_token(*call.oauth_args())
        except Refused as refused:
            return refusal(refused.reason, v2=False)
        call.record.consumer_key = str(request.client_key)
        params: list[tuple[str, str]] = request.params  # type: ignore[assignment]
        access_type = dict(params).get("x_auth_access_type")
        record = self.emulator.create_request_token(
            call.record.consumer_key, str(request.redirect_uri), access_type
        )
        return form_response(
            {
                "oauth_token": record.token,
                "oauth_token_secret": record.secret,
                "oauth_callback_confirmed": "true",
            }
        )

    def access_token(self, call: Call) -> EmulatorResponse:
        # One lock around verify-and-consume: a request token is exchanged once, even in a race.
        with self.emulator.lock:
            try:
                request = self.emulator.verifier.access_token(*call.oauth_args())
            except Refused as refused:
                return refusal(refused.reason, v2=False)
            call.record.consumer_key = str(request.client_key)
            call.record.token = str(request.resource_owner_key)
            access = self.emulator.exchange(call.record.token)
            user = self.emulator.users[access.user_id]
        return form_response(
            {
                "oauth_token": access.token,
                "oauth_token_secret": access.secret,
                "user_id": user.id,
                "screen_name": user.screen_name,
            }
        )

    def authorize_page(self, call: Call) -> EmulatorResponse:
        return pages.authorize_page(
            self.emulator, call.record.path, call.record.query, call.headers
        )

    def authorize_answer(self, call: Call) -> EmulatorResponse:
        form = dict(parse_qsl(call.body.decode("utf-8", "replace"), keep_blank_values=True))
        return pages.authorize_answer(self.emulator, form)

    # --- API with an access token --------------------------------------------------------------

    def _authenticated(self, call: Call, *, v2: bool) -> XUser | EmulatorResponse:
        """The user whose token signed the request (or is its Bearer token), or X's refusal."""
        token = bearer_token(call.headers)
        if token is not None:
            return self.oauth2.authenticate(call, token)
        try:
            request = self.emulator.verifier.resource(*call.oauth_args())
        except Refused as refused:
            return refusal(refused.reason, v2=v2)
        call.record.consumer_key = str(request.client_key)
        call.record.token = str(request.resource_owner_key)
        with self.emulator.lock:
            access = self.emulator.access_tokens[call.record.token]
            user = self.emulator.users[access.user_id]
        # X authenticates first: an app-wide refusal goes only to a correctly signed request.
        app_refusal = self.emulator.app_refusal(call.method, call.record.path, user.id)
        return user if app_refusal is None else app_refusal

    def users_me(self, call: Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=True)
        if isinstance(user, EmulatorResponse):
            return user
        fields = set(call.record.query.get("user.fields", "").split(","))
        data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.screen_name}
        if "profile_image_url" in fields:
            data["profile_image_url"] = user.profile_image_url
        if "verified" in fields:
            data["verified"] = False
        if "confirmed_email" in fields and self.oauth2.email_granted(call.record):
            data["confirmed_email"] = user.email
        return json_response(200, {"data": data})

    def create_tweet(self, call: Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=True)
        if isinstance(user, EmulatorResponse):
            return user
        emulator = self.emulator
        with emulator.lock:
            now = emulator.clock()
            # The 15-minute window counts every request; the daily caps count posts made,
            # the user's by the user and the app's by every user of the consumer.
            window = emulator.rate_window(user.id, CREATE_POST)
            daily = emulator.windows.current(
                user.id, "posts per day", emulator.daily_post_limit, _DAY, now
            )
            app_daily = emulator.windows.current(
                str(call.record.consumer_key),
                "app posts per day",
                emulator.app_daily_post_limit,
                _DAY,
                now,
            )
            limits = [
                (window, "x-rate-limit"),
                (daily, "x-user-limit-24hour"),
                (app_daily, "x-app-limit-24hour"),
            ]
            if window.remaining == 0 or daily.remaining == 0:
                return _with_limits(problem(429), limits)
            if app_daily.remaining == 0:
                response = _with_limits(problem(429), limits)
                if not emulator.app_cap_reset_header:
                    del response.headers["x-app-limit-24hour-reset"]
                return response
            window.used += 1
            text = _tweet_text(call.body)
            if isinstance(text, EmulatorResponse):
                return _with_limits(text, limits)
            if emulator.is_duplicate(user.id, text):
                return _with_limits(problem(403, DUPLICATE_DETAIL), limits)
            tweet = emulator.add_tweet(user.id, text)
            daily.used += 1
            app_daily.used += 1
            payload = {"data": {"id": tweet.id, "text": text, "edit_history_tweet_ids": [tweet.id]}}
            return _with_limits(json_response(201, payload), limits)

    def delete_tweet(self, call: Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=True)
        if isinstance(user, EmulatorResponse):
            return user
        tweet_id = _captured(_TWEET_PATH, call.record.path)
        with self.emulator.lock:
            tweet = self.emulator.tweets.get(tweet_id)
            if tweet is None:
                return problem(404, f"Could not find tweet with id: [{tweet_id}].")
            if tweet.author_id != user.id:
                return problem(403, "You are not authorized to delete this Tweet.")
            self.emulator.delete_tweet(tweet_id)
        return json_response(200, {"data": {"deleted": True}})

    def user_tweets(self, call: Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=True)
        if isinstance(user, EmulatorResponse):
            return user
        author_id = _captured(_TIMELINE_PATH, call.record.path)
        return timeline(self.emulator.tweets_by(author_id), call.record.query)

    def verify_credentials(self, call: Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=False)
        if isinstance(user, EmulatorResponse):
            return user
        with self.emulator.lock:
            window = self.emulator.rate_window(user.id, VERIFY_CREDENTIALS)
            if window.remaining == 0:
                response = v1_error(429, 88, "Rate limit exceeded")
            else:
                window.used += 1
                response = json_response(
                    200,
                    {
                        "id": int(user.id),
                        "id_str": user.id,
                        "screen_name": user.screen_name,
                        "name": user.name,
                        "profile_image_url_https": user.profile_image_url,
                    },
                )
            response.headers.update(window.headers("x-rate-limit"))
            return response

    def invalidate_token(self, call: Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=False)
        if isinstance(user, EmulatorResponse):
            return user
        token = str(call.record.token)
        self.emulator.revoke(token)
        return json_response(200, {"access_token": token})

    def retired(self, call: Call) -> EmulatorResponse:
        # Verified first: X's published signature example gets this answer only if it verifies.
        user = self._authenticated(call, v2=False)
        return user if isinstance(user, EmulatorResponse) else v1_error(403, 453, RETIRED)

    def avatar(self, call: Call) -> EmulatorResponse:
        user = self.emulator.users.get(_captured(_AVATAR_PATH, call.record.path))
        if user is None:
            return problem(404)
        return pages.avatar(user)

    # --- for people running the emulator as a separate process ---------------------------------

    def state(self, call: Call) -> EmulatorResponse:
        return json_response(200, self.emulator.summary())

    def reset(self, call: Call) -> EmulatorResponse:
        self.emulator.reset()
        return json_response(200, {"reset": True})


def _wait(seconds: float, interrupt: threading.Event | None) -> bool:
    """Sleep; True if cut short because the server is stopping."""
    if interrupt is None:
        time.sleep(seconds)
        return False
    return interrupt.wait(seconds)


def _tweet_text(body: bytes) -> str | EmulatorResponse:
    """The text of a ``POST 2/tweets`` body, or X's 400 for it."""
    try:
        text = json.loads(body or b"null")["text"]
    except (ValueError, TypeError, KeyError):
        return invalid_request("text", "The `text` field must be a string in a JSON object body.")
    if not isinstance(text, str):
        return invalid_request("text", "The `text` field must be a string in a JSON object body.")
    if not text.strip() or len(text) > MAX_TWEET_LENGTH:
        return invalid_request("text", f"Tweet text must be 1 to {MAX_TWEET_LENGTH} characters.")
    return text


def _with_limits(response: EmulatorResponse, limits: list[tuple[Window, str]]) -> EmulatorResponse:
    """The answer with X's headers for each window, by its prefix (``x-rate-limit``...)."""
    for window, prefix in limits:
        response.headers.update(window.headers(prefix))
    return response


def _captured(pattern: re.Pattern[str], path: str) -> str:
    match = pattern.match(path)
    if match is None:  # the router only sends matching paths here
        raise ValueError(path)
    return match.group(1)


def _claimed_identity(
    headers: dict[str, str], query: dict[str, str], body: bytes
) -> tuple[str | None, str | None]:
    """The consumer key and token a request names, wherever its protocol parameters are.

    Not yet verified: this only attributes requests in the log, faulted ones included.
    """
    params: dict[str, str] = dict(query)
    header = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if header.startswith("OAuth "):
        with contextlib.suppress(ValueError, TypeError):
            params.update(parse_authorization_header(header))
    elif b"oauth_consumer_key=" in body:
        params.update(parse_qsl(body.decode("utf-8", "replace")))
    return params.get("oauth_consumer_key"), params.get("oauth_token")
