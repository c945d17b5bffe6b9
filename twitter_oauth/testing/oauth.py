"""OAuth 1.0a verification as X does it, on oauthlib's server-side endpoints.

oauthlib's validator defaults are tuned for a generic provider; X's real shapes
are wider (access tokens carry a dash, nonces run to 42 characters), so the
limits are relaxed here. oauthlib also returns only booleans, so every refusal
records its reason on the request, and the emulator answers with X's own
status and body for it.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

from oauthlib.common import Request
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849 import errors

if TYPE_CHECKING:
    from twitter_oauth.testing.state import XEmulator

# Reasons a request is refused, most specific first; each maps to one X answer.
TIMESTAMP = "timestamp"
NONCE = "nonce"
TOKEN = "token"  # noqa: S105 - a reason, not a secret; unknown, used, expired, revoked or another consumer's token
VERIFIER = "verifier"
CALLBACK = "callback"
CREDENTIALS = "credentials"  # unknown consumer or bad signature
MALFORMED = "malformed"
REASON_ORDER = (MALFORMED, TIMESTAMP, NONCE, TOKEN, VERIFIER, CALLBACK, CREDENTIALS)

_DUMMY = "dummy-emulator-value"


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class XRequestValidator(RequestValidator):
    """Answers oauthlib's questions from the emulator's state."""

    enforce_ssl = False
    allowed_signature_methods = ("HMAC-SHA1",)
    safe_characters = set(string.ascii_letters + string.digits + "-_")
    client_key_length = (1, 100)
    request_token_length = (1, 100)
    access_token_length = (1, 100)
    nonce_length = (1, 100)
    verifier_length = (1, 100)
    # oauthlib compares against time.time(); the emulator checks its own clock instead.
    timestamp_lifetime = 10**12
    dummy_client = _DUMMY
    dummy_request_token = _DUMMY
    dummy_access_token = _DUMMY

    def __init__(self, emulator: XEmulator) -> None:
        super().__init__()
        self.emulator = emulator

    @staticmethod
    def _refuse(request: Request, reason: str) -> bool:
        vars(request).setdefault("x_reasons", []).append(reason)
        return False

    # consumers
    def validate_client_key(self, client_key: str, request: Request) -> bool:
        return client_key in self.emulator.consumers or self._refuse(request, CREDENTIALS)

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
        token = request_token or access_token or ""
        if not self.emulator.remember_nonce(client_key, int(timestamp), nonce, token):
            return self._refuse(request, NONCE)
        return True

    # request tokens
    def validate_request_token(self, client_key: str, token: str, request: Request) -> bool:
        record = self.emulator.live_request_token(token)
        if record is None or record.consumer_key != client_key:
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

    def validate_realms(self, client_key, token, request, uri=None, realms=None) -> bool:
        return True


class Verifier:
    """Verifies the three kinds of signed request the emulator serves."""

    def __init__(self, emulator: XEmulator) -> None:
        validator = XRequestValidator(emulator)
        self._request_token = RequestTokenEndpoint(validator)
        self._access_token = AccessTokenEndpoint(validator)
        self._resource = ResourceEndpoint(validator)

    def request_token(self, url: str, method: str, body: str, headers: dict) -> Request:
        request = self._parse(self._request_token, url, method, body, headers)
        return self._judge(self._request_token.validate_request_token_request, request)

    def access_token(self, url: str, method: str, body: str, headers: dict) -> Request:
        request = self._parse(self._access_token, url, method, body, headers)
        return self._judge(self._access_token.validate_access_token_request, request)

    def resource(self, url: str, method: str, body: str, headers: dict) -> Request:
        self._parse(self._resource, url, method, body, headers)
        valid, request = self._resource.validate_protected_resource_request(
            url, method, body, headers
        )
        if request is None:
            raise Refused(MALFORMED)
        if not valid:
            raise Refused(_first_reason(request, default=CREDENTIALS))
        return request

    @staticmethod
    def _parse(endpoint, url: str, method: str, body: str, headers: dict) -> Request:
        try:
            request = endpoint._create_request(url, method, body, headers)
            endpoint._check_mandatory_parameters(request)
        except errors.OAuth1Error as exc:
            raise Refused(MALFORMED) from exc
        return request

    @staticmethod
    def _judge(validate, request: Request) -> Request:
        try:
            valid, request = validate(request)
        except errors.OAuth1Error as exc:
            raise Refused(MALFORMED) from exc
        if not valid:
            raise Refused(_first_reason(request, default=CREDENTIALS))
        return request


def _first_reason(request: Request, *, default: str) -> str:
    reasons = set(getattr(request, "x_reasons", []))
    return next((reason for reason in REASON_ORDER if reason in reasons), default)
