"""The OAuth 2.0 endpoints, with X's request and answer formats, and Bearer tokens on the API.

The authorize page at ``/i/oauth2/authorize`` (X serves it on x.com; the emulator on its
one host), the token endpoint ``/2/oauth2/token`` and ``/2/oauth2/revoke``. The
:class:`~twitter_oauth.testing.api.Router` registers these routes and asks
:meth:`OAuth2Endpoints.authenticate` about every request with a Bearer token.
"""

from __future__ import annotations

import base64
import binascii
import re
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote

from twitter_oauth.testing import pages
from twitter_oauth.testing.answers import json_response, problem, v1_error
from twitter_oauth.testing.oauth2 import (
    OAuth2Refusal,
    invalid_request,
    parse_scopes,
    with_query,
)
from twitter_oauth.testing.records import EmulatorResponse

if TYPE_CHECKING:
    from collections.abc import Callable

    from twitter_oauth.testing.api import Call
    from twitter_oauth.testing.records import RecordedRequest, XUser
    from twitter_oauth.testing.state import XEmulator

AUTHORIZE_PATH = "/i/oauth2/authorize"
#: What each v2 endpoint asks of an OAuth 2.0 token, as X's API reference lists it.
ENDPOINT_SCOPES: tuple[tuple[str, re.Pattern[str], frozenset[str]], ...] = (
    ("POST", re.compile(r"^/2/tweets$"), frozenset({"tweet.read", "tweet.write", "users.read"})),
    (
        "DELETE",
        re.compile(r"^/2/tweets/\d+$"),
        frozenset({"tweet.read", "tweet.write", "users.read"}),
    ),
    ("GET", re.compile(r"^/2/users/me$"), frozenset({"tweet.read", "users.read"})),
    ("GET", re.compile(r"^/2/users/\d+/tweets$"), frozenset({"tweet.read", "users.read"})),
)
EMAIL_SCOPE = "users.email"
_SCOPE_WORDS = {
    "tweet.read": "See posts from your timeline, including protected posts",
    "tweet.write": "Post and repost for you",
    "users.read": "See your profile and the accounts you follow",
    "users.email": "See your email address",
    "offline.access": "Stay connected to your account until you revoke access",
}
_UNSUPPORTED = {
    "title": "Unsupported Authentication",
    "detail": "Authenticating with OAuth 2.0 User Context is forbidden for this endpoint.  "
    "Supported authentication types are [OAuth 1.0a User Context].",
    "type": "https://api.twitter.com/2/problems/unsupported-authentication",
    "status": 403,
}


