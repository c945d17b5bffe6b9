"""Settings for the test suite: SQLite by default, DATABASE_URL=postgres://... for PostgreSQL."""

import os

import environ

from twitter_oauth.beat import beat_schedule

env = environ.Env()

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "twitter_oauth",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("TEST", {})["NAME"] = "test_twitter_oauth_" + str(os.getpid())

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
LOGIN_URL = "/signin/"
LOGIN_REDIRECT_URL = "/home/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Eager unless a test starts a real worker with CELERY_BROKER_URL set (tests/test_worker.py).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=None)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env("TEST_CELERY_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery closes Django's database connection after every task unless told to reuse it;
# reconnecting costs more than a post. Reused for this many tasks, then recycled.
CELERY_DB_REUSE_MAX = 1000
CELERY_BEAT_SCHEDULE = beat_schedule(send_due_every=env.float("TEST_BEAT_INTERVAL", default=60.0))

TWITTER_OAUTH = {
    "CONSUMER_KEY": "test-consumer-key",
    "CONSUMER_SECRET": "test-consumer-secret",
    # The emulator's test client (a worker started by a test refreshes OAuth 2.0 tokens with it).
    "CLIENT_ID": "test-client-id",
    "CLIENT_SECRET": "test-client-secret",
    # Tests that talk to X point this at the emulator; a worker started by a test gets it here.
    "API_URL": env("TEST_TWITTER_API_URL", default="http://127.0.0.1:9"),
    "TOKEN_KEYS": ["0Oa2iZ9bXpYw8pJd0Sx1d6c3QzR8k0yH4lQw5cJmVtA="],
    "POOL_SIZE": env.int("TEST_POOL_SIZE", default=10),
    "POST_PARALLEL_SENDERS": env.int("TEST_POST_PARALLEL_SENDERS", default=8),
    "POST_LEASE": env.float("TEST_POST_LEASE", default=60.0),
    "POST_MAX_ATTEMPTS": env.int("TEST_POST_MAX_ATTEMPTS", default=6),
    "POST_RETRY_BACKOFF": env.float("TEST_POST_RETRY_BACKOFF", default=30.0),
    "POST_RETRY_BACKOFF_MAX": env.float("TEST_POST_RETRY_BACKOFF_MAX", default=3600.0),
    "APP_HOLD_PROBE_INTERVAL": env.float("TEST_APP_HOLD_PROBE_INTERVAL", default=300.0),
    # In-process tests write the usage ledger themselves (flush()), inside their transaction;
    # a worker a test starts gets the timer with TEST_USAGE_FLUSH_INTERVAL.
    "USAGE_FLUSH_INTERVAL": env.float("TEST_USAGE_FLUSH_INTERVAL", default=None),
    "USAGE_LEDGER": env.bool("TEST_USAGE_LEDGER", default=True),
}
