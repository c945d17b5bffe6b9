"""Shared fixtures: the X emulator, settings pointing at it, and the local services.

Tests that need PostgreSQL, Redis or RabbitMQ skip with a reason when the service
is absent, and fail instead when ``REQUIRE_SERVICES=1`` (as in CI).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.db import connection

from tests.celery import app as celery_app  # noqa: F401 - the default app for tasks
from twitter_oauth import client
from twitter_oauth.services import delivery
from twitter_oauth.usage import ledger

pytest_plugins = [
    "twitter_oauth.testing.pytest_plugin",
    "tests.worker_helpers",
    "tests.delivery_helpers",
]

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


def require_service(name: str, url: str) -> str:
    """Return ``url`` if its server accepts connections; otherwise skip, or fail under CI."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return url
    except OSError as exc:
        reason = f"{name} is not reachable at {parts.hostname}:{parts.port} ({exc})"
        if services_required():
            pytest.fail(f"{reason}; REQUIRE_SERVICES=1 makes this an error")
        pytest.skip(reason)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # PostgreSQL-only tests belong to the PostgreSQL pass of `make test`; on SQLite
    # they are not a missing service, so they are skipped whatever REQUIRE_SERVICES says.
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    skip = pytest.mark.skip(reason="PostgreSQL only: runs in the DATABASE_URL=postgres://... pass")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def redis_url() -> str:
    return require_service("Redis", REDIS_URL)


@pytest.fixture
def amqp_url() -> str:
    return require_service("RabbitMQ", AMQP_URL)


@pytest.fixture
def x_settings(x_emulator, settings):
    """Point TWITTER_OAUTH at the running emulator, with its test consumer and OAuth 2.0 client."""
    settings.TWITTER_OAUTH = {
        **settings.TWITTER_OAUTH,
        "CONSUMER_KEY": "test-consumer-key",
        "CONSUMER_SECRET": "test-consumer-secret",
        "API_URL": x_emulator.url,
        "CLIENT_ID": "test-client-id",
        "CLIENT_SECRET": "test-client-secret",
        "OAUTH2_AUTHORIZE_URL": f"{x_emulator.url}/i/oauth2/authorize",
    }
    return settings


@pytest.fixture
def linked_account(x_settings, x_emulator, django_user_model):
    """Alice's X account, linked to a user "alice" with a password, holding a live token."""
    from twitter_oauth.models import TwitterAccount

    alice = x_emulator.state.user_by_screen_name("alice")
    token, secret = x_emulator.state.issue_access_token("test-consumer-key", alice)
    user = django_user_model.objects.create_user("alice", password="pw")
    return TwitterAccount.objects.create(
        user=user,
        twitter_id=alice.id,
        screen_name="alice",
        access_token=token,
        access_token_secret=secret,
    )


@pytest.fixture
def oauth2_settings(x_settings):
    """As ``x_settings``, with OAuth 2.0 as the protocol the views start."""
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "PROTOCOL": "oauth2"}
    return x_settings


@pytest.fixture(autouse=True)
def _fresh_http_session():
    """Each test starts with no pooled connection to a previous test's emulator."""
    yield
    client.reset_session()


@pytest.fixture(autouse=True)
def _fresh_delivery_pace():
    """Each test's sender claims full batches until it has timed its own posts."""
    delivery.pace = delivery.Pace()


@pytest.fixture(autouse=True)
def _fresh_usage_ledger():
    """Each test starts with no usage counted by a previous one."""
    ledger.discard()
    yield
    ledger.discard()
