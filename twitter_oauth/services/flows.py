"""The OAuth dances, as the views drive them: start a flow, then finish it at the callback.

OAuth 1.0a: a request token, X's page, the verifier exchanged for an access
token. OAuth 2.0 (Authorization Code with PKCE): a ``state`` and a code verifier
made here, X's page, the code exchanged for tokens, then ``GET 2/users/me``
(X's token answer names no user).

Open flows live in the Django session, keyed by their request token or their
``state``, so several tabs can sign in at once. The request-token secret and the
code verifier are stored encrypted (a signed-cookie session would otherwise show
them to the browser). A flow is removed from the session before anything else
happens at the callback, so a replayed callback finds nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, cast

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from twitter_oauth import crypto
from twitter_oauth.client import AccessToken, RequestToken, TwitterClient
from twitter_oauth.conf import app_settings
from twitter_oauth.crypto import TokenDecryptionError
from twitter_oauth.exceptions import FlowExpired, FlowNotFound, SignInError, TwitterBadResponse
from twitter_oauth.services import accounts

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger("twitter_oauth.flows")

SESSION_KEY = "twitter_oauth_flows"
LOGIN: Literal["login"] = "login"
CONNECT: Literal["connect"] = "connect"
OAUTH1: Literal["oauth1"] = "oauth1"
OAUTH2: Literal["oauth2"] = "oauth2"
PROTOCOLS = (OAUTH1, OAUTH2)
#: Profile fields read at an OAuth 2.0 sign-in, so no profile task is needed afterwards.
PROFILE_FIELDS = ("profile_image_url", "name", "verified")
#: Longest `next` kept; anything longer is not a page of this site worth returning to.
MAX_NEXT_LENGTH = 2000


@dataclass(frozen=True)
class PendingFlow:
    """A flow started by this session and not yet finished."""

    token: str  # the request token (OAuth 1.0a) or the state (OAuth 2.0)
    secret: str  # the request-token secret or the code verifier
    action: Literal["login", "connect"]
    next_url: str | None
    user_pk: str | None
    started_at: float
    protocol: Literal["oauth1", "oauth2"] = OAUTH1

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
    request: HttpRequest,
    *,
    action: Literal["login", "connect"],
    next_url: str | None = None,
    protocol: str | None = None,
) -> str:
    """Keep a new flow in the session and return X's page to send the person to.

    ``protocol`` is ``"oauth1"`` or ``"oauth2"`` (default: ``PROTOCOL``). OAuth 1.0a
    makes one call to X (the request token) and raises
    :class:`~twitter_oauth.exceptions.TwitterError` when X fails; OAuth 2.0 calls
    nobody here.
    """
    if (protocol or app_settings.PROTOCOL) == OAUTH2:
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 asks for 43 to 128
        _remember(request, state, verifier, action, next_url, OAUTH2)
        return TwitterClient().get_oauth2_authorize_url(
            redirect_uri=callback_url(request),
            state=state,
            code_challenge=code_challenge(verifier),
            scopes=app_settings.OAUTH2_SCOPES,
        )
    client = TwitterClient()
    request_token = client.get_request_token(
        callback_url(request), access_type=app_settings.ACCESS_TYPE
    )
    _remember(request, request_token.token, request_token.secret, action, next_url, OAUTH1)
    return client.get_authorize_url(request_token.token, authenticate=action == LOGIN)


def code_challenge(verifier: str) -> str:
    """PKCE's S256: the unpadded url-safe base64 of the verifier's SHA-256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _remember(
    request: HttpRequest, key: str, secret: str, action: str, next_url: str | None, protocol: str
) -> None:
    now = time.time()
    flows = _live_flows(request, now)
    flows[key] = {
        "secret": crypto.encrypt(secret),
        "action": action,
        "next": next_url,
        "user": str(request.user.pk) if action == CONNECT else None,
        "started": now,
        "protocol": protocol,
    }
    # Abandoned tabs must not grow the session without bound: keep the newest few.
    newest = sorted(flows.items(), key=lambda item: item[1]["started"], reverse=True)
    request.session[SESSION_KEY] = dict(newest[: app_settings.MAX_PENDING_FLOWS])


def pop_flow(request: HttpRequest, oauth_token: str, *, protocol: str = OAUTH1) -> PendingFlow:
    """Remove and return the flow this session started for ``oauth_token`` (or ``state``).

    Raises :class:`FlowNotFound` for a token this session does not hold (forged,
    another browser's, replayed, or one of the other protocol) and
    :class:`FlowExpired` for a stale one, or one whose secret no key of
    ``TOKEN_KEYS`` decrypts any more (a key removed while it was open).
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
    if entry.get("protocol", OAUTH1) != protocol:
        logger.warning("X callback of one protocol for a flow started with the other")
        raise FlowNotFound(
            _("This sign-in with X does not match one started in this browser. Please start again.")
        )
    expired = FlowExpired(_("This sign-in with X took too long and expired. Please start again."))
    if time.time() - entry["started"] > app_settings.PENDING_FLOW_TTL:
        raise expired
    try:
        secret = crypto.decrypt(entry["secret"])
    except TokenDecryptionError:
        logger.warning("An open X flow was encrypted with a key no longer in TOKEN_KEYS")
        raise expired from None
    return PendingFlow(
        token=match,
        secret=secret,
        action=entry["action"],
        next_url=entry.get("next"),
        user_pk=entry.get("user"),
        started_at=entry["started"],
        protocol=protocol,  # type: ignore[arg-type]  # checked against the entry above
    )


def finish_flow(request: HttpRequest, flow: PendingFlow, verifier: str) -> accounts.LinkResult:
    """Exchange the verifier (OAuth 1.0a) or the code (OAuth 2.0) and sign in or link.

    OAuth 1.0a makes one call to X here (two in all with the request token);
    OAuth 2.0 makes two (the token exchange, then ``GET 2/users/me``).
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
    if flow.protocol == OAUTH2:
        access = _exchange_code(request, flow, verifier)
    else:
        access = TwitterClient(flow.token, flow.secret).get_access_token(verifier)
    if flow.action == LOGIN:
        return accounts.sign_in(request, access)
    return accounts.link(request, cast("User", request.user), access)  # checked above


def _exchange_code(request: HttpRequest, flow: PendingFlow, code: str) -> AccessToken:
    grant = TwitterClient().exchange_code(
        code, redirect_uri=callback_url(request), code_verifier=flow.secret
    )
    if not grant.scopes:  # X names the granted scopes; an answer without them got what we asked
        grant = replace(grant, scopes=app_settings.OAUTH2_SCOPES)
    granted = set(grant.scopes)
    fields = (*PROFILE_FIELDS, "confirmed_email") if "users.email" in granted else PROFILE_FIELDS
    profile = TwitterClient(bearer_token=grant.access_token).get_me(fields)
    user_id, username = profile.get("id"), profile.get("username")
    if not isinstance(user_id, str) or not isinstance(username, str) or not user_id:
        raise TwitterBadResponse("X's profile answer lacks id or username.", status=200)
    email = profile.get("confirmed_email")
    return AccessToken(
        token=grant.access_token,
        secret="",
        user_id=user_id,
        screen_name=username,
        oauth2=grant,
        name=str(profile.get("name") or ""),
        profile_image_url=str(profile.get("profile_image_url") or ""),
        email=email if isinstance(email, str) and email else None,
    )


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
