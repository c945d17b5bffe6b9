"""The example project as `make demo` runs it: its settings come from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json
from django.conf import settings
from django.test import Client
from example_project.celery import app
response = Client(HTTP_HOST="127.0.0.1").get("/")
print(json.dumps({
    "api_url": settings.TWITTER_OAUTH["API_URL"],
    "consumer_key": settings.TWITTER_OAUTH["CONSUMER_KEY"],
    "token_keys": settings.TWITTER_OAUTH["TOKEN_KEYS"],
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "celery_eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "status": response.status_code,
    "page": response.content.decode(),
}))
"""


def run_example(*, probe: str = PROBE, **environment: str) -> dict:
    """Run ``probe`` in the example project with only ``environment`` of the settings' variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWITTER_", "DATABASE_URL", "CELERY_", "DJANGO_SETTINGS"))
    }
    env.update(environment)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    (ROOT / ".env").exists(), reason="a local .env would change the example project's defaults"
)
def test_defaults_use_sqlite_eager_celery_and_the_local_emulator():
    found = run_example()
    assert found["api_url"] == "http://127.0.0.1:8765"
    assert found["consumer_key"] == "demo-consumer-key"
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["eager"] is True and found["celery_eager"] is True
    assert found["status"] == 200
    assert "http://127.0.0.1:8765" in found["page"]
    assert "eagerly" in found["page"]


def test_environment_overrides_database_broker_and_x_settings():
    from cryptography.fernet import Fernet

    keys = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    found = run_example(
        DATABASE_URL="postgres://someone:pw@db.example:5432/site",
        CELERY_BROKER_URL="redis://:hunter2@127.0.0.1:6379/3",
        TWITTER_API_URL="https://api.x.com",
        TWITTER_CONSUMER_KEY="real-key",
        TWITTER_CONSUMER_SECRET="real-secret",
        TWITTER_TOKEN_KEYS=",".join(keys),
    )
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["db_name"] == "site"
    assert found["eager"] is False and found["celery_eager"] is False
    assert found["broker"] == "redis://:hunter2@127.0.0.1:6379/3"
    assert found["api_url"] == "https://api.x.com"
    assert found["token_keys"] == keys
    # the page says what is configured, never the broker password
    assert "redis://127.0.0.1:6379/3" in found["page"]
    assert "hunter2" not in found["page"]
    assert "real-secret" not in found["page"]


OAUTH2_PROBE = """
import json
from django.conf import settings
print(json.dumps({name: settings.TWITTER_OAUTH[name] for name in (
    "PROTOCOL", "CLIENT_ID", "CLIENT_SECRET", "OAUTH2_AUTHORIZE_URL")}))
"""


def run_oauth2_probe(**environment: str) -> dict:
    return run_example(probe=OAUTH2_PROBE, **environment)


@pytest.mark.skipif(
    (ROOT / ".env").exists(), reason="a local .env would change the example project's defaults"
)
def test_oauth2_defaults_use_the_emulators_demo_client_and_page():
    assert run_oauth2_probe() == {
        "PROTOCOL": "oauth1",
        "CLIENT_ID": "demo-client-id",
        "CLIENT_SECRET": "demo-client-secret",
        "OAUTH2_AUTHORIZE_URL": "http://127.0.0.1:8765/i/oauth2/authorize",
    }


def test_oauth2_environment_a_set_but_empty_secret_is_a_public_client():
    found = run_oauth2_probe(
        TWITTER_API_URL="https://api.x.com",
        TWITTER_CLIENT_ID="real-client",
        TWITTER_CLIENT_SECRET="",
        TWITTER_PROTOCOL="oauth2",
    )
    assert found == {
        "PROTOCOL": "oauth2",
        "CLIENT_ID": "real-client",
        "CLIENT_SECRET": "",
        "OAUTH2_AUTHORIZE_URL": "https://x.com/i/oauth2/authorize",
    }
    page = run_oauth2_probe(TWITTER_OAUTH2_AUTHORIZE_URL="http://127.0.0.1:9/i/oauth2/authorize")
    assert page["OAUTH2_AUTHORIZE_URL"] == "http://127.0.0.1:9/i/oauth2/authorize"
