from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import checks
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from example_project.forms import ComposeForm
from twitter_oauth import services
from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import PostRejected
from twitter_oauth.models import ScheduledTweet
from twitter_oauth.services import holds
from twitter_oauth.services.usage import post_price

#: Scheduled posts listed on the home page.
RECENT_POSTS = 20


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
        "Protocol of the main button": app_settings.PROTOCOL,
        "OAuth 2.0 client": app_settings.CLIENT_ID or "(not set)",
        "OAuth 2.0 client type": "confidential" if app_settings.CLIENT_SECRET else "public",
        "OAuth 2.0 authorize page": app_settings.OAUTH2_AUTHORIZE_URL,
        "Token encryption keys": len(app_settings.TOKEN_KEYS) or "none: derived from SECRET_KEY",
        "Database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "Celery broker": _broker_description(),
    }
    problems = [
        message
        for message in checks.run_checks(tags=["twitter_oauth"])
        if message.id and message.id.startswith("twitter_oauth.")
    ]
    context = {"configuration": configuration, "problems": problems, **_other_protocol()}
    if request.user.is_authenticated:
        context.update(_signed_in_context(request))
    return render(request, "example/home.html", context)


def _other_protocol() -> dict[str, str]:
    """The protocol of the second button: the one the settings do not start."""
    other = "oauth1" if app_settings.PROTOCOL == "oauth2" else "oauth2"
    return {
        "other_protocol": other,
        "other_protocol_name": "OAuth 1.0a" if other == "oauth1" else "OAuth 2.0",
    }


def _signed_in_context(request: HttpRequest, form: ComposeForm | None = None) -> dict:
    return {
        **_other_protocol(),
        "accounts": request.user.twitter_accounts.all(),
        "form": form or ComposeForm(user=request.user),
        "prices": app_settings.PRICES,
        "posts": ScheduledTweet.objects.filter(account__user=request.user)
        .select_related("account")
        .order_by("-created_at")[:RECENT_POSTS],
        # Pending posts wait for this while X holds the app ("waiting: X credits depleted").
        "hold": holds.state().latest(),
    }


@login_required
@require_POST
def compose(request: HttpRequest) -> HttpResponse:
    form = ComposeForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            scheduled = services.schedule_tweet(
                form.cleaned_data["account"],
                form.cleaned_data["text"],
                form.cleaned_data["send_at"],
            )
        except PostRejected as exc:
            form.add_error("text", exc.message)
        else:
            when = (
                "now"
                if not form.cleaned_data["send_at"]
                else f"at {scheduled.send_at:%Y-%m-%d %H:%M} UTC"
            )
            messages.success(
                request, f"Post for @{scheduled.account.screen_name} scheduled {when}."
            )
            price = post_price(scheduled.text)
            if price.has_url:
                messages.warning(
                    request,
                    f"This post contains a link: X charges ${price.usd:.2f} for it "
                    f"instead of ${price.without_url:.3f}.",
                )
            return redirect("home")
    messages.error(request, "The post was not scheduled; see the form below.")
    return render(request, "example/home.html", _signed_in_context(request, form), status=400)
