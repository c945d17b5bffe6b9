"""Real Celery workers for tests: subprocesses on PostgreSQL, Redis or RabbitMQ, and the emulator.

A worker uses tests.settings, pointed by environment at the test's PostgreSQL
database, broker queue and emulator. Posts are created by the test; the worker's
beat (``-B``) dispatches them, as in a deployment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from twitter_oauth.models import ScheduledTweet, TwitterAccount
from twitter_oauth.testing import EmulatorServer, XEmulator

ROOT = Path(__file__).resolve().parent.parent
SEND_TASK = "twitter_oauth.tasks.send_scheduled_tweet"
Status = ScheduledTweet.Status
#: The beat interval of test workers: the dispatch interval of the delivery bound.
DISPATCH_INTERVAL = 1.0


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request):
    return request.getfixturevalue("redis_url" if request.param == "redis" else "amqp_url")


@pytest.fixture
def emulator():
    state = XEmulator(post_limit=10**6, daily_post_limit=10**6, seed=11)
    with EmulatorServer(state) as server:
        yield server


class Worker:
    """Starts and stops `celery worker` subprocesses for one test."""

    def __init__(self, broker_url: str, emulator: EmulatorServer, tmp_path: Path) -> None:
        self.broker_url = broker_url
        self.queue = f"twitter-oauth-test-{uuid.uuid4().hex[:8]}"
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []
        db = settings.DATABASES["default"]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "TEST_CELERY_QUEUE": self.queue,
            "TEST_TWITTER_API_URL": emulator.url,
            "TEST_POST_LEASE": "3",
            # With 30% of posts failing, 6 attempts would give up on one post in 7 runs.
            "TEST_POST_MAX_ATTEMPTS": "25",
            "TEST_POST_RETRY_BACKOFF": "0.2",
            "TEST_POST_RETRY_BACKOFF_MAX": "1",
            "TEST_BEAT_INTERVAL": str(DISPATCH_INTERVAL),
        }
        self.producer = Celery(broker=broker_url)
        self.producer.conf.task_default_queue = self.queue

    def start(self, *, beat: bool = False, concurrency: int = 2) -> subprocess.Popen:
        command = [
            sys.executable, "-m", "celery", "-A", "tests.celery", "worker",
            "--pool=prefork", f"--concurrency={concurrency}", "--loglevel=WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-Q", self.queue, "-n", f"{self.queue}-{len(self.processes)}@%h",
        ]  # fmt: skip
        if beat:
            command += ["-B", "--schedule", str(self.tmp_path / "beat-schedule")]
        log = (self.tmp_path / f"worker-{len(self.processes)}.log").open("w")
        process = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def send(self, scheduled_ids) -> None:
        for scheduled_id in scheduled_ids:
            self.producer.send_task(SEND_TASK, args=[scheduled_id], queue=self.queue)

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
        with self.producer.connection_for_write() as connection:
            connection.default_channel.queue_delete(self.queue)
        self.producer.close()

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.tmp_path.glob("worker-*.log")))


@pytest.fixture
def worker(broker_url, emulator, tmp_path):
    worker = Worker(broker_url, emulator, tmp_path)
    yield worker
    worker.stop()


def make_accounts(emulator: EmulatorServer, count: int) -> list[TwitterAccount]:
    accounts = []
    for n in range(count):
        person = emulator.emulator.add_user(f"poster{n}")
        token, secret = emulator.emulator.issue_access_token("test-consumer-key", person)
        user = get_user_model().objects.create_user(f"poster{n}")
        accounts.append(
            TwitterAccount.objects.create(
                user=user, twitter_id=person.id, screen_name=person.screen_name,
                access_token=token, access_token_secret=secret,
            )
        )  # fmt: skip
    return accounts


def make_posts(accounts, total: int) -> list[int]:
    rows = [
        ScheduledTweet(
            account=accounts[n % len(accounts)], text=f"post number {n}", send_at=timezone.now()
        )
        for n in range(total)
    ]
    return [row.pk for row in ScheduledTweet.objects.bulk_create(rows)]


def wait_until(condition, *, timeout: float, worker: Worker, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    counts = Counter(ScheduledTweet.objects.values_list("status", flat=True))
    pytest.fail(f"timed out waiting for {what}; rows {dict(counts)}\n{worker.logs()[-3000:]}")


def all_done(total: int):
    return lambda: (
        ScheduledTweet.objects.filter(status__in=[Status.SENT, Status.FAILED]).count() == total
    )


def assert_each_posted_once(emulator: EmulatorServer, total: int) -> None:
    rows = list(
        ScheduledTweet.objects.values_list("text", "status", "tweet_id", "account__twitter_id")
    )
    assert Counter(status for _, status, _, _ in rows) == {Status.SENT: total}
    at_x = Counter((t.author_id, t.text) for t in emulator.emulator.tweets.values())
    assert len(at_x) == total and set(at_x.values()) == {1}, "a post reached X twice"
    for text, _, tweet_id, author in rows:
        assert (author, text) in at_x
        if tweet_id:
            assert emulator.emulator.tweets[tweet_id].text == text
