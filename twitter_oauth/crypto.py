"""Encryption of tokens at rest, with the Fernet keys of ``TOKEN_KEYS``.

The first key encrypts, every key decrypts (``MultiFernet``), so keys can be
rotated without downtime. With no keys configured, one is derived from
``SECRET_KEY`` (check ``twitter_oauth.W001`` warns about that).
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import TwitterOAuthConfigurationError

#: Fixed inputs of the key derived from SECRET_KEY; changing them orphans stored tokens.
DERIVED_KEY_SALT = b"django-twitter-oauth"
DERIVED_KEY_INFO = b"django-twitter-oauth token key"
#: Every Fernet token starts with its version byte 0x80, base64-encoded as "gAAAAA".
FERNET_PREFIX = "gAAAAA"


class TokenDecryptionError(TwitterOAuthConfigurationError):
    """A stored token cannot be decrypted with any key of ``TOKEN_KEYS``."""


def derive_key(secret_key: str) -> bytes:
    """The Fernet key used when ``TOKEN_KEYS`` is empty."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=DERIVED_KEY_SALT, info=DERIVED_KEY_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    # Keyed on the settings' values, so override_settings takes effect and
    # production builds it once.
    usable = [key.encode() if isinstance(key, str) else key for key in keys]
    if not usable:
        usable = [derive_key(secret_key)]
    return MultiFernet([Fernet(key) for key in usable])


def get_fernet() -> MultiFernet:
    try:
        return _fernet(tuple(app_settings.TOKEN_KEYS), settings.SECRET_KEY)
    except (ValueError, TypeError) as exc:
        raise TwitterOAuthConfigurationError(
            "TWITTER_OAUTH['TOKEN_KEYS'] holds a key that is not a Fernet key; "
            "run `manage.py check` for details."
        ) from exc


def encrypt(plaintext: str) -> str:
    return get_fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return get_fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # `from None`: the ciphertext must not travel in a traceback's context either.
        raise TokenDecryptionError(
            "A stored X token was encrypted with a key that is not in "
            "TWITTER_OAUTH['TOKEN_KEYS']: was a key removed, or SECRET_KEY changed?"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the first key."""
    try:
        return get_fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError(
            "A stored X token cannot be decrypted with any key of TWITTER_OAUTH['TOKEN_KEYS']."
        ) from None


def is_encrypted(value: str) -> bool:
    """Whether ``value`` is a Fernet token (X's tokens never look like one)."""
    return value.startswith(FERNET_PREFIX)
