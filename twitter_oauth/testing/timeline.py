"""``GET /2/users/:id/tweets``: a user's posts, newest first, filtered as X filters them.

X refuses a parameter it cannot use with a 400 naming it, rather than guessing: an
out-of-range ``max_results`` is an error, not clamped.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from twitter_oauth.testing.answers import invalid_request, json_response
from twitter_oauth.testing.records import EmulatorResponse, XTweet

MAX_RESULTS = (5, 100)
DEFAULT_MAX_RESULTS = 10
# RFC 3339 as X takes it: "2026-06-01T12:00:00Z", fractional seconds and offsets allowed.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$", re.ASCII
)
_NUMBER = re.compile(r"^\d{1,19}$", re.ASCII)


class InvalidParameter(ValueError):
    def __init__(self, parameter: str, value: str, message: str) -> None:
        super().__init__(message)
        self.parameter, self.value, self.message = parameter, value, message


def timeline(tweets: list[XTweet], query: Mapping[str, str]) -> EmulatorResponse:
    """X's answer for the author's live ``tweets`` and the request's query parameters."""
    try:
        limit = _max_results(query)
        start = _time(query, "start_time")
        end = _time(query, "end_time")
        since_id = _since_id(query)
    except InvalidParameter as invalid:
        return invalid_request(invalid.parameter, invalid.message, invalid.value)
    if start is not None and end is not None and end <= start:
        return invalid_request(
            "end_time", "The `end_time` must be later than the `start_time`.", query["end_time"]
        )
    chosen = [
        tweet
        for tweet in tweets
        if (start is None or tweet.created_at >= start)
        and (end is None or tweet.created_at < end)
        and (since_id is None or int(tweet.id) > since_id)
    ]
    chosen.sort(key=lambda tweet: int(tweet.id), reverse=True)
    fields = set(query.get("tweet.fields", "").split(","))
    data = [_tweet_data(tweet, fields) for tweet in chosen[:limit]]
    meta: dict[str, Any] = {"result_count": len(data)}
    if data:
        meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
    return json_response(200, {"data": data, "meta": meta} if data else {"meta": meta})


def created_at(epoch: float) -> str:
    """X's form of a post's ``created_at``: ``2026-06-01T12:00:00.000Z``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _tweet_data(tweet: XTweet, fields: set[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": tweet.id,
        "text": tweet.text,
        "edit_history_tweet_ids": [tweet.id],
    }
    if "created_at" in fields:
        data["created_at"] = created_at(tweet.created_at)
    if "author_id" in fields:
        data["author_id"] = tweet.author_id
    return data


def _max_results(query: Mapping[str, str]) -> int:
    value = query.get("max_results")
    if value is None:
        return DEFAULT_MAX_RESULTS
    low, high = MAX_RESULTS
    message = f"The `max_results` query parameter value [{value}] is not between {low} and {high}"
    if not _NUMBER.match(value) or not low <= int(value) <= high:
        raise InvalidParameter("max_results", value, message)
    return int(value)


def _time(query: Mapping[str, str], parameter: str) -> float | None:
    value = query.get(parameter)
    if value is None:
        return None
    if _RFC3339.match(value):
        with contextlib.suppress(ValueError):  # a day or an hour out of range
            return datetime.fromisoformat(value).timestamp()
    raise InvalidParameter(
        parameter,
        value,
        f"Invalid '{parameter}':'{value}'. '{parameter}' must be a valid RFC 3339 "
        "date-time (YYYY-MM-DDTHH:mm:ssZ).",
    )


def _since_id(query: Mapping[str, str]) -> int | None:
    value = query.get("since_id")
    if value is None:
        return None
    if not _NUMBER.match(value):
        raise InvalidParameter(
            "since_id", value, f"The `since_id` query parameter value [{value}] is not valid"
        )
    return int(value)
