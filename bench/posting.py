"""Posts per second through the sender, against the client's own ceiling, and what X would bill.

    .venv/bin/python bench/posting.py [--posts 2000] [--accounts 20]
        [--latency-ms 0] [--handshake-ms 0] [--threads 16]
        [--broker redis://127.0.0.1:6379/14] [--database-url postgres://...]
        [--skip-billing] [--skip-naive] [--ledger-repeat 3] [--ledger-only]

Figures from one run, all against the same in-process emulator:
- ceiling: a bare keep-alive client (one requests.Session, OAuth 1.0a signing) posting in a loop;
- no env: the same with ``trust_env`` off, so that requests does not read the proxy variables
  on every request (the client reads them once per host); the sender is also reported
  against it;
- post_tweet: ``services.post_tweet`` in a loop in this process;
- prefork -c 1: one Celery worker process running the sender (batches claimed from the rows);
- threads -c N: one worker process with N threads (the pool recommended when X is far away);
- naive: the task most people write, a new OAuth1Session per post, one task per post;
- usage ledger: the post_tweet loop and the threads sender with the usage ledger counting every
  request (its thread writing every 5 s) and without it (USAGE_LEDGER off), alternating
  --ledger-repeat times, best of each; the ledger must have counted every post;
- billing: 1,000 posts with 15% 503s and 15% lost answers, sent by the sender with its bounded
  look (at most 5 posts since the uncertain attempt), then with the 50-post look-back it replaced.
Worker throughput is measured between the first and the last post's arrival at the emulator,
so worker start-up is left out.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._django import test_database  # noqa: E402

KEY, SECRET = "test-consumer-key", "test-consumer-secret"
SENDER_TASK = "twitter_oauth.tasks.send_due_posts"
NAIVE_TASK = "bench.naive_task.naive_send"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--threads", type=int, default=16, help="threads of the threads pool")
    parser.add_argument(
        "--handshake-ms", type=float, default=0, help="cost of each new connection (TLS to X)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="time X takes to answer each post"
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--sequential-posts",
        type=int,
        default=None,
        help="posts for the one-at-a-time runs (ceiling, loop, prefork -c 1); default --posts",
    )
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-billing", action="store_true")
    parser.add_argument(
        "--ledger-repeat", type=int, default=3, help="runs with and without the ledger (0: none)"
    )
    parser.add_argument(
        "--ledger-only", action="store_true", help="only the runs with and without the ledger"
    )
    args = parser.parse_args()
    with test_database(args.database_url):
        from twitter_oauth.testing import EmulatorServer, XEmulator

        emulator = XEmulator(post_limit=10**9, daily_post_limit=10**9)
        with EmulatorServer(emulator, handshake_delay=args.handshake_ms / 1000) as server:
            print(
                f"{args.posts} posts on {args.accounts} accounts, X {args.latency_ms:g} ms away, "
                f"{args.handshake_ms:g} ms per new connection"
            )
            if args.latency_ms:
                emulator.inject("/2/tweets", delay=args.latency_ms / 1000, times=None)
            accounts = make_accounts(emulator, args.accounts)
            if args.ledger_only:
                ledger_overhead(server, emulator, accounts, args)
                return
            sequential = argparse.Namespace(**vars(args))
            sequential.posts = args.sequential_posts or args.posts
            ceiling = bare_client(server, accounts, sequential.posts)
            report("ceiling", "bare keep-alive client", ceiling, ceiling)
            no_env = bare_client(server, accounts, sequential.posts, trust_env=False)
            report("no env", "bare client, trust_env off", no_env, ceiling)
            loop = in_process(server, emulator, accounts, sequential)
            report("loop", "services.post_tweet", loop, ceiling)
            ours = through_worker(
                server, emulator, accounts, sequential, pool="prefork", concurrency=1
            )
            report("ours", "sender, prefork -c 1", ours, ceiling)
            report("", "  the same, against no env", ours, no_env)
            threaded = through_worker(
                server, emulator, accounts, args, pool="threads", concurrency=args.threads
            )
            report("ours", f"sender, threads -c {args.threads}", threaded, ceiling)
            if not args.skip_naive:
                naive = through_worker(
                    server, emulator, accounts, args, pool="threads",
                    concurrency=args.threads, task=NAIVE_TASK,
                )  # fmt: skip
                report("naive", "OAuth1Session per post", naive, ceiling)
            if args.ledger_repeat:
                ledger_overhead(server, emulator, accounts, args)
        if not args.skip_billing:
            billing(accounts_count=min(args.accounts, 10))


def report(label: str, what: str, rate: float, ceiling: float) -> None:
    print(f"{label:8} {what:30} {rate:8.1f} posts/s  ({rate / ceiling:.0%})", flush=True)


def make_accounts(emulator, count):
    from django.contrib.auth import get_user_model

    from twitter_oauth.models import TwitterAccount

    accounts = []
    for n in range(count):
        person = emulator.add_user(f"bench{n}")
        token, secret = emulator.issue_access_token(KEY, person)
        user = get_user_model().objects.create_user(f"bench{n}-{time.monotonic_ns()}")
        accounts.append(
            TwitterAccount.objects.create(
                user=user,
                twitter_id=person.id,
                screen_name=person.screen_name,
                access_token=token,
                access_token_secret=secret,
            )
        )
    return accounts


def bare_client(server, accounts, posts: int, *, trust_env: bool = True) -> float:
    import requests
    from requests_oauthlib import OAuth1

    session = requests.Session()
    session.trust_env = trust_env
    auths = [OAuth1(KEY, SECRET, a.access_token, a.access_token_secret) for a in accounts]
    started = time.perf_counter()
    for n in range(posts):
        response = session.post(
            f"{server.url}/2/tweets",
            json={"text": f"ceiling {trust_env} {n}"},
            auth=auths[n % len(auths)],
        )
        assert response.status_code == 201, response.text
    elapsed = time.perf_counter() - started
    session.close()
    return posts / elapsed


def in_process(server, emulator, accounts, args, **overrides) -> float:
    from django.conf import settings
    from django.test.utils import override_settings

    from twitter_oauth import services

    forget_posts(emulator)
    changed = {**settings.TWITTER_OAUTH, "API_URL": server.url, **overrides}
    with override_settings(TWITTER_OAUTH=changed):
        started = time.perf_counter()
        for n in range(args.posts):
            services.post_tweet(accounts[n % len(accounts)], f"loop {n}")
        return args.posts / (time.perf_counter() - started)


def forget_posts(emulator) -> None:
    """Clear the log and the posts, keeping the accounts' tokens."""
    with emulator.lock:
        emulator.requests.clear()
        emulator.tweets.clear()
        emulator._texts.clear()


