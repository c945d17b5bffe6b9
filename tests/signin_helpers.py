"""Helpers that play the person in front of the browser during a sign-in with X."""

from __future__ import annotations

import re
from contextlib import contextmanager
from html import unescape
from urllib.parse import parse_qs, urlsplit

import requests
from django.test import Client

LOGIN_URL = "/accounts/twitter/login/"
CONNECT_URL = "/accounts/twitter/connect/"
CALLBACK_PATH = "/accounts/twitter/callback/"

_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the first form on a page."""
    fields = {}
    for tag in _INPUT.findall(html):
        attrs = {name.lower(): unescape(value) for name, value in _ATTR.findall(tag)}
        if attrs.get("type", "").lower() == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def act_at_x(authorize_url: str, *, screen_name: str = "alice", cancel: bool = False) -> str:
    """Open X's authorize page, choose an identity, press a button; return where X redirects."""
    with requests.Session() as browser:
        page = browser.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text
        data = form_fields(page.text)
        data["action"] = "cancel" if cancel else "authorize"
        data["screen_name"] = screen_name
        answer = browser.post(page.url, data=data, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def callback_path(location: str) -> str:
    """The site-relative part of X's redirect, for Django's test client."""
    parts = urlsplit(location)
    assert parts.path == CALLBACK_PATH, location
    return f"{parts.path}?{parts.query}"


def start(client: Client, url: str = LOGIN_URL, **data: str):
    """POST a login or connect button; return the response (302 to X on success)."""
    return client.post(url, data)


def sign_in(client: Client, *, screen_name: str = "alice", next_url: str | None = None):
    """The whole flow: button, X's page, callback. Returns the callback's response."""
    data = {"next": next_url} if next_url else {}
    started = start(client, LOGIN_URL, **data)
    assert started.status_code == 302, started.content
    location = act_at_x(started["Location"], screen_name=screen_name)
    return client.get(callback_path(location))


def request_token_of(authorize_url: str) -> str:
    return parse_qs(urlsplit(authorize_url).query)["oauth_token"][0]


def messages_of(response) -> list[str]:
    """The messages this request added (earlier unread ones are left out)."""
    return [str(message) for message in response.wsgi_request._messages._queued_messages]


@contextmanager
def receiving(signal):
    """Collect the keyword arguments of every ``signal`` sent inside the block."""
    seen: list[dict] = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signal.connect(receiver)
    try:
        yield seen
    finally:
        signal.disconnect(receiver)
