"""Posts per second through one Celery worker process, against the emulator's own ceiling.

    .venv/bin/python bench/posting.py [--posts 1000] [--broker redis://127.0.0.1:6379/14]
        [--database-url postgres://postgres@127.0.0.1:5432/test]

Figures from one run, all against the same in-process emulator:
- ceiling: a bare keep-alive client (one requests.Session, OAuth 1.0a signing) posting in a loop;
- ours: `twitter_oauth.tasks.send_scheduled_tweet` in one worker process (--pool=threads), with
  the usage ledger counting every request (its timer writing every 5 s) and, in the same run,
  without it (USAGE_LEDGER off), to show what counting costs; `--repeat N` keeps the best of N
  alternating runs of each;
- naive: the task most people write, a new OAuth1Session built and thrown away per post.
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
OUR_TASK = "twitter_oauth.tasks.send_scheduled_tweet"
NAIVE_TASK = "bench.naive_task.naive_send"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8, help="threads in the one worker process")
    parser.add_argument(
        "--handshake-ms", type=float, default=0, help="cost of each new connection (TLS to X)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="time X takes to answer each post"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of ours with and without the ledger"
    )
    parser.add_argument("--skip-naive", action="store_true", help="leave the naive task out")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with test_database(args.database_url):
        from twitter_oauth.testing import EmulatorServer, XEmulator

        emulator = XEmulator(post_limit=10**9, daily_post_limit=10**9)
        with EmulatorServer(emulator, handshake_delay=args.handshake_ms / 1000) as server:
            print(
                f"{args.posts} posts, {args.threads} threads, {args.handshake_ms:g} ms/connection"
            )
            if args.latency_ms:
                emulator.inject("/2/tweets", delay=args.latency_ms / 1000, times=None)
            accounts = make_accounts(emulator, args.accounts)
            ceiling = bare_client(server, emulator, accounts, args.posts)
            forget_posts(emulator)
            print(f"ceiling  bare keep-alive client      {ceiling:8.1f} posts/s")
            with_ledger, without_ledger = ledger_overhead(server, emulator, accounts, args)
            ours = with_ledger
            print(
                f"ours     send_scheduled_tweet        {ours:8.1f} posts/s  ({ours / ceiling:.0%})"
            )
            print(
                f"         without the usage ledger    {without_ledger:8.1f} posts/s  "
                f"(ledger: {with_ledger / without_ledger - 1:+.1%})"
            )
            if args.skip_naive:
                return
            naive = through_worker(server, emulator, accounts, args, NAIVE_TASK)
            share = naive / ceiling
            print(f"naive    new OAuth1Session per post  {naive:8.1f} posts/s  ({share:.0%})")
            print(f"ours / naive: {ours / naive:.2f}x")


def make_accounts(emulator, count):
    from django.contrib.auth import get_user_model

    from twitter_oauth.models import TwitterAccount

    accounts = []
    for n in range(count):
        person = emulator.add_user(f"bench{n}")
        token, secret = emulator.issue_access_token(KEY, person)
        user = get_user_model().objects.create_user(f"bench{n}")
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


def bare_client(server, emulator, accounts, posts: int) -> float:
    import requests
    from requests_oauthlib import OAuth1

    session = requests.Session()
    auths = [OAuth1(KEY, SECRET, a.access_token, a.access_token_secret) for a in accounts]
    started = time.perf_counter()
    for n in range(posts):
        response = session.post(
            f"{server.url}/2/tweets", json={"text": f"ceiling {n}"}, auth=auths[n % len(auths)]
        )
        assert response.status_code == 201, response.text
    elapsed = time.perf_counter() - started
    session.close()
    return posts / elapsed


def forget_posts(emulator) -> None:
    """Clear the log and the posts, keeping the accounts' tokens."""
    with emulator.lock:
        emulator.requests.clear()
        emulator.tweets.clear()


def ledger_overhead(server, emulator, accounts, args) -> tuple[float, float]:
    """Best posts/s of ours with the usage ledger and without it, runs alternating."""
    with_ledger, without_ledger = [], []
    for _ in range(max(1, args.repeat)):
        for enabled, results in ((False, without_ledger), (True, with_ledger)):
            ledger_env = {"TEST_USAGE_LEDGER": str(enabled), "TEST_USAGE_FLUSH_INTERVAL": "5"}
            results.append(through_worker(server, emulator, accounts, args, OUR_TASK, ledger_env))
    if with_ledger:
        counted = usage_counted()
        assert counted == args.posts, f"the ledger counted {counted} of {args.posts} posts"
    return max(with_ledger), max(without_ledger)


def usage_counted() -> int:
    """Posts the ledger wrote for the last run (the worker writes them as it stops)."""
    from django.db.models import Sum

    from twitter_oauth.models import UsageRecord

    counted = UsageRecord.objects.filter(endpoint="POST /2/tweets").aggregate(n=Sum("succeeded"))
    return counted["n"] or 0


def through_worker(
    server, emulator, accounts, args, task: str, extra_env: dict[str, str] | None = None
) -> float:
    from celery import Celery
    from django.conf import settings

    from twitter_oauth.models import ScheduledTweet, UsageRecord

    ScheduledTweet.objects.all().delete()
    UsageRecord.objects.all().delete()
    forget_posts(emulator)
    rows = ScheduledTweet.objects.bulk_create(
        ScheduledTweet(account=accounts[n % len(accounts)], text=f"{task} {n}")
        for n in range(args.posts)
    )
    queue = f"bench-{os.getpid()}-{task.rsplit('.', 1)[-1]}"
    producer = Celery(broker=args.broker)
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
        **(extra_env or {}),
    }
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "tests.celery", "worker",
         "--pool=threads", f"--concurrency={args.threads}",
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


if __name__ == "__main__":
    main()