def bearer_token(headers: dict[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None for any other header."""
    header = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class OAuth2Endpoints:
    def __init__(self, emulator: XEmulator) -> None:
        self.emulator = emulator

    def routes(self) -> dict[tuple[str, str], Callable[[Call], EmulatorResponse]]:
        return {
            ("GET", AUTHORIZE_PATH): self.authorize_page,
            ("POST", AUTHORIZE_PATH): self.authorize_answer,
            ("POST", "/2/oauth2/token"): self.token,
            ("POST", "/2/oauth2/revoke"): self.revoke,
        }

    # --- the authorize page --------------------------------------------------------------------

    def authorize_page(self, call: Call) -> EmulatorResponse:
        query = call.record.query
        call.record.consumer_key = query.get("client_id")
        problem_text = self.emulator.authorization_problem(query)
        if problem_text is not None:
            return _error_page(problem_text)
        remembered = pages.remembered_user(self.emulator, call.headers)
        client_id = query["client_id"]
        title = f"{client_id} wants to access your X account."
        hidden = "".join(
            f'<input type="hidden" name="{escape(name)}" value="{escape(query[name])}">'
            for name in _AUTHORIZE_PARAMETERS
            if name in query
        )
        wants = "".join(
            f"<li>{escape(_SCOPE_WORDS.get(scope, scope))}</li>"
            for scope in sorted(parse_scopes(query["scope"]))
        )
        body = (
            f"<h1>{escape(title)}</h1><p>It will be able to:</p><ul>{wants}</ul>"
            f'<form method="post" action="{AUTHORIZE_PATH}">{hidden}'
            f"{pages.user_fieldset(self.emulator, remembered.screen_name if remembered else '')}"
            '<div class="buttons">'
            '<button type="submit" name="action" value="authorize">Authorize app</button>'
            '<button type="submit" name="action" value="cancel">Cancel</button></div></form>'
        )
        return pages.html_page(title, body)

    def authorize_answer(self, call: Call) -> EmulatorResponse:
        form = _form(call.body)
        call.record.consumer_key = form.get("client_id")
        # The page's hidden fields carry the request; it is judged again, as a browser can forge it.
        request = {name: form.get(name, "") for name in _AUTHORIZE_PARAMETERS}
        authorize_url = with_query(AUTHORIZE_PATH, request)
        problem_text = self.emulator.authorization_problem(form)
        if problem_text is not None:
            return _error_page(problem_text)
        if form.get("action") != "authorize":
            return _redirect(self.emulator.deny_oauth2(authorize_url))
        user = pages.chosen_user(self.emulator, form)
        if isinstance(user, EmulatorResponse):
            return user
        response = _redirect(self.emulator.authorize_oauth2(authorize_url, user))
        response.headers.update(pages.remember(user))
        return response

    # --- the token and revoke endpoints --------------------------------------------------------

    def token(self, call: Call) -> EmulatorResponse:
        try:
            form, client_id = self._client_request(call)
            grant_type = form.get("grant_type", "")
            if grant_type == "authorization_code":
                answer = self.emulator.exchange_oauth2_code(
                    client_id,
                    form.get("code", ""),
                    form.get("redirect_uri", ""),
                    form.get("code_verifier", ""),
                )
            elif grant_type == "refresh_token":
                call.record.token = form.get("refresh_token") or None
                answer = self.emulator.refresh_oauth2(client_id, form.get("refresh_token", ""))
            else:
                raise invalid_request("Value passed for grant_type was invalid.")
        except OAuth2Refusal as refusal:
            return _refused(refusal)
        return json_response(200, answer, {"Cache-Control": "no-store"})

    def revoke(self, call: Call) -> EmulatorResponse:
        try:
            form, client_id = self._client_request(call)
            token = form.get("token", "")
            if not token:
                raise invalid_request("Missing required parameter [token].")
            if form.get("token_type_hint", "access_token") not in ("access_token", "refresh_token"):
                raise invalid_request("Value passed for token_type_hint was invalid.")
        except OAuth2Refusal as refusal:
            return _refused(refusal)
        call.record.token = token
        self.emulator.revoke_oauth2(client_id, token)
        return json_response(200, {"revoked": True})

    def _client_request(self, call: Call) -> tuple[dict[str, str], str]:
        """The form body and the client that authenticated, or :class:`OAuth2Refusal`."""
        content_type = next((v for k, v in call.headers.items() if k.lower() == "content-type"), "")
        if not content_type.lower().startswith("application/x-www-form-urlencoded"):
            raise invalid_request("The body must be application/x-www-form-urlencoded.")
        form = _form(call.body)
        basic = _basic_credentials(call.headers)
        call.record.consumer_key = basic[0] if basic else form.get("client_id")
        return form, self.emulator.authenticate_client(basic, form)

    # --- Bearer tokens on the API --------------------------------------------------------------

    def authenticate(self, call: Call, token: str) -> XUser | EmulatorResponse:
        """The user an access token stands for, if it may call this endpoint; else X's refusal."""
        call.record.token = token
        record = self.emulator.bearer(token)
        if record is None:
            return problem(401)
        call.record.consumer_key = record.client_id
        needed = next(
            (
                scopes
                for method, pattern, scopes in ENDPOINT_SCOPES
                if method == call.method and pattern.match(call.record.path)
            ),
            None,
        )
        if needed is None:
            if call.record.path.startswith("/2/"):
                return json_response(403, _UNSUPPORTED)
            return v1_error(403, 220, "Your credentials do not allow access to this resource.")
        if not needed <= record.scopes:
            return problem(403)
        with self.emulator.lock:
            return self.emulator.users[record.user_id]

    def email_granted(self, request: RecordedRequest) -> bool:
        """Whether the request's Bearer token was granted ``users.email``."""
        with self.emulator.lock:
            record = self.emulator.oauth2_tokens.get(request.token or "")
            return record is not None and record.kind == "access" and EMAIL_SCOPE in record.scopes


_AUTHORIZE_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _basic_credentials(headers: dict[str, str]) -> tuple[str, str] | None:
    """(client id, secret) from ``Authorization: Basic``, form-decoded as RFC 6749 2.3.1 says."""
    header = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


def _refused(refusal: OAuth2Refusal) -> EmulatorResponse:
    return json_response(refusal.status, refusal.payload())


def _redirect(location: str) -> EmulatorResponse:
    return EmulatorResponse(status=302, headers={"Location": location})


def _error_page(reason: str) -> EmulatorResponse:
    # X answers a request it cannot trust with a page, never a redirect to the URI it names.
    return pages.html_page(
        "Something went wrong",
        "<h1>Something went wrong</h1><p>You weren't able to give access to the App. Go back "
        f'and try logging in again.</p><p class="reason">{escape(reason)}</p>',
        status=400,
    )
