"""Unit tests of error-body parsing and mapping, for shapes the emulator does not produce."""

from __future__ import annotations

import datetime as dt

import pytest
import responses

from twitter_oauth import exceptions
from twitter_oauth.client import TwitterClient, XResponse, error_for_response, parse_error_body

API = "https://api.x.test"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"errors":[{"code":32,"message":"Could not authenticate you."}]}',
            (32, "Could not authenticate you."),
        ),
        (
            b'{"title":"Forbidden","detail":"You are not allowed to create a Tweet with duplicate content.","status":403}',
            (None, "You are not allowed to create a Tweet with duplicate content."),
        ),
        (
            b'<?xml version="1.0" encoding="UTF-8"?><errors><error code="415">Callback URL not approved for this client application. Approved callback URLs can be adjusted in your application settings</error></errors>',
            (
                415,
                "Callback URL not approved for this client application. Approved callback URLs can be adjusted in your application settings",
            ),
        ),
        (
            b"Error processing your OAuth request: Invalid oauth_verifier parameter",
            (None, "Error processing your OAuth request: Invalid oauth_verifier parameter"),
        ),
        (b"", (None, None)),
        (b"{not json", (None, "{not json")),
        (b"[1, 2]", (None, None)),
        (b'{"errors": "not a list of objects"}', (None, None)),
        (b'{"error": "invalid_request"}', (None, "invalid_request")),
        (b"\xff\xfe\x00garbage", (None, "\ufffd\ufffd\x00garbage")),
    ],
)
def test_parse_error_body_reads_json_xml_and_plain_text(body, expected):
    assert parse_error_body(body) == expected


def test_long_plain_text_is_clipped():
    code, detail = parse_error_body(b"x" * 5000)
    assert code is None and len(detail) == 300 and detail.endswith("…")


def test_daily_cap_reset_wins_over_the_window_reset_when_exhausted():
    window, day = 1_900_000_000, 1_900_050_000
    response = XResponse(
        status=429,
        headers={
            "x-rate-limit-reset": str(window),
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(day),
            "x-app-limit-24hour-remaining": "12",
            "x-app-limit-24hour-reset": str(day + 10),
        },
        content=b'{"title":"Too Many Requests","status":429}',
    )
    error = error_for_response(response, method="POST", path="2/tweets")
    assert isinstance(error, exceptions.TwitterRateLimited)
    assert error.reset_at == dt.datetime.fromtimestamp(day, tz=dt.UTC)


def test_429_without_headers_has_no_reset_time():
    error = error_for_response(XResponse(status=429, headers={}, content=b""))
    assert isinstance(error, exceptions.TwitterRateLimited)
    assert error.reset_at is None and error.seconds_until_reset() is None


def test_v1_duplicate_code_is_a_duplicate():
    body = b'{"errors":[{"code":187,"message":"Status is a duplicate."}]}'
    assert isinstance(error_for_response(XResponse(403, {}, body)), exceptions.TwitterDuplicate)


def test_other_403_is_forbidden_with_x_message():
    body = b'{"errors":[{"code":453,"message":"You currently have access to a subset of X API V2 endpoints"}]}'
    error = error_for_response(
        XResponse(403, {}, body), method="POST", path="1.1/statuses/update.json"
    )
    assert type(error) is exceptions.TwitterForbidden
    assert error.code == 453
    assert "subset of X API V2" in str(error)


def test_a_redirect_is_a_bad_response():
    error = error_for_response(XResponse(302, {"Location": "https://x.com/login"}, b""))
    assert isinstance(error, exceptions.TwitterBadResponse)


def test_a_configuration_error_is_not_a_twitter_error():
    from django.core.exceptions import ImproperlyConfigured

    assert issubclass(exceptions.TwitterOAuthConfigurationError, ImproperlyConfigured)
    assert not issubclass(exceptions.TwitterOAuthConfigurationError, exceptions.TwitterError)


@responses.activate
def test_a_success_without_a_tweet_id_is_a_bad_response(settings):
    responses.post(f"{API}/2/tweets", json={"data": {"text": "no id"}}, status=201)
    with pytest.raises(exceptions.TwitterBadResponse, match="no tweet id"):
        TwitterClient("1-a", "b", api_url=API).create_tweet("no id")


@responses.activate
def test_json_that_is_not_an_object_is_a_bad_response(settings):
    responses.get(f"{API}/2/users/me", json=["not", "an", "object"])
    with pytest.raises(exceptions.TwitterBadResponse, match="unexpected shape"):
        TwitterClient("1-a", "b", api_url=API).get_me()


def test_the_token_endpoints_error_and_its_description_are_kept():
    body = (
        b'{"error":"invalid_request","error_description":"Value passed for the token was invalid."}'
    )
    assert parse_error_body(body) == (
        None,
        "Value passed for the token was invalid.; invalid_request",
    )
    error = error_for_response(XResponse(400, {}, body), method="POST", path="2/oauth2/token")
    assert isinstance(error, exceptions.TwitterBadRequest)
    assert "Value passed for the token was invalid." in str(error)


@pytest.mark.parametrize(
    "body",
    [
        b'{"token_type":"bearer","expires_in":7200,"scope":"tweet.read"}',
        b"[]",
        b"not json",
    ],
)
def test_a_token_answer_without_an_access_token_is_a_bad_response(body):
    from twitter_oauth.responses import parse_oauth2_token

    with pytest.raises(exceptions.TwitterBadResponse):
        parse_oauth2_token(XResponse(200, {}, body))


def test_a_token_answer_is_read_with_its_scopes_and_expiry():
    from twitter_oauth.responses import parse_oauth2_token

    token = parse_oauth2_token(
        XResponse(
            200,
            {},
            b'{"token_type":"bearer","expires_in":7200,"access_token":"a","scope":"tweet.read '
            b'offline.access","refresh_token":"r"}',
        )
    )
    assert (token.access_token, token.refresh_token, token.expires_in) == ("a", "r", 7200)
    assert token.scopes == ("tweet.read", "offline.access")
    assert "access_token=" not in repr(token) and "refresh_token=" not in repr(token)
