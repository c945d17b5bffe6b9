"""The app's settings: one ``TWITTER_OAUTH`` dict, read through :data:`app_settings`.

Every key and its default is listed in :data:`DEFAULTS` and documented once in
the settings reference (``docs/settings.rst``). Values are read from
``django.conf.settings`` on every access, so ``override_settings`` works in tests,
and nothing is ever written back into ``django.conf.settings``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import Resolver404, get_script_prefix, resolve, reverse

from twitter_oauth.pricing import DEFAULT_PRICES

#: Every setting the app reads, with its default.
DEFAULTS: dict[str, Any] = {
    # Credentials of the app registered at X (developer portal, "Keys and tokens").
    "CONSUMER_KEY": "",
    "CONSUMER_SECRET": "",
    # Base of oauth/*, 1.1/* and 2/* endpoints.
    "API_URL": "https://api.x.com",
    # Base of oauth/authorize and oauth/authenticate; None means API_URL.
    "AUTHORIZE_URL": None,
    # What the login and connect views start: "oauth1" or "oauth2" (a button may choose).
    "PROTOCOL": "oauth1",
    # OAuth 2.0 client of the app at X; no secret (None or "") means a public client.
    "CLIENT_ID": "",
    "CLIENT_SECRET": None,
    # Scopes an OAuth 2.0 sign-in asks for.
    "OAUTH2_SCOPES": ["tweet.read", "tweet.write", "users.read", "offline.access"],
    # X's OAuth 2.0 consent page itself (not a base); the token endpoints are under API_URL.
    "OAUTH2_AUTHORIZE_URL": "https://x.com/i/oauth2/authorize",
    # Seconds an unused refresh token is assumed to stay usable at X (X publishes no figure).
    "OAUTH2_REFRESH_TOKEN_LIFETIME": 30 * 86400,
    # Fernet keys for tokens at rest; the first encrypts, all decrypt.
    "TOKEN_KEYS": [],
    # Seconds to wait for X to accept a connection, then for each read.
    "CONNECT_TIMEOUT": 5.0,
    "TIMEOUT": 10.0,
    # Connections kept alive per host by the process-wide HTTP session.
    "POOL_SIZE": 10,
    # Dotted path to a callable returning a requests.Session (proxies, retries, certificates).
    "SESSION_FACTORY": None,
    # Sent as User-Agent; None means "django-twitter-oauth/<version>".
    "USER_AGENT": None,
    # Absolute URL X sends people back to; None builds it from the request and the URL name.
    "CALLBACK_URL": None,
    # x_auth_access_type asked for: "read", "write" or None for the app's own setting at X.
    "ACCESS_TYPE": None,
    # Where a finished sign-in or link goes when there is no safe `next`; None: LOGIN_REDIRECT_URL.
    "LOGIN_REDIRECT_URL": None,
    # Where a cancelled or failed sign-in goes; None: LOGIN_URL.
    "FAILURE_REDIRECT_URL": None,
    # Whether an X identity nobody has linked yet creates a new user.
    "SIGNUP_ENABLED": True,
    # Sign-in flows one session may have open at once (tabs), and how long each stays usable.
    "MAX_PENDING_FLOWS": 5,
    "PENDING_FLOW_TTL": 900,
    # Dotted path to a callable(access_token) -> saved user, for custom user models; None: built in.
    "CREATE_USER": None,
    # Posting: attempts at a post before it fails (outages only; waiting for a rate limit is free).
    "POST_MAX_ATTEMPTS": 6,
    # Backoff between attempts: base seconds, doubled each time, with jitter, capped.
    "POST_RETRY_BACKOFF": 30,
    "POST_RETRY_BACKOFF_MAX": 3600,
    # Seconds a worker holds a post it is sending; past that, the post is taken over.
    "POST_LEASE": 60,
    # Due posts one sender claims at a time (of accounts no other sender is sending for).
    "POST_BATCH_SIZE": 200,
    # Senders the dispatcher starts at most each interval: one per account with due posts.
    "POST_PARALLEL_SENDERS": 8,
    # Seconds between the probes of an app-wide hold X gave no end for (402, usage cap).
    "APP_HOLD_PROBE_INTERVAL": 300,
    # Whether a post whose earlier attempt is uncertain is looked for at X before it is sent again.
    "UNCERTAIN_POST_LOOKUP": True,
    # Seconds after which the profile (name, avatar) is read again; None: read once, at linking.
    "PROFILE_REFRESH_INTERVAL": 86400,
    # X's prices in US dollars by what it bills (post, post_with_url, post_read, user_read).
    "PRICES": DEFAULT_PRICES,
    # Dollars a UTC day may spend at X, as the usage ledger estimates it; None: no limit.
    "DAILY_SPEND_LIMIT": None,
    # Count every request to X in the usage ledger (False: nothing is counted or limited).
    "USAGE_LEDGER": True,
    # Seconds between writes of the ledger's counts; None: only at exit and by flush().
    "USAGE_FLUSH_INTERVAL": 5.0,
}


class AppSettings:
    """Typed, read-through access to ``settings.TWITTER_OAUTH``."""

    @staticmethod
    def _user_settings() -> dict[str, Any]:
        value = getattr(settings, "TWITTER_OAUTH", None)
        return value if isinstance(value, dict) else {}

    def get(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"TWITTER_OAUTH has no setting {name!r}")
        return self._user_settings().get(name, DEFAULTS[name])

    def __getattr__(self, name: str) -> Any:
        if name.isupper():
            return self.get(name)
        raise AttributeError(name)

    @property
    def CONSUMER_KEY(self) -> str:
        return self.get("CONSUMER_KEY") or ""

    @property
    def CONSUMER_SECRET(self) -> str:
        return self.get("CONSUMER_SECRET") or ""

    @property
    def API_URL(self) -> str:
        return str(self.get("API_URL")).rstrip("/")

    @property
    def AUTHORIZE_URL(self) -> str:
        return str(self.get("AUTHORIZE_URL") or self.API_URL).rstrip("/")

    @property
    def PROTOCOL(self) -> str:
        return str(self.get("PROTOCOL") or "oauth1")

    @property
    def CLIENT_ID(self) -> str:
        return self.get("CLIENT_ID") or ""

    @property
    def CLIENT_SECRET(self) -> str:
        return self.get("CLIENT_SECRET") or ""

    @property
    def OAUTH2_SCOPES(self) -> tuple[str, ...]:
        scopes = self.get("OAUTH2_SCOPES") or ()
        if isinstance(scopes, str):
            scopes = scopes.split()
        return tuple(scopes)

    @property
    def OAUTH2_AUTHORIZE_URL(self) -> str:
        return str(self.get("OAUTH2_AUTHORIZE_URL"))

    @property
    def OAUTH2_REFRESH_TOKEN_LIFETIME(self) -> int:
        return int(self.get("OAUTH2_REFRESH_TOKEN_LIFETIME"))

    @property
    def TOKEN_KEYS(self) -> list[str]:
        keys = self.get("TOKEN_KEYS") or []
        if isinstance(keys, str):
            keys = [k for k in (part.strip() for part in keys.split(",")) if k]
        return list(keys)

    @property
    def CONNECT_TIMEOUT(self) -> float:
        return float(self.get("CONNECT_TIMEOUT"))

    @property
    def TIMEOUT(self) -> float:
        return float(self.get("TIMEOUT"))

    @property
    def POOL_SIZE(self) -> int:
        return int(self.get("POOL_SIZE"))

    @property
    def SESSION_FACTORY(self) -> str | None:
        return self.get("SESSION_FACTORY")

    @property
    def CALLBACK_URL(self) -> str | None:
        return self.get("CALLBACK_URL") or None

    @property
    def ACCESS_TYPE(self) -> str | None:
        return self.get("ACCESS_TYPE") or None

    @property
    def LOGIN_REDIRECT_URL(self) -> str:
        return str(self.get("LOGIN_REDIRECT_URL") or resolve_url(settings.LOGIN_REDIRECT_URL))

    @property
    def FAILURE_REDIRECT_URL(self) -> str:
        configured = self.get("FAILURE_REDIRECT_URL")
        if configured:
            return str(configured)
        login_url = str(resolve_url(settings.LOGIN_URL))
        # Django's default LOGIN_URL (/accounts/login/) is a 404 on most sites: a failed
        # sign-in then ends on our own login page instead.
        return login_url if _resolves(login_url) else reverse("twitter_oauth:login")

    @property
    def SIGNUP_ENABLED(self) -> bool:
        return bool(self.get("SIGNUP_ENABLED"))

    @property
    def MAX_PENDING_FLOWS(self) -> int:
        return int(self.get("MAX_PENDING_FLOWS"))

    @property
    def PENDING_FLOW_TTL(self) -> int:
        return int(self.get("PENDING_FLOW_TTL"))

    @property
    def CREATE_USER(self) -> str | None:
        return self.get("CREATE_USER") or None

    @property
    def PROFILE_REFRESH_INTERVAL(self) -> int | None:
        value = self.get("PROFILE_REFRESH_INTERVAL")
        return None if value is None else int(value)

    @property
    def PRICES(self) -> dict[str, float]:
        # A partial table overrides only the prices it names.
        return {**DEFAULT_PRICES, **(self.get("PRICES") or {})}

    @property
    def DAILY_SPEND_LIMIT(self) -> float | None:
        value = self.get("DAILY_SPEND_LIMIT")
        return None if value is None else float(value)

    @property
    def USAGE_LEDGER(self) -> bool:
        return bool(self.get("USAGE_LEDGER"))

    @property
    def USAGE_FLUSH_INTERVAL(self) -> float | None:
        value = self.get("USAGE_FLUSH_INTERVAL")
        return None if value is None else float(value)

    @property
    def POST_MAX_ATTEMPTS(self) -> int:
        return int(self.get("POST_MAX_ATTEMPTS"))

    @property
    def POST_RETRY_BACKOFF(self) -> float:
        return float(self.get("POST_RETRY_BACKOFF"))

    @property
    def POST_RETRY_BACKOFF_MAX(self) -> float:
        return float(self.get("POST_RETRY_BACKOFF_MAX"))

    @property
    def POST_LEASE(self) -> float:
        return float(self.get("POST_LEASE"))

    @property
    def POST_BATCH_SIZE(self) -> int:
        return int(self.get("POST_BATCH_SIZE"))

    @property
    def POST_PARALLEL_SENDERS(self) -> int:
        return int(self.get("POST_PARALLEL_SENDERS"))

    @property
    def APP_HOLD_PROBE_INTERVAL(self) -> float:
        return float(self.get("APP_HOLD_PROBE_INTERVAL"))

    @property
    def UNCERTAIN_POST_LOOKUP(self) -> bool:
        return bool(self.get("UNCERTAIN_POST_LOOKUP"))

    @property
    def USER_AGENT(self) -> str:
        from twitter_oauth import __version__

        return self.get("USER_AGENT") or f"django-twitter-oauth/{__version__}"


def _resolves(url: str) -> bool:
    """Whether ``url`` is a page of this site's URLconf (an absolute URL elsewhere counts)."""
    parts = urlsplit(url)
    if parts.netloc:
        return True
    path, prefix = parts.path, get_script_prefix()
    if path.startswith(prefix):
        path = "/" + path[len(prefix) :]
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


app_settings = AppSettings()
