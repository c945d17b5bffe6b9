"""Sign in N users through the emulator, in-process; print calls to X, SQL and time per sign-in.

    .venv/bin/python bench/signin.py [--users 200] [--database-url postgres://...]
        [--protocol oauth1 --protocol oauth2]

Each sign-in is the site's two requests (POST login, GET callback); the person's
visit to X's page is done through the emulator's state and not timed. For each
protocol, the first pass signs up new users, the second signs the same people in
again. OAuth 1.0a calls X for a request token and an access token; OAuth 2.0 for
the token exchange and ``GET 2/users/me`` (its token answer names no user).
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
    parser.add_argument(
        "--protocol", action="append", choices=("oauth1", "oauth2"), help="default: both"
    )
    args = parser.parse_args()
    with test_database(args.database_url):
        from django.conf import settings
        from django.db import connection
        from django.test import Client

        from twitter_oauth.testing import EmulatorServer, XEmulator

        emulator = XEmulator(
            {"bench-key": "bench-secret"},
            clients={"bench-client": "bench-client-secret"},
            post_limit=10**9,
        )
        with EmulatorServer(emulator) as server:
            settings.TWITTER_OAUTH = {
                **settings.TWITTER_OAUTH,
                "CONSUMER_KEY": "bench-key",
                "CONSUMER_SECRET": "bench-secret",
                "CLIENT_ID": "bench-client",
                "CLIENT_SECRET": "bench-client-secret",
                "API_URL": server.url,
                "OAUTH2_AUTHORIZE_URL": f"{server.url}/i/oauth2/authorize",
                # no profile fetch in the measured path: it runs later, in a worker
                "PROFILE_REFRESH_INTERVAL": 10**9,
            }
            settings.CELERY_TASK_ALWAYS_EAGER = False
            for protocol in args.protocol or ("oauth1", "oauth2"):
                people = [emulator.add_user(f"{protocol}{n}") for n in range(args.users)]
                for label in ("new users", "returning users"):
                    rows = [sign_in_once(Client(), emulator, person, protocol) for person in people]
                    report(f"{protocol} {label}", rows, connection.vendor)


def sign_in_once(browser, emulator, person, protocol: str) -> tuple[int, int, int, float]:
    """One sign-in: calls to X, SQL of the login view, SQL of the callback, ms of both."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # the log keeps 9000 statements; counts need it unclipped
    before = emulator.count()
    with CaptureQueriesContext(connection) as login_queries:
        started = time.perf_counter()
        response = browser.post("/accounts/twitter/login/", {"protocol": protocol})
        elapsed = time.perf_counter() - started
    location = response["Location"]
    if protocol == "oauth2":
        back = parse_qs(urlsplit(emulator.authorize_oauth2(location, person)).query)
        query = {"state": back["state"][0], "code": back["code"][0]}
    else:
        token = parse_qs(urlsplit(location).query)["oauth_token"][0]
        query = {"oauth_token": token, "oauth_verifier": emulator.authorize(token, person)}
    with CaptureQueriesContext(connection) as callback_queries:
        started = time.perf_counter()
        done = browser.get("/accounts/twitter/callback/", query)
        elapsed += time.perf_counter() - started
    assert done.status_code == 302, done
    assert "/home/" in done["Location"], done["Location"]
    return emulator.count() - before, len(login_queries), len(callback_queries), elapsed * 1000


def report(label: str, rows: list[tuple[int, int, int, float]], vendor: str) -> None:
    calls = [row[0] for row in rows]
    login = [row[1] for row in rows]
    callback = [row[2] for row in rows]
    millis = sorted(row[3] for row in rows)
    p90 = millis[int(len(millis) * 0.9) - 1]
    print(
        f"{label:22} n={len(rows):4} db={vendor:10} "
        f"calls to X/sign-in={statistics.mean(calls):.1f} "
        f"SQL login={max(login)} callback={max(callback)} "
        f"ms/sign-in median={statistics.median(millis):.2f} p90={p90:.2f}"
    )


if __name__ == "__main__":
    main()
