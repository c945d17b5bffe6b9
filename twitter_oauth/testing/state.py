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
from dataclasses import dataclass, field
from typing import Any

DEMO_CONSUMER_KEY = "demo-consumer-key"
DEMO_CONSUMER_SECRET = "demo-consumer-secret"  # noqa: S105 - a public demo value
TEST_CONSUMER_KEY = "test-consumer-key"
TEST_CONSUMER_SECRET = "test-consumer-secret"  # noqa: S105 - a public test value
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


@dataclass
class XUser:
    id: str
    screen_name: str
    name: str


@dataclass
class XTweet:
    id: str
    author_id: str
    text: str
    created_at: float


@dataclass
class RequestTokenRecord:
    token: str
    secret: str
    consumer_key: str
    callback: str
    created_at: float
    verifier: str | None = None
    user_id: str | None = None
    used: bool = False


@dataclass
class AccessTokenRecord:
    token: str
    secret: str
    consumer_key: str
    user_id: str
    revoked: bool = False


@dataclass
class Fault:
    """What to do instead of (or before) answering a matching request."""

    path: str
    method: str | None = None
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    garble: bool = False
    times: int | None = 1
    rate: float = 1.0
    reset_in: int = 60
    applied: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return path == self.path or (self.path.endswith("/") and path.startswith(self.path))


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0
    consumer_key: str | None = None
    token: str | None = None
    fault: bool = False
    #: The emulator's clock when the request arrived, and the answer's headers.
    at: float = 0.0
    response_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class EmulatorResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Close the connection without answering (a dropped connection).
    drop: bool = False


@dataclass
class _Window:
    started: float
    used: int = 0


