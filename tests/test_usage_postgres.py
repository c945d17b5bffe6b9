"""The usage ledger on PostgreSQL: concurrent writers, the timer, and a real prefork worker."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.db.models import Sum

from tests.worker_helpers import make_accounts, make_posts, wait_until
from twitter_oauth.models import ScheduledTweet, UsageRecord
from twitter_oauth.usage import Call, Counts, UsageLedger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2026, 6, 15)
WRITERS, FLUSHES, KEYS = 4, 25, 20


def test_concurrent_flushes_of_the_same_rows_add_up_exactly():
    """Each writer has its own connection, as separate processes do, and writes the same rows."""
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write() -> None:
        writer = UsageLedger()
        try:
            start.wait(timeout=10)
            for _ in range(FLUSHES):
                # The same keys in another order in each writer: the sorted upsert cannot deadlock.
                for key in sorted(range(KEYS), key=lambda n: hash((n, threading.get_ident()))):
                    writer.add(
                        Call(DAY, f"GET /2/e{key}", key),
                        Counts(requests=2, succeeded=1, billed_units=1, usd_micros=5_000),
                    )
                writer.flush()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert UsageRecord.objects.count() == KEYS
    totals = UsageRecord.objects.aggregate(
        requests=Sum("requests"), succeeded=Sum("succeeded"), usd=Sum("usd_micros")
    )
    assert totals == {
        "requests": WRITERS * FLUSHES * KEYS * 2,
        "succeeded": WRITERS * FLUSHES * KEYS,
        "usd": WRITERS * FLUSHES * KEYS * 5_000,
    }


def test_the_timer_writes_a_request_within_its_interval(settings):
    settings.TWITTER_OAUTH = {**settings.TWITTER_OAUTH, "USAGE_FLUSH_INTERVAL": 0.2}
    writer = UsageLedger()
    writer.add(Call(DAY, "POST /2/tweets", 1), Counts(requests=1, succeeded=1))
    deadline = time.monotonic() + 10
    while not UsageRecord.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert UsageRecord.objects.values_list("requests", flat=True).get() == 1
    assert writer.pending_requests == 0


def test_a_process_writes_its_counts_when_it_exits():
    db = settings.DATABASES["default"]
    script = (
        "import django, datetime; django.setup();"
        "from twitter_oauth.usage import ledger, Call, Counts;"
        "ledger.add(Call(datetime.date(2026, 6, 15), 'GET /2/users/me', 3), Counts(requests=4))"
    )
    subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        },
        check=True,
        timeout=60,
    )
    assert list(UsageRecord.objects.values_list("endpoint", "account_id", "requests")) == [
        ("GET /2/users/me", 3, 4)
    ]


def ledger_posts() -> int:
    return UsageRecord.objects.filter(endpoint="POST /2/tweets").aggregate(n=Sum("requests"))["n"]


@pytest.mark.services
def test_a_prefork_worker_counts_each_post_once_on_its_timer_and_at_shutdown(worker, emulator):
    worker.env["TEST_USAGE_FLUSH_INTERVAL"] = "1"
    accounts = make_accounts(emulator, 3)
    ids = make_posts(accounts, 30)
    process = worker.start(concurrency=2)
    worker.send(ids)
    # The children's timers write while the worker runs.
    wait_until(lambda: (ledger_posts() or 0) >= 30, timeout=60, worker=worker, what="ledger rows")
    more = ScheduledTweet.objects.bulk_create(
        ScheduledTweet(account=accounts[0], text=f"one more, number {n}") for n in range(5)
    )
    worker.send([post.pk for post in more])
    wait_until(
        lambda: emulator.emulator.count("/2/tweets", "POST") >= 35,
        timeout=60,
        worker=worker,
        what="5 more posts",
    )
    os.killpg(process.pid, signal.SIGTERM)  # a graceful shutdown writes what is left
    process.wait(timeout=30)
    ours = {
        row["endpoint"]: (row["requests"], row["succeeded"])
        for row in UsageRecord.objects.values("endpoint")
        .annotate(requests=Sum("requests"), succeeded=Sum("succeeded"))
        .order_by()
    }
    theirs = {
        row["endpoint"]: (row["requests"], row["succeeded"]) for row in emulator.emulator.usage()
    }
    assert ours == theirs
    assert ours["POST /2/tweets"] == (35, 35)
