"""System checks: every misconfiguration is a message with a stable id at `manage.py check`."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.checks import Error, Warning, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

GOOD_KEY = Fernet.generate_key().decode()
BASE = {
    "CONSUMER_KEY": "key",
    "CONSUMER_SECRET": "secret",
    "API_URL": "https://api.x.com",
    "TOKEN_KEYS": [GOOD_KEY],
}


def ids(settings, **overrides):
    settings.TWITTER_OAUTH = {**BASE, **overrides}
    return sorted(m.id for m in run_checks(tags=["twitter_oauth"]))


def test_a_complete_configuration_passes(settings):
    assert ids(settings) == []


def test_the_checks_are_registered_with_manage_py_check(settings):
    settings.TWITTER_OAUTH = {**BASE, "CONSUMER_KEY": ""}
    with pytest.raises(SystemCheckError, match=r"twitter_oauth\.E001"):
        call_command("check")


@pytest.mark.parametrize("value", ["", "   ", None, 42])
def test_missing_or_empty_consumer_key_is_e001(settings, value):
    assert ids(settings, CONSUMER_KEY=value) == ["twitter_oauth.E001"]


def test_missing_consumer_secret_is_e002(settings):
    settings.TWITTER_OAUTH = {k: v for k, v in BASE.items() if k != "CONSUMER_SECRET"}
    assert sorted(m.id for m in run_checks(tags=["twitter_oauth"])) == ["twitter_oauth.E002"]


@pytest.mark.parametrize(
    "url", ["api.x.com", "ftp://api.x.com", "https://", "https://api.x.com/?a=1", "", None]
)
def test_malformed_api_url_is_e003(settings, url):
    assert ids(settings, API_URL=url) == ["twitter_oauth.E003"]


def test_malformed_authorize_url_is_e004_and_none_is_fine(settings):
    assert ids(settings, AUTHORIZE_URL="x.com/i") == ["twitter_oauth.E004"]
    assert ids(settings, AUTHORIZE_URL=None) == []
    assert ids(settings, AUTHORIZE_URL="https://x.com/i") == []


def test_plain_http_off_loopback_is_w003(settings):
    assert ids(settings, API_URL="http://api.x.com") == ["twitter_oauth.W003"]
    assert ids(settings, API_URL="http://127.0.0.1:8765") == []
    assert ids(settings, API_URL="http://localhost:8765") == []
    assert ids(settings, API_URL="http://[::1]:8765") == []


@pytest.mark.parametrize(
    "keys",
    [["not a key"], [GOOD_KEY, "c2hvcnQ="], [b"\x00" * 3], "nope", 7, [None]],
)
def test_unusable_token_keys_are_e005(settings, keys):
    assert set(ids(settings, TOKEN_KEYS=keys)) == {"twitter_oauth.E005"}


def test_comma_separated_token_keys_are_accepted(settings):
    other = Fernet.generate_key().decode()
    assert ids(settings, TOKEN_KEYS=f"{GOOD_KEY}, {other}") == []


def test_empty_token_keys_warn_w001(settings):
    settings.TWITTER_OAUTH = {**BASE, "TOKEN_KEYS": []}
    (message,) = run_checks(tags=["twitter_oauth"])
    assert isinstance(message, Warning) and message.id == "twitter_oauth.W001"
    assert "SECRET_KEY" in message.msg


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIMEOUT", 0),
        ("TIMEOUT", "10"),
        ("CONNECT_TIMEOUT", -1),
        ("POOL_SIZE", 2.5),
        ("POOL_SIZE", True),
    ],
)
def test_non_positive_numbers_are_e006(settings, name, value):
    assert ids(settings, **{name: value}) == ["twitter_oauth.E006"]


@pytest.mark.parametrize(
    "path", ["no.such.module.factory", "twitter_oauth.conf.DEFAULTS", "nodots"]
)
def test_unusable_session_factory_is_e007(settings, path):
    assert ids(settings, SESSION_FACTORY=path) == ["twitter_oauth.E007"]


def test_session_factory_that_imports_passes(settings):
    assert ids(settings, SESSION_FACTORY="requests.Session") == []


def test_settings_that_are_not_a_dict_are_e008(settings):
    settings.TWITTER_OAUTH = [("CONSUMER_KEY", "k")]
    (message,) = run_checks(tags=["twitter_oauth"])
    assert isinstance(message, Error) and message.id == "twitter_oauth.E008"


def test_unknown_keys_warn_w002(settings):
    assert ids(settings, CONSUMER_KYE="typo") == ["twitter_oauth.W002"]


# --- OAuth 2.0 --------------------------------------------------------------------------------


def test_an_oauth2_configuration_needs_no_consumer_key(settings):
    assert (
        ids(settings, PROTOCOL="oauth2", CONSUMER_KEY="", CONSUMER_SECRET="", CLIENT_ID="c") == []
    )


@pytest.mark.parametrize("value", ["oauth3", "", None, 2])
def test_an_unknown_protocol_is_e020(settings, value):
    assert "twitter_oauth.E020" in ids(settings, PROTOCOL=value)


@pytest.mark.parametrize("value", ["", "  ", None])
def test_oauth2_without_a_client_id_is_e021(settings, value):
    assert ids(settings, PROTOCOL="oauth2", CLIENT_ID=value) == ["twitter_oauth.E021"]


def test_a_client_id_that_is_not_a_string_is_e021_whatever_the_protocol(settings):
    assert ids(settings, CLIENT_ID=42) == ["twitter_oauth.E021"]


def test_a_client_secret_that_is_not_a_string_is_e022(settings):
    assert ids(settings, CLIENT_SECRET=42) == ["twitter_oauth.E022"]


@pytest.mark.parametrize(
    "value",
    [42, ["tweet.read", ""], ["tweet.read users.read"], ["tweet.write", "offline.access"]],
)
def test_unusable_scopes_are_e023(settings, value):
    assert ids(settings, OAUTH2_SCOPES=value) == ["twitter_oauth.E023"]


def test_scopes_as_a_string_are_accepted(settings):
    assert ids(settings, OAUTH2_SCOPES="tweet.read users.read offline.access") == []


def test_scopes_without_offline_access_are_w020(settings):
    assert ids(settings, OAUTH2_SCOPES=["tweet.read", "users.read"]) == ["twitter_oauth.W020"]


@pytest.mark.parametrize("value", ["", "x.com/i/oauth2/authorize", "https://x.com/a?b=c", None])
def test_an_unusable_oauth2_authorize_url_is_e024(settings, value):
    assert ids(settings, OAUTH2_AUTHORIZE_URL=value) == ["twitter_oauth.E024"]


@pytest.mark.parametrize("value", [0, -1, 1.5, "30"])
def test_an_unusable_refresh_token_lifetime_is_e006(settings, value):
    assert ids(settings, OAUTH2_REFRESH_TOKEN_LIFETIME=value) == ["twitter_oauth.E006"]
