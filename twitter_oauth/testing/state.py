"""The emulator's state: consumers, people, tokens, posts, rate limits, faults, the request log.

Everything is guarded by one lock, so the threaded server and a test thread can
both use it. No sockets here: :meth:`XEmulator.handle` takes a request as
plain values and returns the response, which also lets a test verify a request
signed for ``https://api.x.com``.
"""

from __future__ import annotations

import itertools
import random
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from twitter_oauth.testing.api import Router
from twitter_oauth.testing.billing import AppAccount
from twitter_oauth.testing.faults import Fault, take
from twitter_oauth.testing.limits import NonceMemory, Windows
from twitter_oauth.testing.oauth import Verifier
from twitter_oauth.testing.oauth2 import OAuth2State
from twitter_oauth.testing.records import (
    AccessTokenRecord,
    EmulatorResponse,
    RecordedRequest,
    RequestTokenRecord,
    XTweet,
    XUser,
)

__all__ = [
    "DEMO_CONSUMER_KEY",
    "DEMO_CONSUMER_SECRET",
    "TEST_CONSUMER_KEY",
    "TEST_CONSUMER_SECRET",
    "EmulatorResponse",
    "Fault",
    "RecordedRequest",
    "XEmulator",
    "XTweet",
    "XUser",
]

DEMO_CONSUMER_KEY = "demo-consumer-key"
DEMO_CONSUMER_SECRET = "demo-consumer-secret"  # noqa: S105 - a public demo value
TEST_CONSUMER_KEY = "test-consumer-key"
TEST_CONSUMER_SECRET = "test-consumer-secret"  # noqa: S105 - a public test value
#: The app's posts per 24 hours by default: enough never to meet in an ordinary test.
APP_DAILY_POST_LIMIT = 1_000_000
#: Request tokens are usable for this long, as at X.
REQUEST_TOKEN_LIFETIME = 15 * 60
SEED_USERS = (
    ("783214", "alice", "Alice Example"),
    ("6253282", "bob", "Bob Example"),
    ("12345678", "carol", "Carol Example"),
)
_ALPHANUMERIC = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


