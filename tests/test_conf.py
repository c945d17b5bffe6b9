from twitter_oauth import __version__
from twitter_oauth.conf import DEFAULTS, app_settings


def test_defaults_apply_when_a_key_is_left_out(settings):
    settings.TWITTER_OAUTH = {"CONSUMER_KEY": "k", "CONSUMER_SECRET": "s"}
    assert app_settings.API_URL == "https://api.x.com"
    assert app_settings.AUTHORIZE_URL == "https://api.x.com"
    assert DEFAULTS["TIMEOUT"] == app_settings.TIMEOUT
    assert f"django-twitter-oauth/{__version__}" == app_settings.USER_AGENT


def test_override_settings_is_honoured_and_trailing_slashes_dropped(settings):
    settings.TWITTER_OAUTH = {
        "API_URL": "http://127.0.0.1:8765/",
        "AUTHORIZE_URL": "https://x.com/i/",
    }
    assert app_settings.API_URL == "http://127.0.0.1:8765"
    assert app_settings.AUTHORIZE_URL == "https://x.com/i"


def test_token_keys_accept_a_comma_separated_string(settings):
    settings.TWITTER_OAUTH = {"TOKEN_KEYS": "a, b,,c"}
    assert app_settings.TOKEN_KEYS == ["a", "b", "c"]


def test_unknown_names_are_attribute_errors(settings):
    import pytest

    with pytest.raises(AttributeError):
        app_settings.get("NOPE")
    with pytest.raises(AttributeError):
        app_settings.NOPE  # noqa: B018


def test_reading_settings_never_writes_into_django_settings(settings):
    settings.TWITTER_OAUTH = {"CONSUMER_KEY": "k"}
    app_settings.API_URL  # noqa: B018
    assert settings.TWITTER_OAUTH == {"CONSUMER_KEY": "k"}