def ledger_overhead(server, emulator, accounts, args) -> None:
    """Posts/s with the usage ledger and without it, in this process and through the sender."""
    from twitter_oauth.models import UsageRecord
    from twitter_oauth.usage import ledger

    print("\nthe usage ledger (best of alternating runs):")
    for label in ("services.post_tweet loop", f"sender, threads -c {args.threads}"):
        rates: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.ledger_repeat):
            for enabled in (False, True):
                UsageRecord.objects.all().delete()
                if label.startswith("sender"):
                    rate = through_worker(
                        server, emulator, accounts, args, pool="threads",
                        concurrency=args.threads,
                        extra_env={"TEST_USAGE_LEDGER": str(enabled),
                                   "TEST_USAGE_FLUSH_INTERVAL": "5"},
                    )  # fmt: skip
                else:
                    rate = in_process(
                        server, emulator, accounts, args,
                        USAGE_LEDGER=enabled, USAGE_FLUSH_INTERVAL=5.0,
                    )  # fmt: skip
                    ledger.flush()
                rates[enabled].append(rate)
        counted = usage_counted()
        assert counted == args.posts, f"the ledger counted {counted} of {args.posts} posts"
        with_ledger, without_ledger = max(rates[True]), max(rates[False])
        print(
            f"  {label:28} {without_ledger:8.1f} posts/s without, {with_ledger:8.1f} with "
            f"({with_ledger / without_ledger - 1:+.1%})",
            flush=True,
        )


def usage_counted() -> int:
    """Posts the ledger wrote in the last run with it (a worker writes as it stops)."""
    from django.db.models import Sum

    from twitter_oauth.models import UsageRecord

    counted = UsageRecord.objects.filter(endpoint="POST /2/tweets").aggregate(n=Sum("succeeded"))
    return counted["n"] or 0


