"""OAuth 1.0a verification as X does it, on oauthlib's server-side endpoints.

oauthlib's validator defaults are tuned for a generic provider; X's real shapes
are wider (access tokens carry a dash, nonces run to 42 characters), so the
limits are relaxed here. oauthlib also returns only booleans, so every refusal
records its reason on the request, and the emulator answers with X's own
status and body for it.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

from oauthlib.common import Request
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849 import SIGNATURE_TYPE_AUTH_HEADER, errors
from oauthlib.oauth1.rfc5849.signature import collect_parameters
from oauthlib.oauth1.rfc5849.utils import filter_oauth_params

if TYPE_CHECKING:
    from collections.abc import Callable

    from twitter_oauth.testing.state import XEmulator

# Reasons a request is refused; each maps to one X answer (see answers.refusal).
MALFORMED = "malformed"  # missing or unusable protocol parameters
TIMESTAMP = "timestamp"
NONCE = "nonce"
TOKEN = "token"  # noqa: S105 - a reason, not a secret: unknown, used, expired, revoked, another app's
VERIFIER = "verifier"
CONSUMER = "consumer"  # an app X does not know
CREDENTIALS = "credentials"  # a signature that does not match
CALLBACK = "callback"
# When several apply, the first of these decides the answer. An unknown app makes every token
# look foreign, so it comes before the token; an unknown token also fails the signature (its
# secret is unknown), so the token comes before the signature; the callback is judged only for
# a request that is otherwise genuine.
REASON_ORDER = (MALFORMED, TIMESTAMP, NONCE, CONSUMER, TOKEN, VERIFIER, CREDENTIALS, CALLBACK)

# Protocol parameters X also takes from the query or a form body beside a signed header.
_LOOSE_PARAMETERS = frozenset({"oauth_callback", "oauth_verifier"})
_DUMMY = "dummy-emulator-value"


class Refused(Exception):
    """Verification failed; ``reason`` says which X answer to give."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class XRequestValidator(RequestValidator):
    """Answers oauthlib's questions from the emulator's state, noting why it says no."""

    enforce_ssl = False
    allowed_signature_methods = ("HMAC-SHA1",)
    safe_characters = set(string.ascii_letters + string.digits + "-_")
    client_key_length = (1, 100)
    request_token_length = (1, 100)
    access_token_length = (1, 100)
    nonce_length = (1, 100)
    verifier_length = (1, 100)
    # oauthlib compares against time.time(); the emulator checks its own clock instead,
    # so that tests can fix it.
    timestamp_lifetime = 10**12
    dummy_client = _DUMMY
    dummy_request_token = _DUMMY
    dummy_access_token = _DUMMY

    def __init__(self, emulator: XEmulator) -> None:
        super().__init__()
        self.emulator = emulator

    @staticmethod
    def _refuse(request: Request, reason: str) -> bool:
        vars(request).setdefault("x_reasons", set()).add(reason)
        return False

    # consumers
    def validate_client_key(self, client_key: str, request: Request) -> bool:
        return client_key in self.emulator.consumers or self._refuse(request, CONSUMER)

    def get_client_secret(self, client_key: str, request: Request) -> str:
        return self.emulator.consumers.get(client_key, _DUMMY)

    # timestamps and nonces
    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: Request,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        if abs(self.emulator.clock() - int(timestamp)) > self.emulator.timestamp_tolerance:
            return self._refuse(request, TIMESTAMP)
        if not self.emulator.remember_nonce(client_key, int(timestamp), nonce):
            return self._refuse(request, NONCE)
        return True

    # request tokens (only the access-token step asks): live, this app's, and authorized
    def validate_request_token(self, client_key: str, token: str, request: Request) -> bool:
        record = self.emulator.live_request_token(token)
        if record is None or record.consumer_key != client_key or record.user_id is None:
            return self._refuse(request, TOKEN)
        return True

    def get_request_token_secret(self, client_key: str, token: str, request: Request) -> str:
        record = self.emulator.request_tokens.get(token)
        return record.secret if record and record.consumer_key == client_key else _DUMMY

    def validate_verifier(
        self, client_key: str, token: str, verifier: str, request: Request
    ) -> bool:
        record = self.emulator.request_tokens.get(token)
        if record is None or record.verifier is None or record.verifier != verifier:
            return self._refuse(request, VERIFIER)
        return True

    def validate_redirect_uri(self, client_key: str, redirect_uri: str, request: Request) -> bool:
        return self.emulator.callback_approved(redirect_uri) or self._refuse(request, CALLBACK)

    # access tokens
    def validate_access_token(self, client_key: str, token: str, request: Request) -> bool:
        record = self.emulator.access_tokens.get(token)
        if record is None or record.revoked or record.consumer_key != client_key:
            return self._refuse(request, TOKEN)
        return True

    def get_access_token_secret(self, client_key: str, token: str, request: Request) -> str:
        record = self.emulator.access_tokens.get(token)
        return record.secret if record and record.consumer_key == client_key else _DUMMY

    # realms play no part at X
    def get_default_realms(self, client_key: str, request: Request) -> list[str]:
        return []

    def validate_requested_realms(
        self, client_key: str, realms: list[str], request: Request
    ) -> bool:
        return True

    def validate_realms(
        self,
        client_key: str,
        token: str,
        request: Request,
        uri: str | None = None,
        realms: list[str] | None = None,
    ) -> bool:
        return True


