"""Sign in N users through the emulator, in-process; print calls to X, SQL and time per sign-in.

    .venv/bin/python bench/signin.py [--users 200] [--database-url postgres://...]

Each sign-in is the site's two requests (POST login, GET callback); the person's
visit to X's page is done through the emulator's state and not timed. The first
pass signs up new users, the second signs the same people in again.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._django import test_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--database-url", default="", help="default: SQLite in memory")
    args = parser.parse_args()
    with test_database(args.database_url):
        from django.conf import settings
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from twitter_oauth.testing import EmulatorServer, XEmulator

        emulator = XEmulator({"bench-key": "bench-secret"}, post_limit=10**9)
        people = [emulator.add_user(f"bench{n}") for n in range(args.users)]
        with EmulatorServer(emulator) as server:
            settings.TWITTER_OAUTH = {
                **settings.TWITTER_OAUTH,
                "CONSUMER_KEY": "bench-key",
                "CONSUMER_SECRET": "bench-secret",
                "API_URL": server.url,
                # no profile fetch in the measured path: it runs later, in a worker
                "PROFILE_REFRESH_INTERVAL": 10**9,
            }
            settings.CELERY_TASK_ALWAYS_EAGER = False
            for label in ("new users", "returning users"):
                rows = []
                for person in people:
                    browser = Client()
                    before = emulator.count()
                    with CaptureQueriesContext(connection) as login_queries:
                        started = time.perf_counter()
                        response = browser.post("/accounts/twitter/login/")
                        elapsed = time.perf_counter() - started
                    token = parse_qs(urlsplit(response["Location"]).query)["oauth_token"][0]
                    verifier = emulator.authorize(token, person)
                    with CaptureQueriesContext(connection) as callback_queries:
                        started = time.perf_counter()
                        done = browser.get(
                            "/accounts/twitter/callback/",
                            {"oauth_token": token, "oauth_verifier": verifier},
                        )
                        elapsed += time.perf_counter() - started
                    assert done.status_code == 302, done.content
                    rows.append(
                        (
                            emulator.count() - before,
                            len(login_queries),
                            len(callback_queries),
                            elapsed * 1000,
                        )
                    )
                report(label, rows, connection.vendor)


def report(label: str, rows: list[tuple[int, int, int, float]], vendor: str) -> None:
    calls = [row[0] for row in rows]
    login = [row[1] for row in rows]
    callback = [row[2] for row in rows]
    millis = sorted(row[3] for row in rows)
    p90 = millis[int(len(millis) * 0.9) - 1]
    print(
        f"{label:16} n={len(rows):4} db={vendor:10} "
        f"calls to X/sign-in={statistics.mean(calls):.1f} "
        f"SQL login={max(login)} callback={max(callback)} "
        f"ms/sign-in median={statistics.median(millis):.2f} p90={p90:.2f}"
    )


if __name__ == "__main__":
    main()
