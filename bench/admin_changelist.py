"""The TwitterAccount changelist on a big table: queries and milliseconds per page.

    .venv/bin/python bench/admin_changelist.py [--rows 1000000]
        [--database-url postgres://postgres@127.0.0.1:5432/test]

Rows are inserted with one INSERT ... SELECT generate_series (PostgreSQL), then the
changelist, a search and a filter are each fetched a few times as a superuser.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._django import test_database  # noqa: E402

PAGES = {
    "changelist": "/admin/twitter_oauth/twitteraccount/",
    "search": "/admin/twitter_oauth/twitteraccount/?q=name4242",
    "filter": "/admin/twitter_oauth/twitteraccount/?revoked=no",
    "last page": "/admin/twitter_oauth/twitteraccount/?p=99",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with test_database(args.database_url):
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from twitter_oauth import crypto

        started = time.perf_counter()
        token, secret = crypto.encrypt("1-token"), crypto.encrypt("secret")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO auth_user (username, password, is_superuser, first_name, last_name,"
                " email, is_staff, is_active, date_joined)"
                " SELECT 'user' || n, '!', false, '', '', '', false, true, now()"
                " FROM generate_series(1, %s) AS n",
                [args.rows],
            )
            cursor.execute(
                "INSERT INTO twitter_oauth_twitteraccount (user_id, twitter_id, screen_name, name,"
                " profile_image_url, access_token, access_token_secret, created_at, updated_at)"
                " SELECT id, (1000000 + id)::text, 'name' || id, '', '', %s, %s, now(), now()"
                " FROM auth_user",
                [token, secret],
            )
            cursor.execute("ANALYZE")
        print(f"inserted {args.rows} accounts in {time.perf_counter() - started:.1f} s")
        get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
        client = Client()
        client.login(username="admin", password="pw")
        for label, url in PAGES.items():
            timings = []
            for _ in range(5):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.status_code
            print(
                f"{label:11} {len(queries):2} queries  median {statistics.median(timings):7.1f} ms"
            )


if __name__ == "__main__":
    main()
