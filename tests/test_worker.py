"""A real Celery worker, against Redis and against RabbitMQ, posting through the emulator.

The worker is a subprocess using tests.settings, pointed by environment at this
test's PostgreSQL database, broker queue and emulator. Posts are created here
and their tasks published by name, as a web process would.
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

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
SEND_TASK = "twitter_oauth.tasks.send_scheduled_tweet"
Status = ScheduledTweet.Status


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
            "TEST_BEAT_INTERVAL": "1",
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


def test_two_hundred_posts_are_each_sent_once(worker, emulator):
    accounts = make_accounts(emulator, 4)
    ids = make_posts(accounts, 200)
    worker.start()
    worker.send(ids)
    wait_until(all_done(200), timeout=90, worker=worker, what="200 posts")
    assert_each_posted_once(emulator, 200)
    assert emulator.emulator.count("/2/tweets", "POST") == 200  # no retries were needed


def test_outages_and_rate_limits_lose_nothing_and_respect_the_reset(worker, emulator):
    accounts = make_accounts(emulator, 4)
    ids = make_posts(accounts, 200)
    emulator.emulator.inject("/2/tweets", status=503, times=None, rate=0.3)
    emulator.emulator.inject("/2/tweets", status=429, times=4, rate=0.1, reset_in=2)
    worker.start(beat=True)
    worker.send(ids)
    wait_until(all_done(200), timeout=150, worker=worker, what="posts through outages")
    emulator.emulator.clear_faults()
    assert_each_posted_once(emulator, 200)

    requests = emulator.emulator.requests
    limited = [r for r in requests if r.status == 429]
    assert len(limited) == 4
    assert sum(r.status == 503 for r in requests) >= 30
    for hit in limited:
        reset = int(hit.response_headers["x-rate-limit-reset"])
        early = [r for r in requests if r.token == hit.token and hit.at < r.at < reset]
        assert early == [], f"{len(early)} request(s) with a limited token before its reset"


def test_a_worker_killed_mid_send_loses_nothing_and_posts_nothing_twice(worker, emulator):
    accounts = make_accounts(emulator, 2)
    ids = make_posts(accounts, 100)
    slow = {"delay": 0.05, "times": None}  # keep the batch going a while
    emulator.emulator.inject("/2/tweets", **slow)
    first = worker.start(concurrency=2)
    worker.send(ids)
    wait_until(
        lambda: ScheduledTweet.objects.filter(status=Status.SENT).count() >= 20,
        timeout=60, worker=worker, what="the first 20 posts",
    )  # fmt: skip
    emulator.emulator.clear_faults()
    in_flight = emulator.emulator.inject("/2/tweets", delay=1.5, times=1)
    emulator.emulator.inject("/2/tweets", **slow)
    wait_until(lambda: in_flight.applied == 1, timeout=30, worker=worker, what="a send in flight")
    worker.kill(first)
    emulator.emulator.clear_faults()
    assert ScheduledTweet.objects.filter(status=Status.SENDING).exists()

    worker.start(beat=True)  # a new worker, with the sweep that takes over abandoned posts
    worker.send(ScheduledTweet.objects.filter(status=Status.PENDING).values_list("pk", flat=True))
    wait_until(all_done(100), timeout=120, worker=worker, what="recovery after SIGKILL")
    assert_each_posted_once(emulator, 100)
    # The post the dead worker was sending was taken over, and X was asked before posting.
    assert ScheduledTweet.objects.filter(attempts__gte=2).exists()
    lookups = [
        r for r in emulator.emulator.requests if r.path.endswith("/tweets") and r.method == "GET"
    ]
    assert lookups


def test_a_revoked_token_fails_its_posts_clearly(worker, emulator):
    accounts = make_accounts(emulator, 2)
    emulator.emulator.revoke(accounts[0].access_token)
    ids = make_posts(accounts, 10)
    worker.start()
    worker.send(ids)
    wait_until(all_done(10), timeout=60, worker=worker, what="10 posts")
    failed = ScheduledTweet.objects.filter(status=Status.FAILED)
    assert set(failed.values_list("account", flat=True)) == {accounts[0].pk}
    assert failed.count() == 5
    assert all("revoked" in error for error in failed.values_list("last_error", flat=True))
    assert ScheduledTweet.objects.filter(status=Status.SENT, account=accounts[1]).count() == 5
    accounts[0].refresh_from_db()
    assert accounts[0].revoked_at is not None
