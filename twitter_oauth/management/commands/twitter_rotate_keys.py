"""``manage.py twitter_rotate_keys``: re-encrypt every stored token with the first key."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from twitter_oauth import crypto
from twitter_oauth.fields import EncryptedTextField


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted columns, found through the app registry."""
    found = []
    for model in apps.get_models():
        names = [
            f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        ]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored X token with the first key of TWITTER_OAUTH['TOKEN_KEYS']. "
        "To rotate: put a new key first in TOKEN_KEYS and keep the old ones after it, deploy, "
        "run this command, then remove the old keys. Running it again does no harm."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be re-encrypted, write nothing"
        )

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        unreadable: dict[str, list[Any]] = {}
        for model, names in encrypted_fields():
            label = model._meta.label
            rotated, failed = self._rotate_model(model, names, batch_size, dry_run)
            verb = "would re-encrypt" if dry_run else "re-encrypted"
            self.stdout.write(f"{label}: {verb} {rotated} row(s)")
            if failed:
                unreadable[label] = failed
        if unreadable:
            details = "; ".join(
                f"{label}: {len(pks)} row(s), pk {', '.join(map(str, pks[:20]))}"
                for label, pks in unreadable.items()
            )
            raise CommandError(
                "Some rows cannot be decrypted with any key in TOKEN_KEYS and were left as they "
                f"are ({details}). Add back the key they were encrypted with, then run again."
            )

    def _rotate_model(
        self, model: type[models.Model], names: list[str], batch_size: int, dry_run: bool
    ) -> tuple[int, list[Any]]:
        rotated, failed = 0, []
        manager = model._default_manager
        pks = list(manager.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), batch_size):
            batch = pks[start : start + batch_size]
            with transaction.atomic():
                # Lock the batch so a concurrent sign-in's new tokens are not overwritten.
                list(manager.select_for_update().filter(pk__in=batch).values_list("pk", flat=True))
                for pk, values in _ciphertexts(model, names, batch).items():
                    try:
                        plain = {n: crypto.decrypt(v) for n, v in values.items() if v is not None}
                    except crypto.TokenDecryptionError:
                        failed.append(pk)
                        continue
                    rotated += 1
                    if not dry_run:
                        manager.filter(pk=pk).update(**plain)  # the field encrypts with key one
        return rotated, failed


def _ciphertexts(
    model: type[models.Model], names: list[str], pks: list[Any]
) -> dict[Any, dict[str, str | None]]:
    """The columns as stored: a Cast to a plain TextField skips the field's decryption."""
    casts = {f"raw_{name}": Cast(name, models.TextField()) for name in names}
    rows = model._default_manager.filter(pk__in=pks).annotate(**casts).values("pk", *casts)
    return {row["pk"]: {name: row[f"raw_{name}"] for name in names} for row in rows}
