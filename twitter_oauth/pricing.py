"""What X counts and charges for a request: endpoint names and prices, as X's 2026 table has them.

The single source of what X bills: the site's usage ledger and the emulator's cost record
both name endpoints and price answers through these functions, so they cannot disagree.
Pure functions of their arguments; nothing here reads settings or touches the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from twitter_text import extract_urls

__all__ = [
    "DEFAULT_PRICES",
    "BilledResource",
    "Charge",
    "billed_resources",
    "charge",
    "contains_url",
    "endpoint_name",
    "is_oauth_path",
    "price_key",
    "price_of",
]

#: X's prices in US dollars (docs.x.com "pricing", 2026-06), by what is billed.
DEFAULT_PRICES: dict[str, float] = {
    "post": 0.015,
    "post_with_url": 0.20,
    "post_read": 0.005,
    "user_read": 0.010,
}

CREATE_POST = "POST /2/tweets"
CREATE_POST_WITH_URL = "POST /2/tweets (with URL)"
#: Dollar amounts are rounded to this many decimals, so sums of prices compare exactly.
USD_DECIMALS = 6

_OAUTH_PREFIXES = ("/oauth/", "/2/oauth2/", "/1.1/oauth/")
_ID_SEGMENT = re.compile(r"^\d+$")
# A read's resource kind, from the endpoint name (method, then X's path with ids as ``:id``).
_READS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^GET /2/tweets(/:id)?$"), "post_read"),
    (re.compile(r"^GET /2/tweets/search/(recent|all)$"), "post_read"),
    (
        re.compile(r"^GET /2/users/:id/(tweets|mentions|liked_tweets|timelines/[a-z_]+)$"),
        "post_read",
    ),
    (re.compile(r"^GET /2/users(/me|/:id|/by|/by/username/[^/]+)?$"), "user_read"),
    (re.compile(r"^GET /2/users/:id/(followers|following|blocking|muting)$"), "user_read"),
    (re.compile(r"^GET /2/tweets/:id/(liking_users|retweeted_by)$"), "user_read"),
    (re.compile(r"^GET /1\.1/account/verify_credentials\.json$"), "user_read"),
)


class Charge(NamedTuple):
    """What X bills for one answer: units (resources or posts) and their price."""

    units: int
    usd: float


class BilledResource(NamedTuple):
    """One thing X bills for: its price key (``post_read``...) and X's id for it.

    X bills a read resource once per UTC day, so the id is what de-duplicates reads.
    """

    price_key: str
    resource_id: str


_DOT_BEFORE_LETTER = re.compile(r"\.[^\W\d_]")


def contains_url(text: str) -> bool:
    """Whether X sees a URL in a post's text, as X's own twitter-text parser finds them.

    Bare domains (``example.com``) count; e-mail addresses and hashtags do not.
    """
    # Every URL twitter-text finds has a dot before a letter of its top-level domain; most
    # posts have none, and skip the full parse (about 70 microseconds).
    return bool(_DOT_BEFORE_LETTER.search(text)) and bool(extract_urls(text))


def is_oauth_path(path: str) -> bool:
    """``oauth/*``, ``2/oauth2/*`` and ``1.1/oauth/*``: X's OAuth endpoints, never billed."""
    return _path(path).startswith(_OAUTH_PREFIXES)


def endpoint_name(
    method: str, path: str, *, text: str | None = None, base: str | None = None
) -> str:
    """The ledger's name for a request: ``"GET /2/users/:id/tweets"``.

    ``path`` may be X's path with or without its leading slash, or a whole URL; a query
    string is dropped and numeric ids become ``:id``. ``base`` (e.g. the ``API_URL``
    setting) is taken off the front when ``path`` starts with it, for a base with a path
    of its own. A post (``POST /2/tweets``) whose ``text`` has a URL is
    ``"POST /2/tweets (with URL)"``, which X prices differently.
    """
    base = (base or "").rstrip("/")
    if base and path.startswith(base) and path[len(base) : len(base) + 1] in ("", "/", "?"):
        path = path[len(base) :]
    # The first segment is the API version ("2"), numeric but not an id.
    version, *rest = _path(path).lstrip("/").split("/")
    segments = [version] + [":id" if _ID_SEGMENT.match(segment) else segment for segment in rest]
    name = f"{method.upper()} /{'/'.join(segments)}"
    if name == CREATE_POST and text is not None and contains_url(text):
        return CREATE_POST_WITH_URL
    return name


def price_key(endpoint: str) -> str | None:
    """Which entry of the price table an endpoint's successful answers are billed at, if any."""
    if endpoint == CREATE_POST:
        return "post"
    if endpoint == CREATE_POST_WITH_URL:
        return "post_with_url"
    if is_oauth_path(endpoint.partition(" ")[2]):
        return None
    return next((key for pattern, key in _READS if pattern.match(endpoint)), None)


def billed_resources(endpoint: str, status: int, payload: Any) -> list[BilledResource]:
    """What X bills for one answer: a created post, or each resource a read returned.

    ``payload`` is the answer's JSON, parsed or as bytes or text. Nothing is billed for an
    answer other than 2xx, for OAuth endpoints, for endpoints without a price, and for a
    successful read that returned no data.
    """
    key = price_key(endpoint)
    if key is None or not 200 <= status < 300:
        return []
    payload = _parsed(payload)
    if not isinstance(payload, dict):
        return []
    if key in ("post", "post_with_url"):
        data = payload.get("data")
        return [BilledResource(key, _resource_id(data))] if status == 201 and data else []
    # v1.1 answers the resource itself; v2 wraps it, or a list of them, in ``data``.
    data = payload if endpoint.startswith("GET /1.1/") else payload.get("data")
    items = data if isinstance(data, list) else [data] if data else []
    return [BilledResource(key, _resource_id(item)) for item in items]


def charge(
    endpoint: str, status: int, payload: Any, prices: Mapping[str, float] = DEFAULT_PRICES
) -> Charge:
    """Units and dollars X bills for one answer, before X's per-day de-duplication of reads."""
    resources = billed_resources(endpoint, status, payload)
    return Charge(len(resources), price_of(resources, prices))


def price_of(
    resources: list[BilledResource], prices: Mapping[str, float] = DEFAULT_PRICES
) -> float:
    """The dollars for these resources at these prices, rounded to :data:`USD_DECIMALS`."""
    return round(sum(prices[resource.price_key] for resource in resources), USD_DECIMALS)


def _path(path: str) -> str:
    parts = urlsplit(path)
    path = parts.path if parts.scheme else path.partition("?")[0]
    return "/" + path.lstrip("/")


def _parsed(payload: Any) -> Any:
    if isinstance(payload, bytes | str):
        try:
            return json.loads(payload or "null")
        except ValueError:
            return None
    return payload


def _resource_id(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("id_str") or item.get("id") or "")
    return ""
