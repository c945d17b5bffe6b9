"""System checks: a misconfigured ``TWITTER_OAUTH`` is reported by ``manage.py check``.

Ids are stable and documented in the settings reference; never reuse a retired one.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from twitter_oauth.conf import DEFAULTS
from twitter_oauth.pricing import DEFAULT_PRICES

HINT_SETTINGS = "See the settings reference of django-twitter-oauth."
NUMBERS = (
    "CONNECT_TIMEOUT",
    "TIMEOUT",
    "POOL_SIZE",
    "MAX_PENDING_FLOWS",
    "PENDING_FLOW_TTL",
    "POST_MAX_ATTEMPTS",
    "POST_RETRY_BACKOFF",
    "POST_RETRY_BACKOFF_MAX",
    "POST_LEASE",
    "POST_BATCH_SIZE",
    "POST_PARALLEL_SENDERS",
    "APP_HOLD_PROBE_INTERVAL",
    "OAUTH2_REFRESH_TOKEN_LIFETIME",
)
INTEGERS = {
    "OAUTH2_REFRESH_TOKEN_LIFETIME",
    "POOL_SIZE",
    "MAX_PENDING_FLOWS",
    "PENDING_FLOW_TTL",
    "PROFILE_REFRESH_INTERVAL",
    "POST_MAX_ATTEMPTS",
    "POST_BATCH_SIZE",
    "POST_PARALLEL_SENDERS",
}
BOOLEANS = ("SIGNUP_ENABLED", "UNCERTAIN_POST_LOOKUP")
#: Numbers for which None means "never" (no periodic refresh, no timer).
OPTIONAL_NUMBERS = ("PROFILE_REFRESH_INTERVAL", "USAGE_FLUSH_INTERVAL")
ACCESS_TYPES = (None, "read", "write")
PROTOCOLS = ("oauth1", "oauth2")
#: What GET /2/users/me needs, which every OAuth 2.0 sign-in calls.
SIGN_IN_SCOPES = ("tweet.read", "users.read")
#: The ledger shows a request within this many seconds (DESIGN's promise to readers of it).
USAGE_VISIBLE_WITHIN = 10


@register(Tags.security, "twitter_oauth")
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    raw = getattr(settings, "TWITTER_OAUTH", None)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return [
            Error(
                "TWITTER_OAUTH must be a dict.",
                hint=f"Got {type(raw).__name__}. {HINT_SETTINGS}",
                id="twitter_oauth.E008",
            )
        ]
    value = {**DEFAULTS, **raw}
    messages: list[CheckMessage] = []
    messages += _check_credentials(value)
    messages += _check_oauth2(value)
    messages += _check_urls(value)
    messages += _check_token_keys(value)
    messages += _check_numbers(value)
    messages += _check_session_factory(value)
    messages += _check_flow_settings(value)
    messages += _check_usage_settings(value)
    messages += _check_session_cookie()
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        messages.append(
            Warning(
                f"TWITTER_OAUTH has unknown keys: {', '.join(unknown)}.",
                hint=f"A misspelt key is silently ignored. {HINT_SETTINGS}",
                id="twitter_oauth.W002",
            )
        )
    return messages


def _check_credentials(value: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if value["PROTOCOL"] == "oauth2":
        return messages  # the consumer key pair is only needed for OAuth 1.0a buttons
    for name, check_id in (
        ("CONSUMER_KEY", "twitter_oauth.E001"),
        ("CONSUMER_SECRET", "twitter_oauth.E002"),
    ):
        setting = value[name]
        if not isinstance(setting, str) or not setting.strip():
            messages.append(
                Error(
                    f"TWITTER_OAUTH['{name}'] is missing or empty.",
                    hint=(
                        "Copy the API key and secret of your app from the X developer portal "
                        "(Keys and tokens)."
                    ),
                    id=check_id,
                )
            )
    return messages


def _check_oauth2(value: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    protocol = value["PROTOCOL"]
    if protocol not in PROTOCOLS:
        messages.append(
            Error(
                "TWITTER_OAUTH['PROTOCOL'] must be 'oauth1' or 'oauth2'.",
                hint=f"Got {protocol!r}. {HINT_SETTINGS}",
                id="twitter_oauth.E020",
            )
        )
    client_id, client_secret = value["CLIENT_ID"], value["CLIENT_SECRET"]
    if not isinstance(client_id, str) or (protocol == "oauth2" and not client_id.strip()):
        messages.append(
            Error(
                "TWITTER_OAUTH['CLIENT_ID'] is missing or not a string, and PROTOCOL is 'oauth2'."
                if protocol == "oauth2"
                else "TWITTER_OAUTH['CLIENT_ID'] must be a string.",
                hint=(
                    "Copy the OAuth 2.0 Client ID of your app from the X developer portal "
                    "(Keys and tokens)."
                ),
                id="twitter_oauth.E021",
            )
        )
    if client_secret is not None and not isinstance(client_secret, str):
        messages.append(
            Error(
                "TWITTER_OAUTH['CLIENT_SECRET'] must be a string, or None for a public client.",
                hint=f"Got {type(client_secret).__name__}. {HINT_SETTINGS}",
                id="twitter_oauth.E022",
            )
        )
    messages += _check_scopes(value["OAUTH2_SCOPES"])
    url = value["OAUTH2_AUTHORIZE_URL"]
    problem = _url_problem(url)
    if problem:
        messages.append(
            Error(
                f"TWITTER_OAUTH['OAUTH2_AUTHORIZE_URL'] is not usable: {problem}.",
                hint=f"Got {url!r}. X's page is https://x.com/i/oauth2/authorize.",
                id="twitter_oauth.E024",
            )
        )
    return messages


def _check_scopes(scopes: Any) -> list[CheckMessage]:
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(scopes, list | tuple) or not all(
        isinstance(scope, str) and scope and not any(c.isspace() for c in scope) for scope in scopes
    ):
        return [
            Error(
                "TWITTER_OAUTH['OAUTH2_SCOPES'] must be a list of scope names.",
                hint=f"Got {scopes!r}. {HINT_SETTINGS}",
                id="twitter_oauth.E023",
            )
        ]
    missing = [scope for scope in SIGN_IN_SCOPES if scope not in scopes]
    if missing:
        return [
            Error(
                f"TWITTER_OAUTH['OAUTH2_SCOPES'] lacks {', '.join(missing)}.",
                hint=(
                    "Sign-in reads GET /2/users/me, which X allows with users.read and tweet.read."
                ),
                id="twitter_oauth.E023",
            )
        ]
    if "offline.access" not in scopes:
        return [
            Warning(
                "TWITTER_OAUTH['OAUTH2_SCOPES'] lacks offline.access: X gives no refresh token.",
                hint=(
                    "OAuth 2.0 access tokens expire after two hours; without a refresh token, "
                    "posting needs the person to sign in again."
                ),
                id="twitter_oauth.W020",
            )
        ]
    return []


def _url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return "it must be a non-empty string"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "it must be an absolute http(s) URL such as https://api.x.com"
    if parts.query or parts.fragment:
        return "it must not have a query string or fragment"
    return None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_urls(value: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name, check_id in (
        ("API_URL", "twitter_oauth.E003"),
        ("AUTHORIZE_URL", "twitter_oauth.E004"),
    ):
        url = value[name]
        if name == "AUTHORIZE_URL" and url is None:
            continue
        problem = _url_problem(url)
        if problem:
            messages.append(
                Error(
                    f"TWITTER_OAUTH['{name}'] is not usable: {problem}.",
                    hint=f"Got {url!r}. {HINT_SETTINGS}",
                    id=check_id,
                )
            )
        elif _plain_http_elsewhere(url):
            messages.append(
                Warning(
                    f"TWITTER_OAUTH['{name}'] uses plain http on a host that is not loopback.",
                    hint="Tokens and signatures would cross the network in clear; use https.",
                    id="twitter_oauth.W003",
                )
            )
    return messages


def _plain_http_elsewhere(url: str) -> bool:
    return urlsplit(url).scheme == "http" and not _is_loopback(url)


def _fernet_key_problem(key: Any) -> str | None:
    if not isinstance(key, str | bytes):
        return f"{type(key).__name__} is not a key"
    try:
        decoded = base64.urlsafe_b64decode(key)
    except (binascii.Error, ValueError):
        return "not url-safe base64"
    if len(decoded) != 32:
        return f"decodes to {len(decoded)} bytes instead of 32"
    return None


def _check_token_keys(value: dict[str, Any]) -> list[CheckMessage]:
    keys = value["TOKEN_KEYS"]
    if isinstance(keys, str):
        keys = [part.strip() for part in keys.split(",") if part.strip()]
    if not isinstance(keys, list | tuple):
        return [
            Error(
                "TWITTER_OAUTH['TOKEN_KEYS'] must be a list of Fernet keys.",
                hint=f"Got {type(keys).__name__}. {HINT_SETTINGS}",
                id="twitter_oauth.E005",
            )
        ]
    if not keys:
        return [
            Warning(
                "TWITTER_OAUTH['TOKEN_KEYS'] is empty: access tokens are encrypted with a key "
                "derived from SECRET_KEY.",
                hint=(
                    "Changing SECRET_KEY would make stored tokens unreadable. Generate a key with "
                    "`python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'` and list it in TOKEN_KEYS."
                ),
                id="twitter_oauth.W001",
            )
        ]
    messages: list[CheckMessage] = []
    for position, key in enumerate(keys):
        problem = _fernet_key_problem(key)
        if problem:
            messages.append(
                Error(
                    f"TWITTER_OAUTH['TOKEN_KEYS'][{position}] is not a usable Fernet key: "
                    f"{problem}.",
                    hint="Generate one with cryptography's Fernet.generate_key().",
                    id="twitter_oauth.E005",
                )
            )
    return messages


def _check_numbers(value: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name in NUMBERS + OPTIONAL_NUMBERS:
        number = value[name]
        if number is None and name in OPTIONAL_NUMBERS:
            continue
        integral = name in INTEGERS
        valid_type = isinstance(number, int) if integral else isinstance(number, int | float)
        if isinstance(number, bool) or not valid_type or number <= 0:
            kind = "a positive whole number" if integral else "a positive number of seconds"
            if name in OPTIONAL_NUMBERS:
                kind += " or None"
            messages.append(
                Error(
                    f"TWITTER_OAUTH['{name}'] must be {kind}.",
                    hint=f"Got {number!r}. {HINT_SETTINGS}",
                    id="twitter_oauth.E006",
                )
            )
    if not messages and value["POST_LEASE"] <= value["CONNECT_TIMEOUT"] + value["TIMEOUT"]:
        messages.append(
            Warning(
                "TWITTER_OAUTH['POST_LEASE'] is not longer than CONNECT_TIMEOUT + TIMEOUT.",
                hint=(
                    "A post still waiting for X's answer could be taken over by another worker; "
                    "the lookup at X keeps it from posting twice, but the lease should outlast "
                    "one call."
                ),
                id="twitter_oauth.W005",
            )
        )
    return messages


def _callable_problem(path: Any) -> str | None:
    try:
        if not callable(import_string(path)):
            return f"{path} is not callable"
    except (ImportError, TypeError, ValueError) as exc:
        return str(exc)
    return None


def _check_session_factory(value: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name, hint in (
        ("SESSION_FACTORY", "a callable that returns a requests.Session"),
        ("CREATE_USER", "a callable that takes X's access token and returns a saved user"),
    ):
        problem = value[name] is not None and _callable_problem(value[name])
        if problem:
            messages.append(
                Error(
                    f"TWITTER_OAUTH['{name}'] cannot be used: {problem}.",
                    hint=f"Give the dotted path of {hint}.",
                    id="twitter_oauth.E007",
                )
            )
    return messages


def _check_flow_settings(value: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if value["ACCESS_TYPE"] not in ACCESS_TYPES:
        messages.append(
            Error(
                "TWITTER_OAUTH['ACCESS_TYPE'] must be None, 'read' or 'write'.",
                hint=(
                    f"Got {value['ACCESS_TYPE']!r}. None uses the permissions set for the app at X."
                ),
                id="twitter_oauth.E009",
            )
        )
    callback = value["CALLBACK_URL"]
    if callback is not None:
        problem = _url_problem(callback) if isinstance(callback, str) else "it must be a string"
        if problem:
            messages.append(
                Error(
                    f"TWITTER_OAUTH['CALLBACK_URL'] is not usable: {problem}.",
                    hint="Give the absolute URL of the callback view, as registered at X.",
                    id="twitter_oauth.E010",
                )
            )
    for name in ("LOGIN_REDIRECT_URL", "FAILURE_REDIRECT_URL"):
        if value[name] is not None and not (isinstance(value[name], str) and value[name]):
            messages.append(
                Error(
                    f"TWITTER_OAUTH['{name}'] must be a URL, a URL name or None.",
                    hint=f"Got {value[name]!r}. {HINT_SETTINGS}",
                    id="twitter_oauth.E011",
                )
            )
    for name in BOOLEANS:
        if not isinstance(value[name], bool):
            messages.append(
                Error(
                    f"TWITTER_OAUTH['{name}'] must be True or False.",
                    hint=f"Got {value[name]!r}.",
                    id="twitter_oauth.E012",
                )
            )
    return messages


def _check_usage_settings(value: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    prices = value["PRICES"]
    problem = _prices_problem(prices)
    if problem:
        messages.append(
            Error(
                f"TWITTER_OAUTH['PRICES'] is not usable: {problem}.",
                hint=f"Give dollars by what X bills: {', '.join(DEFAULT_PRICES)}. {HINT_SETTINGS}",
                id="twitter_oauth.E025",
            )
        )
    limit = value["DAILY_SPEND_LIMIT"]
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0
    ):
        messages.append(
            Error(
                "TWITTER_OAUTH['DAILY_SPEND_LIMIT'] must be a positive number of dollars or None.",
                hint=f"Got {limit!r}. {HINT_SETTINGS}",
                id="twitter_oauth.E026",
            )
        )
    if not isinstance(value["USAGE_LEDGER"], bool):
        messages.append(
            Error(
                "TWITTER_OAUTH['USAGE_LEDGER'] must be True or False.",
                hint=f"Got {value['USAGE_LEDGER']!r}.",
                id="twitter_oauth.E027",
            )
        )
    elif limit is not None and not value["USAGE_LEDGER"]:
        messages.append(
            Error(
                "TWITTER_OAUTH['DAILY_SPEND_LIMIT'] is set but USAGE_LEDGER is off.",
                hint="The limit is enforced from the ledger's counts: turn USAGE_LEDGER on.",
                id="twitter_oauth.E027",
            )
        )
    interval = value["USAGE_FLUSH_INTERVAL"]
    if isinstance(interval, int | float) and interval > USAGE_VISIBLE_WITHIN:
        messages.append(
            Warning(
                f"TWITTER_OAUTH['USAGE_FLUSH_INTERVAL'] is over {USAGE_VISIBLE_WITHIN} seconds.",
                hint=(
                    "Requests take that long to show in the ledger, and a crash loses that many "
                    "seconds of counts."
                ),
                id="twitter_oauth.W021",
            )
        )
    return messages


def _prices_problem(prices: Any) -> str | None:
    if not isinstance(prices, dict):
        return f"it must be a dict, not {type(prices).__name__}"
    unknown = sorted(set(prices) - set(DEFAULT_PRICES))
    if unknown:
        return f"unknown keys {', '.join(map(str, unknown))}"
    for key, price in prices.items():
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            return f"{key} must be a number of dollars, 0 or more (got {price!r})"
    return None


def _check_session_cookie() -> list[CheckMessage]:
    if str(settings.SESSION_COOKIE_SAMESITE).lower() != "strict":
        return []
    return [
        Warning(
            "SESSION_COOKIE_SAMESITE is 'Strict': browsers drop the session cookie when X "
            "redirects back, so sign-in with X cannot finish.",
            hint="Use Django's default, 'Lax'.",
            id="twitter_oauth.W004",
        )
    ]
