"""Exceptions raised by django-twitter-oauth.

Everything X can answer is raised as a :class:`TwitterError` subclass that
callers catch by meaning. A misconfiguration is an
:class:`~django.core.exceptions.ImproperlyConfigured` and deliberately stays
outside that hierarchy, so ``except TwitterError`` never hides it.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ImproperlyConfigured


class TwitterError(Exception):
    """Base of every error that comes from talking to X.

    ``status`` is the HTTP status (``None`` when no response arrived), ``code``
    X's numeric error code when it sent one, and ``detail`` X's own message.
    """

    default_message = "X (Twitter) request failed."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: int | None = None,
        detail: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.url = url
        super().__init__(message or detail or self.default_message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.default_message

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"


class TwitterUnavailable(TwitterError):
    """X could not be reached or answered with a server error (5xx, timeout,
    refused or dropped connection, unreadable body). Safe to retry later."""

    default_message = "X (Twitter) is unavailable."


class TwitterTimeout(TwitterUnavailable):
    """No answer from X within the configured timeout."""

    default_message = "X (Twitter) did not answer in time."


class TwitterBadResponse(TwitterUnavailable):
    """X answered, but with a body we cannot read (garbage, truncated)."""

    default_message = "X (Twitter) sent a response that could not be read."


class TwitterAuthError(TwitterError):
    """X refused the credentials: a bad signature, an unknown or expired
    request token, a wrong verifier, a timestamp out of bounds."""

    default_message = "X (Twitter) could not authenticate the request."


class TwitterTokenRevoked(TwitterAuthError):
    """The access token was revoked or has expired (X's code 89)."""

    default_message = "The X (Twitter) access token is invalid or was revoked."


class TwitterTokenExpired(TwitterError):
    """An OAuth 2.0 access token expired and the account has no refresh token (it was
    linked without ``offline.access``). Not a revocation: signing in again restores it."""

    default_message = (
        "The X (Twitter) access of this account expired after two hours. "
        "Sign in with X again to renew it."
    )


class TwitterForbidden(TwitterError):
    """X understood the request and refused it (403)."""

    default_message = "X (Twitter) refused the request."


class TwitterCallbackNotApproved(TwitterForbidden):
    """``request_token`` answered 403 code 415: the ``oauth_callback`` is not
    one of the callback URLs registered for the app in X's developer portal."""

    default_message = (
        "X refused the callback URL: add it to the app's callback URLs in the X developer portal."
    )


class TwitterDuplicate(TwitterForbidden):
    """X refused a post because the account already posted the same text."""

    default_message = "X (Twitter) refused a duplicate post."


class TwitterRateLimited(TwitterError):
    """X answered 429. ``reset_at`` is when the limit resets (UTC), taken from
    ``x-rate-limit-reset`` (or the 24-hour headers), ``None`` if X did not say."""

    default_message = "X (Twitter) rate limit reached."

    def __init__(self, message: str | None = None, *, reset_at: dt.datetime | None = None, **kw):
        self.reset_at = reset_at
        super().__init__(message, **kw)

    def seconds_until_reset(self, now: dt.datetime | None = None) -> float | None:
        if self.reset_at is None:
            return None
        now = now or dt.datetime.now(dt.UTC)
        return max(0.0, (self.reset_at - now).total_seconds())


class TwitterAppHeld(TwitterError):
    """X refused the whole app, not one account: every post of every account waits.

    ``hold_reason`` names the hold (see :class:`twitter_oauth.models.AppHold`);
    ``until`` is when it ends by itself (UTC), ``None`` when X gave no end, in
    which case one post every ``APP_HOLD_PROBE_INTERVAL`` seconds probes it.
    """

    default_message = "X (Twitter) is refusing requests of this app."
    hold_reason = "app_held"

    def __init__(self, message: str | None = None, *, until: dt.datetime | None = None, **kw):
        self.until = until
        super().__init__(message, **kw)


class TwitterCreditsDepleted(TwitterAppHeld):
    """X answered 402: the app's pay-per-use credits are spent, until someone adds more."""

    default_message = "X (Twitter) refused the request: the app's credits are depleted."
    hold_reason = "credits_depleted"


class TwitterUsageCapped(TwitterAppHeld):
    """X answered 429 ``usage-capped``: the app reached its monthly cap (no reset time)."""

    default_message = "X (Twitter) refused the request: the app's monthly usage cap is reached."
    hold_reason = "usage_capped"


class TwitterAppDailyCapReached(TwitterAppHeld):
    """X answered 429 with ``x-app-limit-24hour-remaining: 0``: the app's 24-hour post cap."""

    default_message = "X (Twitter) refused the post: the app's 24-hour post cap is reached."
    hold_reason = "app_daily_cap"


class TwitterSpendLimitReached(TwitterAppHeld):
    """The call was not made: it would take today's estimated spend past ``DAILY_SPEND_LIMIT``."""

    default_message = "The request was not sent: today's spending limit for X is reached."
    hold_reason = "spend_limit"


class TwitterBadRequest(TwitterError):
    """X refused the request as malformed (400 and other 4xx not above)."""

    default_message = "X (Twitter) refused the request as invalid."


class TwitterNotFound(TwitterBadRequest):
    """X answered 404."""

    default_message = "X (Twitter) could not find that resource."


class TwitterOAuthConfigurationError(ImproperlyConfigured):
    """``TWITTER_OAUTH`` is missing or has an unusable value."""


class TokenRefreshInTransaction(RuntimeError):
    """An OAuth 2.0 refresh was asked for inside an open database transaction (DEBUG only).

    X rotates the refresh token as it answers; if the outer transaction then rolled
    back, the new refresh token would be lost with it and the account could never be
    refreshed again. Call X outside ``transaction.atomic()``.
    """


class SignInError(Exception):
    """A sign-in, linking or unlinking flow ended without success.

    Not a :class:`TwitterError`: X is not at fault. ``message`` is written for
    the person in front of the browser; ``status`` is the HTTP status a view
    should answer with when it renders an error page instead of redirecting.
    """

    status = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class FlowNotFound(SignInError):
    """The callback names a request token this session did not start (or already used)."""


class FlowExpired(SignInError):
    """The request token is older than ``PENDING_FLOW_TTL``."""


class FlowCancelled(SignInError):
    """The person pressed Cancel on X's page."""


class AccountLinkedElsewhere(SignInError):
    """The X account is already linked to another user; it is never moved silently."""

    status = 403


class SignupClosed(SignInError):
    """``SIGNUP_ENABLED`` is off and nobody has linked this X account."""

    status = 403


class InactiveUser(SignInError):
    """The user linked to this X account is not active."""

    status = 403


class LastLoginMethod(SignInError):
    """Unlinking would leave the user with no way to sign in."""

    status = 409


class PostRejected(ValueError):
    """A post refused before it reaches X: empty, too long, or for a revoked account.

    ``message`` is written for the person who wrote the post.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
