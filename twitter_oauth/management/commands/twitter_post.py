"""``manage.py twitter_post SCREEN_NAME "text" [--at ISO-8601]``: schedule a post, print its id."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from twitter_oauth import services
from twitter_oauth.exceptions import PostRejected
from twitter_oauth.models import TwitterAccount


class Command(BaseCommand):
    help = "Schedule a post for a linked X account (now, or --at a time) and print its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("screen_name", help="the linked account, with or without @")
        parser.add_argument("text")
        parser.add_argument(
            "--at",
            dest="send_at",
            help="when to post, ISO 8601 (2026-12-01T09:00:00+01:00); without an offset, "
            "the project's TIME_ZONE",
        )

    def handle(
        self, *args: Any, screen_name: str, text: str, send_at: str | None, **options: Any
    ) -> None:
        name = screen_name.lstrip("@")
        accounts = list(TwitterAccount.objects.filter(screen_name__iexact=name)[:2])
        if not accounts:
            raise CommandError(f"No linked X account @{name}.")
        if len(accounts) > 1:
            raise CommandError(
                f"More than one linked account is called @{name}; unlink the stale one."
            )
        when = self._parse_time(send_at) if send_at else None
        try:
            scheduled = services.schedule_tweet(accounts[0], text, send_at=when)
        except PostRejected as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(str(scheduled.pk))

    @staticmethod
    def _parse_time(value: str) -> dt.datetime:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise CommandError(f"--at {value!r} is not an ISO 8601 date and time.")
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed
