"""The OAuth 1.0a dance, as the views drive it: start a flow, then finish it at the callback.

Open flows live in the Django session, keyed by their request token, so several
tabs can sign in at once. The request-token secret is stored encrypted (a
signed-cookie session would otherwise show it to the browser). A flow is
removed from the session before anything else happens at the callback, so a
replayed callback finds nothing.
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from twitter_oauth import crypto
from twitter_oauth.client import RequestToken, TwitterClient
from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import FlowExpired, FlowNotFound, SignInError
from twitter_oauth.services import accounts

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger("twitter_oauth.flows")

SESSION_KEY = "twitter_oauth_flows"
LOGIN: Literal["login"] = "login"
CONNECT: Literal["connect"] = "connect"
#: Longest `next` kept; anything longer is not a page of this site worth returning to.
MAX_NEXT_LENGTH = 2000


@dataclass(frozen=True)
class PendingFlow:
    """A flow started by this session and not yet finished."""

    token: str
    secret: str
    action: Literal["login", "connect"]
    next_url: str | None
    user_pk: str | None
    started_at: float

    @property
    def success_url(self) -> str:
        return self.next_url or app_settings.LOGIN_REDIRECT_URL

    @property
    def failure_url(self) -> str:
        return failure_url(self.action, self.next_url)


def failure_url(action: str, next_url: str | None) -> str:
    """Where a cancelled or failed flow ends.

    A signed-in user who was linking goes back where they were; a failed sign-in
    goes to the login page, since ``next`` may need a signed-in user.
    """
    if action == CONNECT:
        return next_url or app_settings.LOGIN_REDIRECT_URL
    return app_settings.FAILURE_REDIRECT_URL


def safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    """``candidate`` if it is a page of this site (same host, same or stronger scheme)."""
    if not candidate or len(candidate) > MAX_NEXT_LENGTH:
        return None
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    logger.warning("Ignored an off-site next URL for an X flow")
    return None


def callback_url(request: HttpRequest) -> str:
    return app_settings.CALLBACK_URL or request.build_absolute_uri(
        reverse("twitter_oauth:callback")
    )


def start_flow(
    request: HttpRequest, *, action: Literal["login", "connect"], next_url: str | None = None
) -> str:
    """Get a request token from X, keep it in the session, return X's page to send the person to.

    One call to X. Raises :class:`~twitter_oauth.exceptions.TwitterError` when X fails.
    """
    client = TwitterClient()
    request_token = client.get_request_token(
        callback_url(request), access_type=app_settings.ACCESS_TYPE
    )
    now = time.time()
    flows = _live_flows(request, now)
    flows[request_token.token] = {
        "secret": crypto.encrypt(request_token.secret),
        "action": action,
        "next": next_url,
        "user": str(request.user.pk) if action == CONNECT else None,
        "started": now,
    }
    # Abandoned tabs must not grow the session without bound: keep the newest few.
    newest = sorted(flows.items(), key=lambda item: item[1]["started"], reverse=True)
    request.session[SESSION_KEY] = dict(newest[: app_settings.MAX_PENDING_FLOWS])
    return client.get_authorize_url(request_token.token, authenticate=action == LOGIN)


def pop_flow(request: HttpRequest, oauth_token: str) -> PendingFlow:
    """Remove and return the flow this session started for ``oauth_token``.

    Raises :class:`FlowNotFound` for a token this session does not hold (forged,
    another browser's, replayed) and :class:`FlowExpired` for a stale one.
    """
    flows: dict[str, dict[str, Any]] = dict(request.session.get(SESSION_KEY) or {})
    match = None
    for token in flows:  # compare against every key, in constant time each
        if hmac.compare_digest(token.encode(), oauth_token.encode()):
            match = token
    if match is None:
        _explain_missing_flow(request, flows)
        raise FlowNotFound(
            _(
                "This sign-in with X does not match one started in this browser, or it was "
                "already used. Please start again."
            )
        )
    entry = flows.pop(match)
    if flows:
        request.session[SESSION_KEY] = flows
    else:
        request.session.pop(SESSION_KEY, None)
    if time.time() - entry["started"] > app_settings.PENDING_FLOW_TTL:
        raise FlowExpired(_("This sign-in with X took too long and expired. Please start again."))
    return PendingFlow(
        token=match,
        secret=crypto.decrypt(entry["secret"]),
        action=entry["action"],
        next_url=entry.get("next"),
        user_pk=entry.get("user"),
        started_at=entry["started"],
    )


def finish_flow(request: HttpRequest, flow: PendingFlow, verifier: str) -> accounts.LinkResult:
    """Exchange the verifier (the second and last call to X) and sign in or link.

    Raises :class:`~twitter_oauth.exceptions.TwitterError` when X refuses or
    fails, :class:`~twitter_oauth.exceptions.SignInError` when the result
    cannot be used (account linked to someone else, sign-up closed, ...).
    """
    if flow.action == CONNECT and (
        not request.user.is_authenticated or str(request.user.pk) != flow.user_pk
    ):
        raise SignInError(
            _("You are no longer signed in as the user who started linking. Please start again.")
        )
    access = TwitterClient(flow.token, flow.secret).get_access_token(verifier)
    if flow.action == LOGIN:
        return accounts.sign_in(request, access)
    return accounts.link(request, cast("User", request.user), access)  # checked above


def start_pin_flow() -> tuple[RequestToken, str]:
    """The out-of-band flow for a terminal: a request token and the page showing the PIN."""
    client = TwitterClient()
    request_token = client.get_request_token("oob", access_type=app_settings.ACCESS_TYPE)
    return request_token, client.get_authorize_url(request_token.token)


def finish_pin_flow(user: User, request_token: RequestToken, pin: str) -> accounts.LinkResult:
    """Exchange the PIN the person read off X's page and link the account to ``user``."""
    access = TwitterClient(request_token.token, request_token.secret).get_access_token(pin)
    return accounts.link(None, user, access)


def _live_flows(request: HttpRequest, now: float) -> dict[str, dict[str, Any]]:
    flows = request.session.get(SESSION_KEY) or {}
    ttl = app_settings.PENDING_FLOW_TTL
    return {token: entry for token, entry in flows.items() if now - entry["started"] <= ttl}


def _explain_missing_flow(request: HttpRequest, flows: dict) -> None:
    # The person sees a generic message; the site's developers get the likely cause.
    if flows:
        logger.warning("X callback for a request token this session did not start")
    elif settings.SESSION_COOKIE_NAME not in request.COOKIES:
        samesite = settings.SESSION_COOKIE_SAMESITE
        logger.warning(
            "X callback arrived without the session cookie%s",
            "; SESSION_COOKIE_SAMESITE='Strict' makes browsers drop it on the redirect from X "
            "(use 'Lax')"
            if str(samesite).lower() == "strict"
            else " (cookies blocked, another browser, or the session expired)",
        )
    else:
        logger.warning("X callback for a session with no pending X flow (replayed or expired)")