def through_worker(
    server, emulator, accounts, args, *, pool: str, concurrency: int, task: str = SENDER_TASK,
    extra_env: dict[str, str] | None = None,
) -> float:  # fmt: skip
    from celery import Celery
    from django.conf import settings

    from twitter_oauth.models import ScheduledTweet

    ScheduledTweet.objects.all().delete()
    forget_posts(emulator)
    rows = ScheduledTweet.objects.bulk_create(
        ScheduledTweet(
            account=accounts[n % len(accounts)],
            text=f"Post number {n}, sent through the {pool} pool.",
        )
        for n in range(args.posts)
    )
    queue = f"bench-{os.getpid()}-{pool}-{task.rsplit('.', 1)[-1]}"
    producer = Celery(broker=args.broker)
    if task == SENDER_TASK:
        # What the dispatcher does: one sender per account with due posts, up to the slots.
        for _ in range(min(concurrency, len(accounts))):
            producer.send_task(task, queue=queue)
    else:
        for row in rows:
            producer.send_task(task, args=[row.pk], queue=queue)
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}?conn_max_age=600",
        "CELERY_BROKER_URL": args.broker,
        "TEST_CELERY_QUEUE": queue,
        "TEST_TWITTER_API_URL": server.url,
        "TEST_POOL_SIZE": str(max(10, concurrency)),
        # As a deployment sets it: the task slots given to posting.
        "TEST_POST_PARALLEL_SENDERS": str(concurrency),
        **(extra_env or {}),
    }
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "tests.celery", "worker",
         f"--pool={pool}", f"--concurrency={concurrency}",
         "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-Q", queue, "-I", "bench.naive_task", "-n", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("BENCH_VERBOSE") else subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while emulator.count("/2/tweets", "POST") < args.posts and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        with producer.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        producer.close()
    with emulator.lock:
        posts = [r for r in emulator.requests if r.path == "/2/tweets" and r.status == 201]
    assert len(posts) == args.posts, f"{len(posts)} of {args.posts} posts arrived"
    return (len(posts) - 1) / (posts[-1].at - posts[0].at)


# --- what X would bill --------------------------------------------------------------------------


def billing(*, accounts_count: int, posts: int = 1000) -> None:
    """1,000 posts through 15% 503s and 15% lost answers: the bounded look vs the old look-back."""
    print(f"\nwhat X would bill for {posts} posts, 15% 503s and 15% lost answers:")
    bounded = _billed_run(accounts_count, posts, lookback=None)
    old = _billed_run(accounts_count, posts, lookback=50)
    for label, (requests, usd, billed) in (
        ("bounded look (5 since the attempt)", bounded),
        ("old look-back (50 newest)", old),
    ):
        print(
            f"  {label:36} {requests:5d} requests  ${usd:7.3f} before X's per-day de-duplication"
            f"  ${billed:7.3f} billed"
        )


def _billed_run(accounts_count: int, posts: int, *, lookback: int | None):
    from unittest import mock

    from django.conf import settings
    from django.test.utils import override_settings

    from twitter_oauth.models import ScheduledTweet, TwitterAccount
    from twitter_oauth.services import delivery
    from twitter_oauth.testing import EmulatorServer, XEmulator

    TwitterAccount.objects.all().delete()  # a new emulator hands out the same user ids
    emulator = XEmulator(post_limit=10**9, daily_post_limit=10**9, seed=7)
    with EmulatorServer(emulator) as server:
        accounts = make_accounts(emulator, accounts_count)
        for account in accounts:  # an account with a history, as real ones have
            for n in range(60):
                emulator.add_tweet(account.twitter_id, f"earlier post {n}")
        ScheduledTweet.objects.all().delete()
        ScheduledTweet.objects.bulk_create(
            ScheduledTweet(account=accounts[n % len(accounts)], text=f"billed {n}")
            for n in range(posts)
        )
        emulator.inject("/2/tweets", method="POST", status=503, times=None, rate=0.15)
        emulator.inject("/2/tweets", method="POST", lose_answer=True, times=None, rate=0.15 / 0.85)
        fast = {
            **settings.TWITTER_OAUTH,
            "API_URL": server.url,
            "POST_RETRY_BACKOFF": 0.001,
            "POST_RETRY_BACKOFF_MAX": 0.001,
            "POST_MAX_ATTEMPTS": 50,
        }
        patches = []
        if lookback:
            patches.append(mock.patch.object(delivery, "LOOKUP_MAX_RESULTS", lookback))
            patches.append(mock.patch.object(delivery, "LOOKUP_CLOCK_SLACK", _Forever()))
        with override_settings(TWITTER_OAUTH=fast):
            for patch in patches:
                patch.start()
            try:
                while ScheduledTweet.objects.filter(status="pending").exists():
                    delivery.send_due(max_seconds=60)
                    time.sleep(0.002)
            finally:
                for patch in patches:
                    patch.stop()
        assert not ScheduledTweet.objects.exclude(status="sent").exists()
        usage = emulator.usage()
        return (
            sum(row["requests"] for row in usage),
            sum(row["usd"] for row in usage),
            emulator.billed_usd(),
        )


class _Forever:
    """A clock slack so large that the look starts at the beginning: the old look-back."""

    def __rsub__(self, other):
        import datetime as dt

        return dt.datetime(2011, 1, 1, tzinfo=dt.UTC)


if __name__ == "__main__":
    main()
