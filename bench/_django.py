"""Shared set-up for the benchmarks: Django with tests.settings on a throw-away test database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def test_database(database_url: str | None) -> Iterator[None]:
    """Set Django up (SQLite in memory, or ``database_url``) and create a test database."""
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        yield
    finally:
        from twitter_oauth.usage import ledger

        ledger.flush()  # what the runs counted, before its table goes (not at exit)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
