"""OAuth 2.0 (Authorization Code with PKCE) as X offers it: clients, codes, tokens and scopes.

:class:`~twitter_oauth.testing.state.XEmulator` takes :class:`OAuth2State` in as a base
class, so this state lives under the emulator's lock, runs on its clock and is forgotten
by its ``reset()``. The HTTP side is in :mod:`twitter_oauth.testing.oauth2_api`.

Where X publishes no rule, the emulator picks one and says so here: a refresh token
unused for :data:`REFRESH_TOKEN_IDLE_LIFETIME` expires; revoking a refresh token also
revokes the access tokens of its grant (RFC 7009); a rotated refresh token's access token
keeps working until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from twitter_oauth.testing.records import XUser

DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - a public demo value
TEST_CLIENT_ID = "test-client-id"
TEST_CLIENT_SECRET = "test-client-secret"  # noqa: S105 - a public test value
#: A public client: no secret, it names itself with ``client_id`` at the token endpoint.
TEST_PUBLIC_CLIENT_ID = "test-public-client-id"
DEFAULT_CLIENTS: dict[str, str | None] = {
    DEMO_CLIENT_ID: DEMO_CLIENT_SECRET,
    TEST_CLIENT_ID: TEST_CLIENT_SECRET,
    TEST_PUBLIC_CLIENT_ID: None,
}

#: X's access tokens last two hours; its answer says ``"expires_in": 7200``.
ACCESS_TOKEN_LIFETIME = 2 * 60 * 60
#: X's authorization codes are valid for 30 seconds.
CODE_LIFETIME = 30
#: X does not say how long an unused refresh token lives; the emulator's choice: 180 days.
REFRESH_TOKEN_IDLE_LIFETIME = 180 * 24 * 60 * 60
#: The scopes X knows.
SCOPES = frozenset({
    "tweet.read", "tweet.write", "tweet.moderate.write", "users.email", "users.read",
    "follows.read", "follows.write", "offline.access", "space.read", "mute.read", "mute.write",
    "like.read", "like.write", "list.read", "list.write", "block.read", "block.write",
    "bookmark.read", "bookmark.write", "media.write", "dm.read", "dm.write",
})  # fmt: skip
OFFLINE_ACCESS = "offline.access"
MAX_STATE_LENGTH = 500
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
_CODE_INVALID = "Value passed for the authorization code was invalid."
_TOKEN_INVALID = "Value passed for the token was invalid."  # noqa: S105 - X's message


class OAuth2Refusal(Exception):
    """X's refusal at the token or revoke endpoint: the status and its JSON body."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def payload(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def invalid_request(description: str) -> OAuth2Refusal:
    return OAuth2Refusal(400, "invalid_request", description)


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: frozenset[str]
    code_challenge: str
    created_at: float
    #: The grant its tokens belong to: using the code twice revokes them.
    grant: int
    used: bool = False


@dataclass
class OAuth2Token:
    """An access or a refresh token; ``grant`` ties together the tokens of one authorization."""

    token: str
    kind: str  # "access" or "refresh"
    client_id: str
    user_id: str
    scopes: frozenset[str]
    issued_at: float
    expires_at: float
    grant: int
    revoked: bool = False

    def live(self, now: float) -> bool:
        return not self.revoked and now < self.expires_at