class _XParameterSources:
    """Takes ``oauth_callback`` and ``oauth_verifier`` from the query or a form body beside a
    signed Authorization header, as X does. oauthlib follows RFC 5849 section 3.5 to the letter
    and refuses protocol parameters from two places; the signature is the same either way,
    because every source goes into the signature base string.
    """

    def _get_signature_type_and_params(self, request: Request) -> tuple[str, list, list]:
        header: list[tuple[str, str]] = filter_oauth_params(  # type: ignore[assignment]
            collect_parameters(
                headers=request.headers, exclude_oauth_signature=False, with_realm=True
            )
        )
        query = collect_parameters(uri_query=request.uri_query, exclude_oauth_signature=False)
        body = collect_parameters(body=request.body, exclude_oauth_signature=False)
        loose: list[tuple[str, str]] = filter_oauth_params(query + body)  # type: ignore[assignment]
        names = {name for name, _ in loose}
        if header and loose and names <= _LOOSE_PARAMETERS and not names & dict(header).keys():
            params = collect_parameters(
                uri_query=request.uri_query,
                body=request.body,
                headers=request.headers,
                exclude_oauth_signature=False,
                with_realm=True,
            )
            return SIGNATURE_TYPE_AUTH_HEADER, params, header + loose
        return super()._get_signature_type_and_params(request)  # type: ignore[misc]


class _RequestTokenEndpoint(_XParameterSources, RequestTokenEndpoint):
    pass


class _AccessTokenEndpoint(_XParameterSources, AccessTokenEndpoint):
    pass


class Verifier:
    """Verifies the three kinds of signed request the emulator serves.

    Each method returns oauthlib's request (with ``client_key``, ``resource_owner_key``,
    ``redirect_uri``, ``params``) or raises :class:`Refused` with the reason.
    """

    def __init__(self, emulator: XEmulator) -> None:
        validator = XRequestValidator(emulator)
        self._request_token = _RequestTokenEndpoint(validator)
        self._access_token = _AccessTokenEndpoint(validator)
        self._resource = ResourceEndpoint(validator)

    def request_token(self, url: str, method: str, body: str, headers: dict) -> Request:
        endpoint = self._request_token
        return _judge(endpoint, endpoint.validate_request_token_request, url, method, body, headers)

    def access_token(self, url: str, method: str, body: str, headers: dict) -> Request:
        endpoint = self._access_token
        return _judge(endpoint, endpoint.validate_access_token_request, url, method, body, headers)

    def resource(self, url: str, method: str, body: str, headers: dict) -> Request:
        valid, request = self._resource.validate_protected_resource_request(
            url, method, body, headers
        )
        if request is None or not request.resource_owner_key:
            raise Refused(MALFORMED)
        if not valid:
            # oauthlib answers False without a reason for unusable parameters it checks itself.
            raise Refused(_first_reason(request, default=MALFORMED))
        return request


def _judge(
    endpoint: Any,
    validate: Callable[[Request], tuple[bool, Request]],
    url: str,
    method: str,
    body: str,
    headers: dict,
) -> Request:
    try:
        request = endpoint._create_request(url, method, body, headers)
        valid, request = validate(request)
    except errors.OAuth1Error as exc:
        raise Refused(MALFORMED) from exc
    if not valid:
        raise Refused(_first_reason(request, default=CREDENTIALS))
    return request


def _first_reason(request: Request, *, default: str) -> str:
    reasons = set(vars(request).get("x_reasons", ()))
    if request.validator_log.get("signature") is False:
        reasons.add(CREDENTIALS)
    return next((reason for reason in REASON_ORDER if reason in reasons), default)
