"""The cost settings: their checks, and ``PROFILE_REFRESH_INTERVAL = None`` (read the profile once)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.checks import run_checks
from django.utils import timezone

from tests.signin_helpers import sign_in
from tests.test_checks import BASE
from twitter_oauth import services, tasks
from twitter_oauth.conf import app_settings
from twitter_oauth.models import TwitterAccount


def ids(settings, **overrides):
    settings.TWITTER_OAUTH = {**BASE, **overrides}
    return sorted(m.id for m in run_checks(tags=["twitter_oauth"]))


# --- checks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prices", [{"post": -1}, {"post": "0.015"}, {"tweet": 0.01}, [0.015], {"post": True}]
)
def test_unusable_prices_are_e020(settings, prices):
    assert ids(settings, PRICES=prices) == ["twitter_oauth.E025"]


def test_a_partial_price_table_overrides_only_what_it_names(settings):
    assert ids(settings, PRICES={"post_with_url": 0.25}) == []
    assert app_settings.PRICES == {
        "post": 0.015,
        "post_with_url": 0.25,
        "post_read": 0.005,
        "user_read": 0.010,
    }


@pytest.mark.parametrize("limit", [0, -5, "10", True])
def test_a_spending_limit_that_is_not_a_positive_number_is_e021(settings, limit):
    assert ids(settings, DAILY_SPEND_LIMIT=limit) == ["twitter_oauth.E026"]


def test_a_spending_limit_is_dollars_or_none(settings):
    assert ids(settings, DAILY_SPEND_LIMIT=25) == []
    assert ids(settings, DAILY_SPEND_LIMIT=0.5) == []
    assert ids(settings, DAILY_SPEND_LIMIT=None) == []


def test_a_spending_limit_without_the_ledger_is_e022(settings):
    assert ids(settings, DAILY_SPEND_LIMIT=5, USAGE_LEDGER=False) == ["twitter_oauth.E027"]
    assert ids(settings, USAGE_LEDGER="yes") == ["twitter_oauth.E027"]
    assert ids(settings, USAGE_LEDGER=False) == []


@pytest.mark.parametrize("interval", [0, -1, "5"])
def test_a_flush_interval_that_is_not_a_positive_number_is_e006(settings, interval):
    assert ids(settings, USAGE_FLUSH_INTERVAL=interval) == ["twitter_oauth.E006"]


def test_a_flush_interval_over_ten_seconds_is_w020(settings):
    assert ids(settings, USAGE_FLUSH_INTERVAL=30) == ["twitter_oauth.W021"]
    assert ids(settings, USAGE_FLUSH_INTERVAL=10) == []
    assert ids(settings, USAGE_FLUSH_INTERVAL=None) == []


def test_profile_refresh_interval_may_be_none_but_not_zero(settings):
    assert ids(settings, PROFILE_REFRESH_INTERVAL=None) == []
    assert ids(settings, PROFILE_REFRESH_INTERVAL=0) == ["twitter_oauth.E006"]


# --- PROFILE_REFRESH_INTERVAL = None ---------------------------------------------------------------


@pytest.fixture
def read_once(x_settings):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "PROFILE_REFRESH_INTERVAL": None}
    return x_settings


@pytest.mark.django_db
def test_without_a_refresh_interval_the_profile_is_read_once_at_first_link(
    client, read_once, x_emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as first:
        sign_in(client, screen_name="carol")
    assert len(first) == 1 and x_emulator.state.count("/2/users/me") == 1
    account = TwitterAccount.objects.get()
    TwitterAccount.objects.filter(pk=account.pk).update(
        verified_at=timezone.now() - dt.timedelta(days=400)
    )
    client.logout()
    with django_capture_on_commit_callbacks(execute=True) as again:
        sign_in(client, screen_name="carol")
    assert again == []
    assert services.stale_account_ids() == []
    assert tasks.refresh_profiles.delay().get() == 0
    assert x_emulator.state.count("/2/users/me") == 1


@pytest.mark.django_db
def test_without_a_refresh_interval_a_profile_never_read_is_still_read(linked_account, read_once):
    assert linked_account.verified_at is None
    assert services.stale_account_ids() == [linked_account.pk]
    assert tasks.refresh_profiles.delay().get() == 1
    assert services.stale_account_ids() == []
