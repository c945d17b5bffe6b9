"""The template tags, rendered and compared with exact HTML."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template

from twitter_oauth.models import TwitterAccount

LOGO = (
    '<svg class="twitter-oauth-logo" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" '
    'focusable="false"><path fill="currentColor" d="M18.244 2.25h3.308l-7.227 8.26 8.502 11.24H16.17l'
    "-5.214-6.817L4.99 21.75H1.68l7.73-8.835L1.254 2.25H8.08l4.713 6.231zm-1.161 17.52h1.833L7.084 "
    '4.126H5.117z"/></svg>\n'
)


def render(source: str, **context) -> str:
    return Template("{% load twitter_oauth %}" + source).render(
        Context({"csrf_token": "TOKEN", **context})
    )


def form(action: str, classes: str, label: str, next_url: str | None = None) -> str:
    hidden_next = f'<input type="hidden" name="next" value="{next_url}">' if next_url else ""
    return (
        f'<form method="post" action="{action}" class="twitter-oauth-form">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="TOKEN">'
        f'{hidden_next}<button type="submit" class="{classes}">{LOGO}'
        f'<span class="twitter-oauth-button__label">{label}</span></button></form>\n'
    )


def test_login_button():
    assert render("{% twitter_login_button %}") == form(
        "/accounts/twitter/login/",
        "twitter-oauth-button twitter-oauth-button--login",
        "Sign in with X",
    )


def test_login_button_with_next_label_and_class_escapes_them():
    html = render(
        '{% twitter_login_button next=where label=text css_class="big wide" %}',
        where="/a?b=1&c=<2>",
        text="Go <now>",
    )
    assert html == form(
        "/accounts/twitter/login/",
        "twitter-oauth-button twitter-oauth-button--login big wide",
        "Go &lt;now&gt;",
        next_url="/a?b=1&amp;c=&lt;2&gt;",
    )


def test_connect_button():
    assert render('{% twitter_connect_button next="/settings/" %}') == form(
        "/accounts/twitter/connect/",
        "twitter-oauth-button twitter-oauth-button--connect",
        "Connect an X account",
        next_url="/settings/",
    )


@pytest.mark.django_db
def test_disconnect_button(django_user_model):
    user = django_user_model.objects.create_user("u")
    account = TwitterAccount.objects.create(
        user=user, twitter_id="7", screen_name="alice", access_token="7-t", access_token_secret="s"
    )
    assert render("{% twitter_disconnect_button account %}", account=account) == form(
        f"/accounts/twitter/{account.pk}/disconnect/",
        "twitter-oauth-button twitter-oauth-button--disconnect",
        "Disconnect @alice",
    )


def test_without_a_csrf_token_in_the_context_no_token_field_is_rendered():
    html = Template("{% load twitter_oauth %}{% twitter_login_button %}").render(Context({}))
    assert "csrfmiddlewaretoken" not in html


@pytest.mark.django_db
def test_url_tags(django_user_model):
    user = django_user_model.objects.create_user("u")
    account = TwitterAccount.objects.create(
        user=user, twitter_id="7", screen_name="alice", access_token="7-t", access_token_secret="s"
    )
    assert render(
        "{% twitter_login_url %}|{% twitter_connect_url %}|{% twitter_disconnect_url account %}",
        account=account,
    ) == (
        f"/accounts/twitter/login/|/accounts/twitter/connect/|/accounts/twitter/{account.pk}/disconnect/"
    )


@pytest.mark.django_db
def test_twitter_accounts_lists_the_users_accounts(django_user_model, rf):
    user = django_user_model.objects.create_user("u")
    other = django_user_model.objects.create_user("o")
    for twitter_id, name, owner in (
        ("1", "zed", user),
        ("2", "amy", user),
        ("3", "not-mine", other),
    ):
        TwitterAccount.objects.create(
            user=owner,
            twitter_id=twitter_id,
            screen_name=name,
            access_token="t",
            access_token_secret="s",
        )
    request = rf.get("/")
    request.user = user
    source = (
        "{% twitter_accounts as accounts %}{% for a in accounts %}@{{ a.screen_name }} {% endfor %}"
    )
    assert render(source, request=request) == "@amy @zed "
    request.user = AnonymousUser()
    assert render(source, request=request) == ""


def test_the_login_button_can_choose_its_protocol(rf):
    from django.template import Context, Template

    html = Template('{% load twitter_oauth %}{% twitter_login_button protocol="oauth2" %}').render(
        Context({})
    )
    assert '<input type="hidden" name="protocol" value="oauth2"><button' in html


def test_the_connect_button_can_choose_its_protocol():
    from django.template import Context, Template

    html = Template(
        '{% load twitter_oauth %}{% twitter_connect_button next="/x/" protocol="oauth1" %}'
    ).render(Context({}))
    assert (
        '<input type="hidden" name="next" value="/x/">'
        '<input type="hidden" name="protocol" value="oauth1"><button'
    ) in html


def test_an_unknown_protocol_is_a_template_error():
    from django.template import Context, Template, TemplateSyntaxError

    with pytest.raises(TemplateSyntaxError):
        Template('{% load twitter_oauth %}{% twitter_login_button protocol="oauth3" %}').render(
            Context({})
        )
