"""Settings of the example site, read from the environment (and ``.env`` beside manage.py).

With nothing set it runs on SQLite, runs Celery tasks eagerly in-process and talks
to the local X emulator (``python -m twitter_oauth.testing``) on 127.0.0.1:8765
with the emulator's demo consumer and demo OAuth 2.0 client. See ``.env.example``.
"""

import os
from pathlib import Path

import environ

from twitter_oauth.testing import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
)

BASE_DIR = Path(__file__).resolve().parent.parent
EMULATOR_URL = "http://127.0.0.1:8765"

env = environ.Env(
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    TWITTER_TOKEN_KEYS=(list, []),
)
environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("SECRET_KEY", default="example-project-insecure-key-change-me")
DEBUG = env("DEBUG")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "twitter_oauth",
    "example_project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
LOGIN_URL = "/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Celery: with no broker, tasks run eagerly in the web process.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=None)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery closes Django's database connection after every task unless told to reuse it;
# reconnecting costs more than a post. Reused for this many tasks, then recycled.
CELERY_DB_REUSE_MAX = 1000

API_URL = env("TWITTER_API_URL", default=EMULATOR_URL)
# No TWITTER_CLIENT_ID: the emulator's demo client. A TWITTER_CLIENT_SECRET that is set but
# empty: a public client (it names itself with client_id instead of HTTP Basic).
CLIENT_ID = env("TWITTER_CLIENT_ID", default=None)
TWITTER_OAUTH = {
    "CONSUMER_KEY": env("TWITTER_CONSUMER_KEY", default=DEMO_CONSUMER_KEY),
    "CONSUMER_SECRET": env("TWITTER_CONSUMER_SECRET", default=DEMO_CONSUMER_SECRET),
    "API_URL": API_URL,
    "AUTHORIZE_URL": env("TWITTER_AUTHORIZE_URL", default=None),
    "TOKEN_KEYS": env("TWITTER_TOKEN_KEYS"),
    "PROTOCOL": env("TWITTER_PROTOCOL", default="oauth1"),
    "CLIENT_ID": CLIENT_ID or DEMO_CLIENT_ID,
    # os.environ, not env(): django-environ reads an empty value as unset.
    "CLIENT_SECRET": os.environ.get(
        "TWITTER_CLIENT_SECRET", None if CLIENT_ID else DEMO_CLIENT_SECRET
    ),
    # X serves its consent page on x.com, the emulator on its one host.
    "OAUTH2_AUTHORIZE_URL": env(
        "TWITTER_OAUTH2_AUTHORIZE_URL",
        default="https://x.com/i/oauth2/authorize"
        if API_URL.rstrip("/") == "https://api.x.com"
        else f"{API_URL.rstrip('/')}/i/oauth2/authorize",
    ),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"twitter_oauth": {"handlers": ["console"], "level": "INFO"}},
}
