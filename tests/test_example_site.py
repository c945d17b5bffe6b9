"""The example site's pages, in-process, against the emulator (eager Celery)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.signin_helpers import messages_of, sign_in
from twitter_oauth.models import ScheduledTweet

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "example_project" / "templates"


@pytest.fixture
def site(settings, x_settings):
    settings.ROOT_URLCONF = "example_project.urls"
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [TEMPLATES]}]
    settings.LOGIN_URL = settings.LOGIN_REDIRECT_URL = "/"
    return settings


def test_signed_out_home_shows_the_sign_in_button(client, site):
    html = client.get("/").content.decode()
    assert '<span class="twitter-oauth-button__label">Sign in with X</span></button>' in html
    assert 'action="/accounts/twitter/login/"' in html
    assert "Your X accounts" not in html


def test_signed_out_home_offers_the_other_protocol_too(client, site, x_emulator):
    html = client.get("/").content.decode()
    assert '<input type="hidden" name="protocol" value="oauth2">' in html
    assert "Continue with X over OAuth 2.0" in html
    site.TWITTER_OAUTH = {**site.TWITTER_OAUTH, "PROTOCOL": "oauth2"}
    html = client.get("/").content.decode()
    assert '<input type="hidden" name="protocol" value="oauth1">' in html
    assert "Continue with X over OAuth 1.0a" in html


def test_the_oauth2_button_signs_in_through_the_emulator(client, site, x_emulator):
    from tests.signin_helpers import act_at_x, callback_path

    started = client.post("/accounts/twitter/login/", {"protocol": "oauth2"})
    response = client.get(callback_path(act_at_x(started["Location"], screen_name="alice")))
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert "@alice (Alice Example)" in html


def test_signed_in_home_lists_accounts_compose_form_and_posts(
    client, site, x_emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(client, screen_name="alice")
    html = client.get("/").content.decode()
    assert "@alice (Alice Example)" in html
    assert x_emulator.state.avatar_url(x_emulator.state.user_by_screen_name("alice")) in html
    assert "Connect another X account" in html and "Disconnect" in html
    assert "<textarea" in html and 'type="datetime-local"' in html


def test_posting_now_sends_it_and_lists_it_as_sent(
    client, site, x_emulator, django_capture_on_commit_callbacks
):
    sign_in(client, screen_name="alice")
    account = client.get("/").context["accounts"][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/post/", {"account": account.pk, "text": "from the example site"})
    assert response.status_code == 302
    assert messages_of(response) == ["Post for @alice scheduled now."]
    assert ScheduledTweet.objects.get().status == "sent"
    html = client.get("/").content.decode()
    assert "from the example site" in html and "status-sent" in html


def test_a_post_with_a_link_says_what_x_charges_for_it(
    client, site, x_emulator, django_capture_on_commit_callbacks
):
    sign_in(client, screen_name="alice")
    home = client.get("/")
    assert "X charges $0.015 a post, $0.20 when it contains a link." in home.content.decode()
    account = home.context["accounts"][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/post/", {"account": account.pk, "text": "see example.com"})
    assert messages_of(response) == [
        "Post for @alice scheduled now.",
        "This post contains a link: X charges $0.20 for it instead of $0.015.",
    ]


def test_an_invalid_post_is_refused_with_the_reason(client, site, x_emulator):
    sign_in(client, screen_name="alice")
    account = client.get("/").context["accounts"][0]
    response = client.post("/post/", {"account": account.pk, "text": "x" * 300})
    assert response.status_code == 400
    assert "280 characters at most" in response.content.decode()
    assert not ScheduledTweet.objects.exists()


def test_posting_for_someone_elses_account_is_refused(client, site, x_emulator):
    from django.test import Client

    other = Client()
    sign_in(other, screen_name="bob")
    bob_account = other.get("/").context["accounts"][0]
    sign_in(client, screen_name="alice")
    response = client.post("/post/", {"account": bob_account.pk, "text": "not mine"})
    assert response.status_code == 400
    assert not ScheduledTweet.objects.exists()
