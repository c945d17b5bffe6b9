"""``manage.py twitter_send_due [--every SECONDS]``: enqueue due posts, for sites without beat.

With Celery beat, the ``send_due_tweets`` task does this every minute. Without
it (cron, or the example project's eager mode), run this command.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from twitter_oauth import services


class Command(BaseCommand):
    help = "Enqueue posts that are due and posts whose worker died; --every repeats until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        while True:
            count = services.enqueue_due()
            if count or not every:
                self.stdout.write(f"enqueued {count} post(s)")
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