class XEmulator:
    """X as far as this app needs it, as strict as X about signatures."""

    def __init__(
        self,
        consumers: Mapping[str, str] | None = None,
        *,
        callback_urls: list[str] | None = None,
        post_limit: int = 100,
        post_window: int = 900,
        daily_post_limit: int = 2400,
        clock: Callable[[], float] = time.time,
        timestamp_tolerance: int = 300,
        seed: int | None = None,
        public_url: str = "http://127.0.0.1:8765",
    ) -> None:
        from twitter_oauth.testing.api import Router
        from twitter_oauth.testing.oauth import Verifier

        self.consumers: dict[str, str] = dict(
            consumers
            or {DEMO_CONSUMER_KEY: DEMO_CONSUMER_SECRET, TEST_CONSUMER_KEY: TEST_CONSUMER_SECRET}
        )
        self.callback_urls = callback_urls
        self.post_limit = post_limit
        self.post_window = post_window
        self.daily_post_limit = daily_post_limit
        self.clock = clock
        self.timestamp_tolerance = timestamp_tolerance
        self.random = random.Random(seed)  # noqa: S311 - fault sampling, not security
        self.public_url = public_url
        self.lock = threading.RLock()
        self.users: dict[str, XUser] = {}
        self._ids = itertools.count(1_860_000_000_000_000_000)
        self._user_ids = itertools.count(9_000_000)
        for user_id, screen_name, name in SEED_USERS:
            self.add_user(screen_name, name, user_id)
        self.reset()
        self.verifier = Verifier(self)
        self.router = Router(self)

    def reset(self) -> None:
        """Forget requests, faults, tokens, posts and limits; keep consumers and people."""
        with self.lock:
            self.requests: list[RecordedRequest] = []
            self.faults: list[Fault] = []
            self.request_tokens: dict[str, RequestTokenRecord] = {}
            self.access_tokens: dict[str, AccessTokenRecord] = {}
            self.tweets: dict[str, XTweet] = {}
            self.approvals: set[tuple[str, str]] = set()
            self._nonces: dict[tuple[str, int, str, str], float] = {}
            self._windows: dict[tuple[str, str], _Window] = {}

    # --- people and tokens ---------------------------------------------------------------------

    def add_user(
        self, screen_name: str, name: str | None = None, user_id: str | None = None
    ) -> XUser:
        with self.lock:
            user = XUser(
                id=user_id or str(next(self._user_ids)),
                screen_name=screen_name,
                name=name or screen_name.title(),
            )
            self.users[user.id] = user
            return user

    def user_by_screen_name(self, screen_name: str) -> XUser | None:
        with self.lock:
            wanted = screen_name.lower()
            return next((u for u in self.users.values() if u.screen_name.lower() == wanted), None)

    def avatar_url(self, user: XUser) -> str:
        return f"{self.public_url}/avatars/{user.id}.svg"

    def add_access_token(self, consumer_key: str, token: str, secret: str, user: XUser) -> None:
        with self.lock:
            self.access_tokens[token] = AccessTokenRecord(token, secret, consumer_key, user.id)

    def issue_access_token(self, consumer_key: str, user: XUser) -> tuple[str, str]:
        """The user's live token for this consumer (X hands the same one back), or a new one."""
        with self.lock:
            for record in self.access_tokens.values():
                if (record.consumer_key, record.user_id) == (
                    consumer_key,
                    user.id,
                ) and not record.revoked:
                    return record.token, record.secret
            token = f"{user.id}-{random_token(40)}"
            secret = random_token(45)
            self.add_access_token(consumer_key, token, secret, user)
            return token, secret

    def create_request_token(self, consumer_key: str, callback: str) -> RequestTokenRecord:
        with self.lock:
            record = RequestTokenRecord(
                token=random_token(27),
                secret=random_token(32),
                consumer_key=consumer_key,
                callback=callback,
                created_at=self.clock(),
            )
            self.request_tokens[record.token] = record
            return record

    def live_request_token(self, token: str) -> RequestTokenRecord | None:
        with self.lock:
            record = self.request_tokens.get(token)
            if record is None or record.used:
                return None
            if self.clock() - record.created_at > REQUEST_TOKEN_LIFETIME:
                return None
            return record

    def authorize(self, request_token: str, user: XUser) -> str:
        """What "Authorize app" does: returns the verifier (a 7-digit PIN for ``oob``)."""
        with self.lock:
            record = self.live_request_token(request_token)
            if record is None:
                raise KeyError(f"no live request token {request_token!r}")
            record.user_id = user.id
            record.verifier = (
                "".join(secrets.choice(string.digits) for _ in range(7))
                if record.callback == "oob"
                else random_token(32)
            )
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
            if record.user_id is None:  # verification already required an authorized token
                raise KeyError(f"request token {request_token!r} was never authorized")
            record.used = True
            token, _secret = self.issue_access_token(
                record.consumer_key, self.users[record.user_id]
            )
            return self.access_tokens[token]

    def revoke(self, access_token: str) -> None:
        with self.lock:
            record = self.access_tokens.get(access_token)
            if record is not None:
                record.revoked = True

    def callback_approved(self, callback: str) -> bool:
        if callback == "oob" or self.callback_urls is None:
            return True
        return any(callback.startswith(prefix) for prefix in self.callback_urls)

    def remember_nonce(self, consumer_key: str, timestamp: int, nonce: str, token: str) -> bool:
        """False if this nonce was already used with this timestamp (a replay)."""
        with self.lock:
            now = self.clock()
            key = (consumer_key, timestamp, nonce, token)
            if key in self._nonces:
                return False
            if len(self._nonces) > 10_000:  # outside the window a replay fails on its timestamp
                horizon = now - 2 * self.timestamp_tolerance
                self._nonces = {k: t for k, t in self._nonces.items() if t >= horizon}
            self._nonces[key] = now
            return True

    # --- posts and limits ----------------------------------------------------------------------

    def tweets_by(self, user_or_id: XUser | str) -> list[XTweet]:
        user_id = user_or_id.id if isinstance(user_or_id, XUser) else user_or_id
        with self.lock:
            return [tweet for tweet in self.tweets.values() if tweet.author_id == user_id]

    def next_tweet_id(self) -> str:
        with self.lock:
            return str(next(self._ids))

    def take_from_window(
        self, user_id: str, endpoint: str, limit: int, length: int
    ) -> tuple[bool, dict[str, str]]:
        """Count one call against a fixed window; returns (allowed, X's headers for it)."""
        with self.lock:
            now = self.clock()
            window = self._windows.get((user_id, endpoint))
            if window is None or now >= window.started + length:
                window = self._windows[(user_id, endpoint)] = _Window(started=now)
            allowed = window.used < limit
            if allowed:
                window.used += 1
            return allowed, {
                "limit": str(limit),
                "remaining": str(max(0, limit - window.used)),
                "reset": str(int(window.started + length)),
            }

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
        times: int | None = 1,
        rate: float = 1.0,
        reset_in: int = 60,
    ) -> Fault:
        """Make matching requests fail. ``times=None``: until cleared; ``rate``: a share of them."""
        fault = Fault(
            path=path,
            method=method,
            status=status,
            body=body.encode() if isinstance(body, str) else body,
            headers=dict(headers or {}),
            delay=delay,
            drop=drop,
            garble=garble,
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
            for fault in self.faults:
                if not fault.matches(method, path):
                    continue
                if fault.rate < 1.0 and self.random.random() >= fault.rate:
                    continue
                fault.applied += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
            return None

    def count(self, path: str | None = None, method: str | None = None) -> int:
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
            }
