"""The plain values the emulator keeps and hands out: people, posts, tokens, requests, answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from twitter_oauth.pricing import BilledResource


@dataclass
class XUser:
    """A person at X. ``id`` is the stable identity; ``screen_name`` can change, as at X."""

    id: str
    screen_name: str
    name: str
    profile_image_url: str = ""
    #: Confirmed, and given only to an OAuth 2.0 token granted ``users.email``.
    email: str = ""

    def __post_init__(self) -> None:
        self.email = self.email or f"{self.screen_name.lower()}@example.com"


@dataclass
class XTweet:
    id: str
    author_id: str
    text: str
    #: The emulator's clock when it was posted (epoch seconds).
    created_at: float


@dataclass
class RequestTokenRecord:
    """Temporary credentials: usable once, for 15 minutes, and only after the person said yes."""

    token: str
    secret: str
    consumer_key: str
    callback: str
    created_at: float
    access_type: str | None = None
    verifier: str | None = None
    user_id: str | None = None
    #: Exchanged or denied: either way it can never be exchanged (again).
    used: bool = False


@dataclass
class AccessTokenRecord:
    token: str
    secret: str
    consumer_key: str
    user_id: str
    revoked: bool = False


@dataclass
class RecordedRequest:
    """One request as it arrived, and what the emulator answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0
    #: Taken from the protocol parameters; set even when verification then refused them.
    consumer_key: str | None = None
    token: str | None = None
    #: An injected fault answered, delayed or dropped it.
    fault: bool = False
    #: The emulator's clock when the request arrived, and the answer's headers.
    at: float = 0.0
    response_headers: dict[str, str] = field(default_factory=dict)
    #: X handled it, then the connection closed before the answer reached the client.
    answer_lost: bool = False
    #: Its name in the cost record (``"GET /2/users/:id/tweets"``); None for what is not
    #: a call to X's API (pages, avatars, the emulator's controls).
    endpoint: str | None = None
    #: What X bills for the answer, before its per-day de-duplication of reads.
    billed: list[BilledResource] = field(default_factory=list)


@dataclass
class EmulatorResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Close the connection without answering (a dropped connection).
    drop: bool = False

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)
