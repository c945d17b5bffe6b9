"""``manage.py twitter_send_due [--every SECONDS]``: send due posts in this process.

With Celery, the dispatcher (``send_due_tweets`` from beat) starts senders in
the workers. Without a broker (cron, or the example project's eager mode), run
this command: it sends what is due, including retries and posts whose worker
died, then exits, or with ``--every`` keeps going until stopped.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from twitter_oauth import services


class Command(BaseCommand):
    help = "Send posts that are due and posts whose worker died; --every repeats until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        while True:
            result = services.send_due()
            if result.claimed or not every:
                self.stdout.write(
                    f"sent {result.sent}, failed {result.failed}, "
                    f"retrying {result.retried}, waiting {result.held}"
                )
            if result.more:
                continue
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
