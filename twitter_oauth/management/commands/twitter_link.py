"""``manage.py twitter_link USERNAME``: link an X account without a browser on this machine.

The out-of-band (PIN) flow: open the printed address anywhere, authorize the
app, and type (or pipe) the PIN X shows.
"""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from twitter_oauth import services
from twitter_oauth.exceptions import SignInError, TwitterAuthError, TwitterError

#: A PIN is 7 digits; anything much longer was not copied from X's page.
MAX_PIN_LENGTH = 64


class Command(BaseCommand):
    help = (
        "Link an X account to USERNAME with X's PIN flow: prints the authorize address on a line "
        "of its own, then reads the PIN from standard input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the user the X account is linked to")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        try:
            request_token, authorize_url = services.start_pin_flow()
        except TwitterError as exc:
            raise CommandError(f"Could not start linking at X: {exc}") from exc
        self.stdout.write("Open this address, authorize the app, then enter the PIN X shows:")
        self.stdout.write(authorize_url)
        self.stdout.write("PIN: ", ending="")
        self.stdout.flush()
        pin = sys.stdin.readline().strip()
        if not pin:
            raise CommandError("No PIN was entered; nothing was linked.")
        if len(pin) > MAX_PIN_LENGTH or not pin.isalnum():
            raise CommandError(
                "That is not a PIN from X (expected a few digits); nothing was linked."
            )
        try:
            result = services.finish_pin_flow(user, request_token, pin)
        except TwitterAuthError as exc:
            raise CommandError(
                f"X refused the PIN (a wrong PIN, or more than a few minutes old): {exc}"
            ) from exc
        except TwitterError as exc:
            raise CommandError(f"Could not finish linking at X: {exc}") from exc
        except SignInError as exc:
            raise CommandError(exc.message) from exc
        verb = "Linked" if result.created_account else "Renewed the link of"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} @{result.account.screen_name} to {username}.")
        )
