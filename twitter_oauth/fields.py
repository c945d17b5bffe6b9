"""A text field whose column holds only Fernet ciphertext and whose Python value is plain text."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError
from django.db import models

from twitter_oauth import crypto


class EncryptedTextField(models.TextField):
    """Encrypted at rest with :mod:`twitter_oauth.crypto`; reads and assigns as ``str``.

    Ciphertext is randomised, so no lookup but ``isnull`` could ever match: the
    others raise ``FieldError`` instead of silently finding nothing.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else crypto.decrypt(value)

    def to_python(self, value: Any) -> str | None:
        if value is None:
            return None
        value = str(value)
        # loaddata hands over what dumpdata wrote: ciphertext.
        return crypto.decrypt(value) if crypto.is_encrypted(value) else value

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt(str(value))

    def value_to_string(self, obj: models.Model) -> str:
        # dumpdata writes ciphertext, so fixtures never hold a token in clear.
        value = self.value_from_object(obj)
        return "" if value is None else crypto.encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.model.__name__}.{self.name} is encrypted with random nonces; "
                f"the lookup '{lookup_name}' could never match."
            )
        return super().get_lookup(lookup_name)