def s256(verifier: str) -> str:
    """The PKCE S256 challenge for a code verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def parse_scopes(value: str) -> frozenset[str]:
    return frozenset(value.split())


def scope_text(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to whatever query it already has."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _x_shaped(kind: str, now: float) -> str:
    # X's tokens are base64 of "<random>:<issued, ms>:1:0:<kind>:1"; clients must not parse them.
    raw = f"{secrets.token_urlsafe(32)}:{int(now * 1000)}:1:0:{kind}:1"
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


class OAuth2State:
    """Registered OAuth 2.0 clients, codes, tokens, and what tests count on them."""

    # Provided by XEmulator.
    lock: threading.RLock
    clock: Callable[[], float]
    users: dict[str, XUser]

    def _configure_oauth2(
        self,
        clients: Mapping[str, str | None] | None,
        redirect_uris: Mapping[str, list[str] | None] | None,
    ) -> None:
        self.clients: dict[str, str | None] = dict(DEFAULT_CLIENTS if clients is None else clients)
        self.redirect_uris = None if redirect_uris is None else dict(redirect_uris)
        self._grants = itertools.count(1)

    def _reset_oauth2(self) -> None:
        self.oauth2_codes: dict[str, AuthorizationCode] = {}
        self.oauth2_tokens: dict[str, OAuth2Token] = {}
        #: How often each refresh token was presented at the token endpoint, refused or not.
        self.refresh_presentations: Counter[str] = Counter()
        #: Refreshes that succeeded, by X user id.
        self.refreshes_by_user: Counter[str] = Counter()
        #: API requests that carried an expired access token, by X user id.
        self.expired_token_requests: Counter[str] = Counter()

    # --- clients -------------------------------------------------------------------------------

    def is_public_client(self, client_id: str) -> bool:
        return client_id in self.clients and not self.clients[client_id]

    def redirect_approved(self, client_id: str, redirect_uri: str) -> bool:
        """Like ``callback_urls``: no list approves any URI, a list approves its prefixes."""
        if self.redirect_uris is None:
            return True
        approved = self.redirect_uris.get(client_id)
        return approved is None or any(redirect_uri.startswith(p) for p in approved)

    def authenticate_client(self, basic: tuple[str, str] | None, form: Mapping[str, str]) -> str:
        """The client a token or revoke request comes from, or :class:`OAuth2Refusal`.

        A confidential client must use HTTP Basic; a public one names itself in the body.
        """
        named = form.get("client_id")
        if basic is not None:
            client_id, secret = basic
            expected = self.clients.get(client_id)
            if (
                expected
                and secrets.compare_digest(secret.encode(), expected.encode())
                and named in (None, client_id)
            ):
                return client_id
        elif named is not None and self.is_public_client(named):
            return named
        raise OAuth2Refusal(401, "unauthorized_client", "Missing valid authorization header")

    # --- the authorize step --------------------------------------------------------------------

    def authorization_problem(self, query: Mapping[str, str]) -> str | None:
        """Why X would refuse this authorize request with its error page, or None."""
        client_id = query.get("client_id", "")
        if client_id not in self.clients:
            return "unknown client_id"
        if not self.redirect_approved(client_id, query.get("redirect_uri", "")):
            return "redirect_uri is not a callback URL approved for this app"
        if not query.get("redirect_uri"):
            return "redirect_uri is missing"
        if query.get("response_type") != "code":
            return "response_type must be code"
        scopes = parse_scopes(query.get("scope", ""))
        if not scopes or not scopes <= SCOPES:
            return "scope must name one or more of X's scopes, separated by spaces"
        if not 1 <= len(query.get("state", "")) <= MAX_STATE_LENGTH:
            return f"state must be 1 to {MAX_STATE_LENGTH} characters"
        if query.get("code_challenge_method") != "S256":
            return "code_challenge_method must be S256"
        if not _S256_CHALLENGE.fullmatch(query.get("code_challenge", "")):
            return "code_challenge must be the S256 hash of a code verifier"
        return None

    def authorize_oauth2(self, authorize_url: str, user: XUser) -> str:
        """What "Authorize app" does for this authorize URL: the redirect, with state and code.

        Raises ``ValueError`` for a request X would refuse with its error page.
        """
        query = _query(authorize_url)
        problem = self.authorization_problem(query)
        if problem is not None:
            raise ValueError(problem)
        with self.lock:
            self.users.setdefault(user.id, user)
            record = AuthorizationCode(
                code=_x_shaped("ac", self.clock()),
                client_id=query["client_id"],
                user_id=user.id,
                redirect_uri=query["redirect_uri"],
                scopes=parse_scopes(query["scope"]),
                code_challenge=query["code_challenge"],
                created_at=self.clock(),
                grant=next(self._grants),
            )
            self.oauth2_codes[record.code] = record
        return with_query(record.redirect_uri, {"state": query["state"], "code": record.code})

    def deny_oauth2(self, authorize_url: str) -> str:
        """What "Cancel" does: the redirect with ``error=access_denied`` and ``state``."""
        query = _query(authorize_url)
        problem = self.authorization_problem(query)
        if problem is not None:
            raise ValueError(problem)
        return with_query(
            query["redirect_uri"], {"error": "access_denied", "state": query["state"]}
        )

    # --- tokens --------------------------------------------------------------------------------

    def issue_oauth2_token(
        self,
        client_id: str,
        user: XUser,
        scopes: Iterable[str],
        *,
        expires_in: int = ACCESS_TOKEN_LIFETIME,
    ) -> tuple[str, str | None]:
        """A new grant for the user, as if they had signed in: (access, refresh or None).

        The refresh token comes only with ``offline.access``; ``expires_in`` shortens or
        lengthens the access token's life (the answer X gives always says 7200).
        """
        with self.lock:
            self.users.setdefault(user.id, user)
            granted = frozenset(scopes)
            answer = self._grant(client_id, user.id, granted, next(self._grants), expires_in)
            return answer["access_token"], answer.get("refresh_token")

    def _grant(
        self,
        client_id: str,
        user_id: str,
        scopes: frozenset[str],
        grant: int,
        expires_in: int = ACCESS_TOKEN_LIFETIME,
    ) -> dict[str, Any]:
        now = self.clock()
        access = OAuth2Token(
            _x_shaped("at", now), "access", client_id, user_id, scopes, now, now + expires_in, grant
        )
        self.oauth2_tokens[access.token] = access
        answer: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "access_token": access.token,
            "scope": scope_text(scopes),
        }
        if OFFLINE_ACCESS in scopes:
            refresh = OAuth2Token(
                _x_shaped("rt", now),
                "refresh",
                client_id,
                user_id,
                scopes,
                now,
                now + REFRESH_TOKEN_IDLE_LIFETIME,
                grant,
            )
            self.oauth2_tokens[refresh.token] = refresh
            answer["refresh_token"] = refresh.token
        return answer

    def exchange_oauth2_code(
        self, client_id: str, code: str, redirect_uri: str, code_verifier: str
    ) -> dict[str, Any]:
        """``grant_type=authorization_code``: X's token answer, or :class:`OAuth2Refusal`."""
        if not code_verifier:
            raise invalid_request("Missing required parameter [code_verifier].")
        with self.lock:
            record = self.oauth2_codes.get(code)
            if record is None or record.client_id != client_id:
                raise invalid_request(_CODE_INVALID)
            if record.used:
                # RFC 6749 section 4.1.2: a code used twice revokes what it gave.
                self._revoke_grant(record.grant)
                raise invalid_request(_CODE_INVALID)
            record.used = True
            if self.clock() - record.created_at > CODE_LIFETIME:
                raise invalid_request(_CODE_INVALID)
            if record.redirect_uri != redirect_uri:
                raise invalid_request("Value passed for the redirect uri did not match.")
            if not _VERIFIER.fullmatch(code_verifier) or not secrets.compare_digest(
                s256(code_verifier), record.code_challenge
            ):
                raise invalid_request("Value passed for the code verifier was invalid.")
            return self._grant(client_id, record.user_id, record.scopes, record.grant)

    def refresh_oauth2(self, client_id: str, refresh_token: str) -> dict[str, Any]:
        """``grant_type=refresh_token``: rotates the refresh token; the old one stops working."""
        if not refresh_token:
            raise invalid_request("Missing required parameter [refresh_token].")
        with self.lock:
            self.refresh_presentations[refresh_token] += 1
            record = self.oauth2_tokens.get(refresh_token)
            if (
                record is None
                or record.kind != "refresh"
                or record.client_id != client_id
                or not record.live(self.clock())
            ):
                raise invalid_request(_TOKEN_INVALID)
            record.revoked = True
            self.refreshes_by_user[record.user_id] += 1
            return self._grant(client_id, record.user_id, record.scopes, record.grant)

    def revoke_oauth2(self, client_id: str, token: str) -> None:
        """Revoke an access or a refresh token of this client (a refresh token: its whole grant).

        Unknown tokens and other clients' tokens are ignored, as RFC 7009 says.
        """
        with self.lock:
            record = self.oauth2_tokens.get(token)
            if record is None or record.client_id != client_id:
                return
            if record.kind == "refresh":
                self._revoke_grant(record.grant)
            record.revoked = True

    def _revoke_grant(self, grant: int) -> None:
        for record in self.oauth2_tokens.values():
            if record.grant == grant:
                record.revoked = True

    def bearer(self, token: str) -> OAuth2Token | None:
        """The live access token, or None; an expired one is counted for its user."""
        with self.lock:
            record = self.oauth2_tokens.get(token)
            if record is None or record.kind != "access" or record.revoked:
                return None
            if not record.live(self.clock()):
                self.expired_token_requests[record.user_id] += 1
                return None
            return record

    @property
    def refresh_token_presented_twice(self) -> bool:
        """Whether any refresh token reached the token endpoint more than once."""
        with self.lock:
            return any(count > 1 for count in self.refresh_presentations.values())

    def expire_oauth2_tokens(self) -> None:
        """Every access token issued so far expires now (refresh tokens keep working)."""
        with self.lock:
            now = self.clock()
            for record in self.oauth2_tokens.values():
                if record.kind == "access":
                    record.expires_at = min(record.expires_at, now)


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
