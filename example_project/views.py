from django.conf import settings
from django.core import checks
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from twitter_oauth.conf import app_settings


def _broker_description() -> str:
    broker = settings.CELERY_BROKER_URL
    if not broker:
        return "none: tasks run eagerly in the web process"
    scheme, _, rest = broker.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"  # never show a broker password


def home(request: HttpRequest) -> HttpResponse:
    configuration = {
        "X API": app_settings.API_URL,
        "X authorize pages": app_settings.AUTHORIZE_URL,
        "Consumer key": app_settings.CONSUMER_KEY or "(not set)",
        "Token encryption keys": len(app_settings.TOKEN_KEYS) or "none: derived from SECRET_KEY",
        "Database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "Celery broker": _broker_description(),
    }
    problems = [
        message
        for message in checks.run_checks(tags=["twitter_oauth"])
        if message.id and message.id.startswith("twitter_oauth.")
    ]
    accounts = request.user.twitter_accounts.all() if request.user.is_authenticated else []
    return render(
        request,
        "example/home.html",
        {"configuration": configuration, "problems": problems, "accounts": accounts},
    )
