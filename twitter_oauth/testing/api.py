"""The emulator's endpoints, with X's request and response formats."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

from twitter_oauth.testing import pages
from twitter_oauth.testing.answers import (
    DUPLICATE_DETAIL,
    RETIRED,
    fault_response,
    form_response,
    json_response,
    problem,
    refusal,
    v1_error,
)
from twitter_oauth.testing.oauth import Refused
from twitter_oauth.testing.state import EmulatorResponse, RecordedRequest, XTweet

if TYPE_CHECKING:
    from twitter_oauth.testing.state import XEmulator, XUser

MAX_TWEET_LENGTH = 280
_TWEET_PATH = re.compile(r"^/2/tweets/(\d+)$")
_TIMELINE_PATH = re.compile(r"^/2/users/(\d+)/tweets$")
_AVATAR_PATH = re.compile(r"^/avatars/(\d+)\.svg$")


# --- routing -----------------------------------------------------------------------------------


class Router:
    def __init__(self, emulator: XEmulator) -> None:
        self.emulator = emulator
        self.routes: dict[tuple[str, str], Callable[..., EmulatorResponse]] = {
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
        }

    def handle(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> EmulatorResponse:
        parts = urlsplit(url)
        record = RecordedRequest(
            method=method,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            at=self.emulator.clock(),
        )
        # Known before verification, so a request a fault answers is still attributed.
        record.consumer_key, record.token = _claimed_identity(headers)
        with self.emulator.lock:
            self.emulator.requests.append(record)
        fault = self.emulator.take_fault(method, parts.path)
        if fault is not None:
            record.fault = True
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop or fault.garble or fault.status or fault.body is not None:
                response = fault_response(fault, self.emulator)
                record.status, record.response_headers = response.status, response.headers
                return response
        call = _Call(self.emulator, method, url, headers, body, record)
        handler = self.routes.get((method, parts.path)) or self._pattern_route(method, parts.path)
        response = (
            handler(call) if handler else v1_error(404, 34, "Sorry, that page does not exist")
        )
        record.status = response.status
        return response

    def _pattern_route(self, method: str, path: str) -> Callable[..., EmulatorResponse] | None:
        if method == "DELETE" and _TWEET_PATH.match(path):
            return self.delete_tweet
        if method == "GET" and _TIMELINE_PATH.match(path):
            return self.user_tweets
        if method == "GET" and _AVATAR_PATH.match(path):
            return self.avatar
        return None

    # --- OAuth ---------------------------------------------------------------------------------

    def request_token(self, call: _Call) -> EmulatorResponse:
        try:
            request = self.emulator.verifier.request_token(*call.oauth_args())
        except Refused as refused:
            return refusal(refused.reason, v2=False)
        call.record.consumer_key = str(request.client_key)
        record = self.emulator.create_request_token(
            call.record.consumer_key, str(request.redirect_uri)
        )
        return form_response(
            {
                "oauth_token": record.token,
                "oauth_token_secret": record.secret,
                "oauth_callback_confirmed": "true",
            }
        )

    def access_token(self, call: _Call) -> EmulatorResponse:
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

    def authorize_page(self, call: _Call) -> EmulatorResponse:
        return pages.authorize_page(
            self.emulator, call.record.path, call.record.query, call.headers
        )

    def authorize_answer(self, call: _Call) -> EmulatorResponse:
        form = dict(parse_qsl(call.body.decode("utf-8", "replace"), keep_blank_values=True))
        return pages.authorize_answer(self.emulator, form)

    # --- API with an access token --------------------------------------------------------------

    def _authenticated(self, call: _Call, *, v2: bool) -> XUser | EmulatorResponse:
        """The user whose token signed the request, or X's refusal."""
        try:
            request = self.emulator.verifier.resource(*call.oauth_args())
        except Refused as refused:
            return refusal(refused.reason, v2=v2)
        call.record.consumer_key = str(request.client_key)
        call.record.token = str(request.resource_owner_key)
        access = self.emulator.access_tokens[call.record.token]
        return self.emulator.users[access.user_id]

    def users_me(self, call: _Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=True)
        if isinstance(user, EmulatorResponse):
            return user
        fields = set(call.record.query.get("user.fields", "").split(","))
        data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.screen_name}
        if "profile_image_url" in fields:
            data["profile_image_url"] = self.emulator.avatar_url(user)
        if "verified" in fields:
            data["verified"] = False
        return json_response(200, {"data": data})

    def create_tweet(self, call: _Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=True)
        if isinstance(user, EmulatorResponse):
            return user
        try:
            text = json.loads(call.body or b"null")["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, TypeError, KeyError):
            return _invalid("text", "The `text` field must be a string in a JSON object body.")
        if not text.strip() or len(text) > MAX_TWEET_LENGTH:
            return _invalid("text", f"Tweet text must be 1 to {MAX_TWEET_LENGTH} characters.")
        emulator = self.emulator
        with emulator.lock:
            allowed, window = emulator.take_from_window(
                user.id, "POST /2/tweets", emulator.post_limit, emulator.post_window
            )
            daily_ok, daily = True, dict[str, str]()
            if allowed:
                daily_ok, daily = emulator.take_from_window(
                    user.id, "POST /2/tweets daily", emulator.daily_post_limit, 86400
                )
            headers = {f"x-rate-limit-{name}": value for name, value in window.items()}
            headers.update({f"x-user-limit-24hour-{name}": value for name, value in daily.items()})
            if not (allowed and daily_ok):
                return _with_headers(problem(429), headers)
            if any(t.text == text for t in emulator.tweets_by(user.id)):
                return _with_headers(problem(403, DUPLICATE_DETAIL), headers)
            tweet_id = emulator.next_tweet_id()
            emulator.tweets[tweet_id] = XTweet(tweet_id, user.id, text, emulator.clock())
        payload = {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}
        return json_response(201, payload, headers)

    def delete_tweet(self, call: _Call) -> EmulatorResponse:
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
            del self.emulator.tweets[tweet_id]
        return json_response(200, {"data": {"deleted": True}})

    def user_tweets(self, call: _Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=True)
        if isinstance(user, EmulatorResponse):
            return user
        author_id = _captured(_TIMELINE_PATH, call.record.path)
        try:
            limit = max(5, min(100, int(call.record.query.get("max_results", "10"))))
        except ValueError:
            return _invalid("max_results", "max_results must be a number from 5 to 100.")
        newest = sorted(self.emulator.tweets_by(author_id), key=lambda t: int(t.id), reverse=True)
        data = [{"id": t.id, "text": t.text} for t in newest[:limit]]
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
        return json_response(200, {"data": data, "meta": meta} if data else {"meta": meta})

    def verify_credentials(self, call: _Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=False)
        if isinstance(user, EmulatorResponse):
            return user
        return json_response(
            200,
            {
                "id": int(user.id),
                "id_str": user.id,
                "screen_name": user.screen_name,
                "name": user.name,
                "profile_image_url_https": self.emulator.avatar_url(user),
            },
        )

    def invalidate_token(self, call: _Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=False)
        if isinstance(user, EmulatorResponse):
            return user
        token = str(call.record.token)
        self.emulator.revoke(token)
        return json_response(200, {"access_token": token})

    def retired(self, call: _Call) -> EmulatorResponse:
        user = self._authenticated(call, v2=False)
        return user if isinstance(user, EmulatorResponse) else v1_error(403, 453, RETIRED)

    def avatar(self, call: _Call) -> EmulatorResponse:
        user = self.emulator.users.get(_captured(_AVATAR_PATH, call.record.path))
        if user is None:
            return problem(404)
        return pages.avatar(user)

    # --- for people running the emulator as a separate process ---------------------------------

    def state(self, call: _Call) -> EmulatorResponse:
        return json_response(200, self.emulator.summary())

    def reset(self, call: _Call) -> EmulatorResponse:
        self.emulator.reset()
        return json_response(200, {"reset": True})


class _Call:
    """One request as the handlers see it."""

    def __init__(self, emulator, method, url, headers, body, record) -> None:
        self.emulator, self.method, self.url = emulator, method, url
        self.headers, self.body, self.record = headers, body, record

    def oauth_args(self) -> tuple[str, str, str, dict[str, str]]:
        return self.url, self.method, self.body.decode("utf-8", "replace"), self.headers


def _captured(pattern: re.Pattern[str], path: str) -> str:
    match = pattern.match(path)
    if match is None:  # the router only sends matching paths here
        raise ValueError(path)
    return match.group(1)


def _claimed_identity(headers: dict[str, str]) -> tuple[str | None, str | None]:
    """The consumer key and token an Authorization header names (not yet verified)."""
    header = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not header.startswith("OAuth "):
        return None, None
    try:
        params = dict(parse_authorization_header(header))
    except (ValueError, TypeError):
        return None, None
    return params.get("oauth_consumer_key"), params.get("oauth_token")


def _invalid(parameter: str, message: str) -> EmulatorResponse:
    return json_response(
        400,
        {
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


def _with_headers(response: EmulatorResponse, headers: dict[str, str]) -> EmulatorResponse:
    response.headers.update(headers)
    return response
