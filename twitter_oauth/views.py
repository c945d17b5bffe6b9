"""Thin views over :mod:`twitter_oauth.services`: parse the request, call a service, answer.

Every outcome is a redirect with a message or a page with a 4xx status; no input
and no failure at X turns into a 500.
"""

from __future__ import annotations

import logging
from typing import Literal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from twitter_oauth import services
from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import (
    SignInError,
    TwitterAuthError,
    TwitterBadRequest,
    TwitterCallbackNotApproved,
    TwitterError,
    TwitterRateLimited,
)
from twitter_oauth.models import TwitterAccount
from twitter_oauth.services import flows
from twitter_oauth.services.flows import failure_url

logger = logging.getLogger("twitter_oauth.views")

#: X's tokens and verifiers are well under this; anything longer is not from X.
MAX_PARAMETER_LENGTH = 200


@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """GET: a page with the "Sign in with X" button. POST: start the flow at X."""
    return _start(request, services.LOGIN, "twitter_oauth/login.html")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest) -> HttpResponse:
    """GET: a page with the "Connect an X account" button. POST: start linking at X."""
    return _start(request, services.CONNECT, "twitter_oauth/connect.html")


def _start(
    request: HttpRequest, action: Literal["login", "connect"], template: str
) -> HttpResponse:
    next_url = services.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    protocol = request.POST.get("protocol") or request.GET.get("protocol") or None
    if protocol is not None and protocol not in flows.PROTOCOLS:
        logger.warning("Refused to start an X flow with an unknown protocol")
        return _error_page(request, _("This sign-in button names no known protocol."))
    if request.method == "GET":
        return render(request, template, {"next": next_url, "protocol": protocol})
    try:
        authorize_url = services.start_flow(
            request, action=action, next_url=next_url, protocol=protocol
        )
    except TwitterError as exc:
        _log_x_failure("starting", exc)
        messages.error(request, _x_failure_message(exc))
        return HttpResponseRedirect(failure_url(action, next_url))
    return HttpResponseRedirect(authorize_url)


@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Where X sends the person back, for either protocol.

    OAuth 1.0a: ``oauth_token`` and ``oauth_verifier``, or ``denied``. OAuth 2.0:
    ``state`` and ``code``, or ``state`` and ``error`` (``access_denied`` on Cancel).
    """
    protocol: str
    if "state" in request.GET:
        protocol = flows.OAUTH2
        token = request.GET.get("state")
        error = request.GET.get("error")
        verifier = request.GET.get("code")
        problem = _callback_problem(
            token, verifier, cancelled=error is not None, names=OAUTH2_NAMES
        )
        cancelled = error is not None
    else:
        protocol = flows.OAUTH1
        denied = request.GET.get("denied")
        token = denied if denied is not None else request.GET.get("oauth_token")
        verifier = request.GET.get("oauth_verifier")
        problem = _callback_problem(token, verifier, cancelled=denied is not None)
        cancelled = denied is not None
    if problem or token is None:
        logger.warning("Refused an X callback: %s", problem)
        return _error_page(request, _("This sign-in with X is incomplete. Please start again."))
    try:
        flow = services.pop_flow(request, token, protocol=protocol)
    except SignInError as exc:
        return _error_page(request, exc.message, status=exc.status)
    if cancelled:
        if protocol == flows.OAUTH2 and request.GET.get("error") != "access_denied":
            logger.warning("X ended an OAuth 2.0 flow with an error other than access_denied")
            messages.error(request, _("X did not accept this sign-in. Please try again."))
            return HttpResponseRedirect(flow.failure_url)
        messages.info(request, _cancelled_message(flow))
        return HttpResponseRedirect(flow.failure_url)
    try:
        result = services.finish_flow(request, flow, verifier or "")
    except TwitterError as exc:
        _log_x_failure("finishing", exc)
        messages.error(request, _x_failure_message(exc))
        return HttpResponseRedirect(flow.failure_url)
    except SignInError as exc:
        logger.warning("X %s refused: %s", flow.action, type(exc).__name__)
        messages.error(request, exc.message)
        return HttpResponseRedirect(flow.failure_url)
    messages.success(request, _success_message(flow, result))
    return HttpResponseRedirect(flow.success_url)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: confirm. POST: unlink one of the current user's X accounts and revoke it at X."""
    account = get_object_or_404(
        TwitterAccount.objects.select_related("user"), pk=pk, user=request.user
    )
    next_url = services.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET":
        return render(
            request, "twitter_oauth/disconnect.html", {"account": account, "next": next_url}
        )
    try:
        services.unlink(account, request=request)
    except SignInError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Unlinked the X account @%(name)s.") % {"name": account.screen_name}
        )
    return HttpResponseRedirect(next_url or app_settings.LOGIN_REDIRECT_URL)


# --- helpers ----------------------------------------------------------------------------------


OAUTH1_NAMES = ("oauth_token or denied", "oauth_verifier")
OAUTH2_NAMES = ("state", "code")


def _callback_problem(
    token: str | None,
    verifier: str | None,
    *,
    cancelled: bool,
    names: tuple[str, str] = OAUTH1_NAMES,
) -> str | None:
    token_name, verifier_name = names
    if not token:
        return f"no {token_name} parameter"
    if len(token) > MAX_PARAMETER_LENGTH:
        return f"oversized {token_name}"
    if cancelled:
        return None
    if not verifier:
        return f"no {verifier_name}"
    if len(verifier) > MAX_PARAMETER_LENGTH:
        return f"oversized {verifier_name}"
    return None


def _error_page(request: HttpRequest, message: str, *, status: int = 400) -> HttpResponse:
    return render(
        request,
        "twitter_oauth/error.html",
        {"message": message, "retry_url": app_settings.FAILURE_REDIRECT_URL},
        status=status,
    )


def _log_x_failure(step: str, exc: TwitterError) -> None:
    # X's status, code and message help; tokens and secrets never reach the exception text.
    logger.warning("X failed while %s an X flow: %s: %s", step, type(exc).__name__, exc)


def _x_failure_message(exc: TwitterError) -> str:
    if isinstance(exc, TwitterCallbackNotApproved):
        return _(
            "X refused this site's callback address. "
            "The site's administrators must register it at X."
        )
    if isinstance(exc, TwitterRateLimited):
        return _(
            "X is limiting requests from this site right now. Please try again in a few minutes."
        )
    if isinstance(exc, TwitterAuthError | TwitterBadRequest):
        # A refused code, verifier or token: the flow is spent, a new one may work.
        return _("X did not accept this sign-in. Please try again.")
    return _("X is not answering right now. Please try again in a few minutes.")


def _cancelled_message(flow: services.PendingFlow) -> str:
    if flow.action == services.CONNECT:
        return _("Linking an X account was cancelled.")
    return _("Signing in with X was cancelled.")


def _success_message(flow: services.PendingFlow, result: services.LinkResult) -> str:
    name = {"name": result.account.screen_name}
    if flow.action == services.LOGIN:
        if result.created_user:
            return _("Welcome, @%(name)s! Your account was created with X.") % name
        return _("Signed in with X as @%(name)s.") % name
    if result.created_account:
        return _("Linked the X account @%(name)s.") % name
    return _("The X account @%(name)s was already linked; its access was renewed.") % name