class XEmulator(OAuth2State, AppAccount):
    """X as far as this app needs it, as strict as X about signatures.

    ``consumers`` maps the registered apps' keys to their secrets (default: the demo and
    the test pair). ``callback_urls=None`` approves any ``oauth_callback``; a list
    approves those starting with one of its entries (and ``oob``). ``clock`` is what
    timestamps, token lifetimes and rate-limit windows are measured against; ``seed``
    makes ``inject(..., rate=...)`` repeatable. ``clients`` maps OAuth 2.0 client ids to
    their secrets (``None`` or empty: a public client; default: the demo, the test and a
    public test client); ``redirect_uris`` maps client ids to their approved redirect URI
    prefixes (``None``, or a client it leaves out: any).

    ``app_daily_post_limit`` is the app's 24-hour post cap, counted over every user's
    posts; ``app_cap_reset_header=False`` leaves ``x-app-limit-24hour-reset`` out of
    its 429. ``prices`` overrides entries of X's price table for the cost record
    (:meth:`usage`, :meth:`billed_usd`).
    """

    def __init__(
        self,
        consumers: Mapping[str, str] | None = None,
        *,
        callback_urls: list[str] | None = None,
        post_limit: int = 100,
        post_window: int = 900,
        daily_post_limit: int = 2400,
        app_daily_post_limit: int = APP_DAILY_POST_LIMIT,
        app_cap_reset_header: bool = True,
        prices: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.time,
        timestamp_tolerance: int = 300,
        seed: int | None = None,
        public_url: str = "http://127.0.0.1:8765",
        clients: Mapping[str, str | None] | None = None,
        redirect_uris: Mapping[str, list[str] | None] | None = None,
    ) -> None:
        if consumers is None:
            consumers = {
                DEMO_CONSUMER_KEY: DEMO_CONSUMER_SECRET,
                TEST_CONSUMER_KEY: TEST_CONSUMER_SECRET,
            }
        self.consumers: dict[str, str] = dict(consumers)
        self.callback_urls = callback_urls
        self.post_limit = post_limit
        self.post_window = post_window
        self.daily_post_limit = daily_post_limit
        self.app_daily_post_limit = app_daily_post_limit
        self.app_cap_reset_header = app_cap_reset_header
        self._set_prices(prices)
        self.clock = clock
        self.timestamp_tolerance = timestamp_tolerance
        self.random = random.Random(seed)  # noqa: S311 - fault sampling, not security
        self.lock = threading.RLock()
        self.users: dict[str, XUser] = {}  # by id: the identity that does not change
        self._public_url = public_url
        self._tweet_ids = itertools.count(1_860_000_000_000_000_000)
        self._user_ids = itertools.count(9_000_000)
        self._configure_oauth2(clients, redirect_uris)
        for user_id, screen_name, name in SEED_USERS:
            self.add_user(screen_name, name, user_id)
        self.reset()
        self.verifier = Verifier(self)
        self.router = Router(self)

    def reset(self) -> None:
        """Forget requests, faults, tokens, posts, limits and the app's refusals and bill.

        Consumers, people and prices stay.
        """
        with self.lock:
            self.requests: list[RecordedRequest] = []
            self.faults: list[Fault] = []
            self.request_tokens: dict[str, RequestTokenRecord] = {}
            self.access_tokens: dict[str, AccessTokenRecord] = {}
            self.tweets: dict[str, XTweet] = {}
            self.approvals: set[tuple[str, str]] = set()  # (user id, consumer key)
            self.nonces = NonceMemory()
            self.windows = Windows()
            # (author id, text) -> post id, so a duplicate is found without a scan.
            self._texts: dict[tuple[str, str], str] = {}
            self._reset_oauth2()
            self._reset_account()

    @property
    def public_url(self) -> str:
        """Where clients reach the emulator; avatar URLs point here."""
        return self._public_url

    @public_url.setter
    def public_url(self, url: str) -> None:
        with self.lock:
            old, self._public_url = self._public_url, url
            for user in self.users.values():
                if user.profile_image_url.startswith(f"{old}/avatars/"):
                    user.profile_image_url = self.avatar_url(user)

    # --- people and tokens ---------------------------------------------------------------------

    def add_user(
        self, screen_name: str, name: str | None = None, user_id: str | None = None
    ) -> XUser:
        """A person who can sign in; ``user_id`` defaults to the next free numeric id."""
        with self.lock:
            user = XUser(
                id=user_id or str(next(self._user_ids)),
                screen_name=screen_name,
                name=name or screen_name.title(),
            )
            user.profile_image_url = self.avatar_url(user)
            self.users[user.id] = user
            return user

    def user_by_screen_name(self, screen_name: str) -> XUser | None:
        """Screen names match without regard to case or a leading ``@``, as at X."""
        wanted = screen_name.lstrip("@").lower()
        with self.lock:
            return next((u for u in self.users.values() if u.screen_name.lower() == wanted), None)

    def avatar_url(self, user: XUser) -> str:
        return f"{self._public_url}/avatars/{user.id}.svg"

    def add_access_token(self, consumer_key: str, token: str, secret: str, user: XUser) -> None:
        """Register a token pair as it is, e.g. X's published example credentials."""
        with self.lock:
            self.users.setdefault(user.id, user)
            self.access_tokens[token] = AccessTokenRecord(token, secret, consumer_key, user.id)

    def issue_access_token(self, consumer_key: str, user: XUser) -> tuple[str, str]:
        """The user's live token pair for this app (X hands the same one back), or a new one."""
        with self.lock:
            for record in self.access_tokens.values():
                live = not record.revoked and record.consumer_key == consumer_key
                if live and record.user_id == user.id:
                    return record.token, record.secret
            token = f"{user.id}-{random_token(40)}"
            secret = random_token(45)
            self.add_access_token(consumer_key, token, secret, user)
            return token, secret

    def create_request_token(
        self, consumer_key: str, callback: str, access_type: str | None = None
    ) -> RequestTokenRecord:
        with self.lock:
            record = RequestTokenRecord(
                token=random_token(27),
                secret=random_token(32),
                consumer_key=consumer_key,
                callback=callback,
                created_at=self.clock(),
                access_type=access_type,
            )
            self.request_tokens[record.token] = record
            return record

    def live_request_token(self, token: str) -> RequestTokenRecord | None:
        """The request token if it can still be authorized or exchanged."""
        with self.lock:
            record = self.request_tokens.get(token)
            if record is None or record.used:
                return None
            if self.clock() - record.created_at > REQUEST_TOKEN_LIFETIME:
                return None
            return record

    def authorize(self, request_token: str, user: XUser) -> str:
        """What "Authorize app" does: returns the verifier (a 7-digit PIN for ``oob``).

        Raises ``KeyError`` for a request token that is unknown, used, denied or expired.
        """
        with self.lock:
            record = self.live_request_token(request_token)
            if record is None:
                raise KeyError(f"no live request token {request_token!r}")
            if record.verifier is None or record.user_id != user.id:  # a second click: same PIN
                record.verifier = (
                    "".join(secrets.choice(string.digits) for _ in range(7))
                    if record.callback == "oob"
                    else random_token(32)
                )
            record.user_id = user.id
            self.users.setdefault(user.id, user)
            self.approvals.add((user.id, record.consumer_key))
            return record.verifier

    def deny(self, request_token: str) -> None:
        """What "Cancel" does: the request token can never be exchanged."""
        with self.lock:
            record = self.request_tokens.get(request_token)
            if record is not None:
                record.used = True

    def exchange(self, request_token: str) -> AccessTokenRecord:
        """Consume an authorized request token for the user's access token."""
        with self.lock:
            record = self.request_tokens[request_token]
            if record.user_id is None:  # verification already requires an authorized token
                raise KeyError(f"request token {request_token!r} was never authorized")
            record.used = True
            token, _secret = self.issue_access_token(
                record.consumer_key, self.users[record.user_id]
            )
            return self.access_tokens[token]

    def revoke(self, access_token: str) -> None:
        """From now on the token is refused everywhere (401, code 89)."""
        with self.lock:
            record = self.access_tokens.get(access_token)
            if record is not None:
                record.revoked = True

    def callback_approved(self, callback: str) -> bool:
        if callback == "oob" or self.callback_urls is None:
            return True
        return any(callback.startswith(prefix) for prefix in self.callback_urls)

    def remember_nonce(self, consumer_key: str, timestamp: int, nonce: str) -> bool:
        """False if this app already used this nonce with this timestamp (a replay)."""
        with self.lock:
            return self.nonces.first_use(
                consumer_key, timestamp, nonce, self.clock(), self.timestamp_tolerance
            )

    # --- posts ---------------------------------------------------------------------------------

    def tweets_by(self, user_or_id: XUser | str) -> list[XTweet]:
        """The user's live posts, oldest first."""
        user_id = user_or_id.id if isinstance(user_or_id, XUser) else user_or_id
        with self.lock:
            return [tweet for tweet in self.tweets.values() if tweet.author_id == user_id]

    def is_duplicate(self, user_id: str, text: str) -> bool:
        """Whether the user has a live post with exactly this text (X refuses it, 403)."""
        with self.lock:
            tweet = self.tweets.get(self._texts.get((user_id, text), ""))
            return tweet is not None and (tweet.author_id, tweet.text) == (user_id, text)

    def add_tweet(self, user_id: str, text: str) -> XTweet:
        with self.lock:
            tweet = XTweet(str(next(self._tweet_ids)), user_id, text, self.clock())
            self.tweets[tweet.id] = tweet
            self._texts[(user_id, text)] = tweet.id
            return tweet

    def delete_tweet(self, tweet_id: str) -> None:
        with self.lock:
            tweet = self.tweets.pop(tweet_id)
            self._texts.pop((tweet.author_id, tweet.text), None)

    # --- faults and the log --------------------------------------------------------------------

    def inject(
        self,
        path: str,
        *,
        method: str | None = None,
        status: int | None = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0,
        drop: bool = False,
        garble: bool = False,
        lose_answer: bool = False,
        times: int | None = 1,
        rate: float = 1.0,
        reset_in: int = 60,
    ) -> Fault:
        """Make matching requests fail, before authentication, as an outage or a proxy would.

        ``status`` answers with X's usual body for it (unless ``body`` is given); ``delay``
        holds the request up, then answers normally unless another option applies; ``drop``
        closes the connection unanswered; ``garble`` answers 200 with an unreadable body;
        ``lose_answer`` lets X handle the request (a post is made) and then closes the
        connection before the answer reaches the client.
        ``times=None`` applies until cleared; ``rate`` applies to a random share of matching
        requests; ``reset_in`` is how far ahead an injected 429's ``x-rate-limit-reset`` is.
        """
        fault = Fault(
            path=path,
            method=method,
            status=status,
            body=body.encode() if isinstance(body, str) else body,
            headers=dict(headers or {}),
            delay=delay,
            drop=drop,
            garble=garble,
            lose_answer=lose_answer,
            times=times,
            rate=rate,
            reset_in=reset_in,
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            return take(self.faults, method, path, self.random)

    def count(self, path: str | None = None, method: str | None = None) -> int:
        """How many requests reached the emulator, optionally only those to a path or method."""
        with self.lock:
            return sum(
                1
                for request in self.requests
                if (path is None or request.path == path)
                and (method is None or request.method == method.upper())
            )

    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> EmulatorResponse:
        """Answer one request as X would (``url`` absolute, as the client signed it)."""
        return self.router.handle(method.upper(), url, dict(headers), body)

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": len(self.requests),
                "tweets": len(self.tweets),
                "users": len(self.users),
                "faults": len(self.faults),
                "access_tokens": sum(1 for r in self.access_tokens.values() if not r.revoked),
                "account": self.account(),
                "usage": self.usage(),
                "billed_usd": self.billed_usd(),
            }
