"""``{% load twitter_oauth %}``: buttons for signing in, linking and unlinking, and their URLs.

The buttons are POST forms with the CSRF token (a login must never start from a
GET); their templates live under ``twitter_oauth/tags/`` and can be overridden.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from twitter_oauth.models import TwitterAccount
from twitter_oauth.services.flows import PROTOCOLS

register = template.Library()


BUTTON = "twitter_oauth/tags/button.html"


def _button(
    context: template.Context,
    url: str,
    modifier: str,
    label: str,
    next_url: str | None,
    css_class: str,
    protocol: str | None = None,
) -> dict[str, Any]:
    if protocol is not None and protocol not in PROTOCOLS:
        raise template.TemplateSyntaxError(
            f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}"
        )
    classes = f"twitter-oauth-button twitter-oauth-button--{modifier} {css_class}".strip()
    return {
        "url": url,
        "label": label,
        "next": next_url,
        "protocol": protocol,
        "css_class": classes,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag(BUTTON, takes_context=True)
def twitter_login_button(
    context: template.Context,
    next: str | None = None,
    label: str | None = None,
    css_class: str = "",
    protocol: str | None = None,
) -> dict[str, Any]:
    """``{% twitter_login_button next=request.path label="Sign in with X" css_class="big" %}``

    ``protocol="oauth2"`` (or ``"oauth1"``) chooses the protocol of this button;
    without it the view starts ``TWITTER_OAUTH["PROTOCOL"]``.
    """
    url = reverse("twitter_oauth:login")
    return _button(context, url, "login", label or _("Sign in with X"), next, css_class, protocol)


@register.inclusion_tag(BUTTON, takes_context=True)
def twitter_connect_button(
    context: template.Context,
    next: str | None = None,
    label: str | None = None,
    css_class: str = "",
    protocol: str | None = None,
) -> dict[str, Any]:
    """``{% twitter_connect_button next=request.path protocol="oauth2" %}``: link an account."""
    url = reverse("twitter_oauth:connect")
    label = label or _("Connect an X account")
    return _button(context, url, "connect", label, next, css_class, protocol)


@register.inclusion_tag(BUTTON, takes_context=True)
def twitter_disconnect_button(
    context: template.Context,
    account: TwitterAccount,
    next: str | None = None,
    label: str | None = None,
    css_class: str = "",
) -> dict[str, Any]:
    """``{% twitter_disconnect_button account next=request.path %}``"""
    url = reverse("twitter_oauth:disconnect", args=[account.pk])
    default = _("Disconnect @%(name)s") % {"name": account.screen_name}
    return _button(context, url, "disconnect", label or default, next, css_class)


@register.simple_tag
def twitter_login_url() -> str:
    """The URL a hand-made login form POSTs to (with ``{% csrf_token %}``)."""
    return reverse("twitter_oauth:login")


@register.simple_tag
def twitter_connect_url() -> str:
    return reverse("twitter_oauth:connect")


@register.simple_tag
def twitter_disconnect_url(account: TwitterAccount) -> str:
    return reverse("twitter_oauth:disconnect", args=[account.pk])


@register.simple_tag(takes_context=True)
def twitter_accounts(context: template.Context) -> list[TwitterAccount]:
    """``{% twitter_accounts as accounts %}``: the signed-in user's linked accounts."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not user.is_authenticated:
        return []
    return list(TwitterAccount.objects.filter(user=user).order_by("screen_name"))
