"""The client against the emulator: signing, pooling, and every failure mapped to our exceptions."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import requests

from twitter_oauth import client, exceptions
from twitter_oauth.client import TwitterClient


@pytest.fixture
def alice(x_emulator):
    return x_emulator.state.user_by_screen_name("alice")


@pytest.fixture
def alice_client(x_settings, x_emulator, alice):
    token, secret = x_emulator.state.issue_access_token("test-consumer-key", alice)
    return TwitterClient(token, secret)


def test_three_legged_flow_takes_two_calls_and_returns_identity(x_settings, x_emulator, alice):
    request_token = TwitterClient().get_request_token("http://testserver/callback/")
    assert request_token.callback_confirmed
    verifier = x_emulator.state.authorize(request_token.token, alice)

    access = TwitterClient(request_token.token, request_token.secret).get_access_token(verifier)

    assert (access.user_id, access.screen_name) == (alice.id, "alice")
    assert access.token.startswith(f"{alice.id}-")
    assert x_emulator.state.count() == 2
    assert [r.path for r in x_emulator.state.requests] == [
        "/oauth/request_token",
        "/oauth/access_token",
    ]


def test_protocol_parameters_travel_in_the_authorization_header(x_settings, x_emulator):
    TwitterClient().get_request_token("http://testserver/callback/")
    recorded = x_emulator.state.requests[0]
    assert recorded.headers["Authorization"].startswith("OAuth ")
    assert "oauth_callback" in recorded.headers["Authorization"]
    assert not recorded.query
    assert not recorded.body


def test_access_type_is_sent_as_x_auth_access_type(x_settings, x_emulator):
    TwitterClient().get_request_token("oob", access_type="write")
    assert x_emulator.state.requests[0].query == {"x_auth_access_type": "write"}


def test_authorize_url_uses_the_authorize_base(settings):
    settings.TWITTER_OAUTH = {**settings.TWITTER_OAUTH, "AUTHORIZE_URL": "https://x.com/i/"}
    url = TwitterClient().get_authorize_url("tok", authenticate=True, force_login=True)
    assert url == "https://x.com/i/oauth/authenticate?oauth_token=tok&force_login=true"
    assert TwitterClient(authorize_url="https://api.x.com").get_authorize_url(
        "tok", screen_name="alice"
    ) == ("https://api.x.com/oauth/authorize?oauth_token=tok&screen_name=alice")


def test_user_agent_names_the_library_and_its_version(x_settings, x_emulator):
    from twitter_oauth import __version__

    TwitterClient().get_request_token("oob")
    user_agent = x_emulator.state.requests[0].headers["User-Agent"]
    assert user_agent.startswith(f"django-twitter-oauth/{__version__} python-requests/")


def test_calls_share_one_kept_alive_connection(alice_client, x_emulator):
    for n in range(5):
        alice_client.create_tweet(f"post number {n}")
    alice_client.get_me()
    pools = client.get_session().get_adapter(x_emulator.url).poolmanager.pools
    assert [pools[key].num_connections for key in pools.keys()]  # noqa: SIM118 (a RecentlyUsedContainer) == [1]
    assert x_emulator.state.count() == 6


def test_post_profile_delete_and_revoke(alice_client, x_emulator, alice):
    tweet = alice_client.create_tweet("hello from the client")
    assert x_emulator.state.tweets[tweet.id].text == "hello from the client"
    assert tweet.rate_limit is not None
    assert tweet.rate_limit.remaining == tweet.rate_limit.limit - 1
    me = alice_client.get_me()
    assert (me["id"], me["username"]) == (alice.id, "alice")
    assert "profile_image_url" in me
    assert alice_client.verify_credentials()["screen_name"] == "alice"
    assert alice_client.delete_tweet(tweet.id) is True
    alice_client.invalidate_token()
    with pytest.raises(exceptions.TwitterTokenRevoked) as caught:
        alice_client.get_me()
    assert (caught.value.status, caught.value.code) == (401, 89)


# --- failures from the emulator's fault injection -----------------------------------------------


def test_a_call_that_outlives_the_timeout_raises_twitter_timeout(x_settings, x_emulator):
    x_settings.TWITTER_OAUTH = {**x_settings.TWITTER_OAUTH, "TIMEOUT": 0.2}
    x_emulator.state.inject("/oauth/request_token", delay=1.0)
    with pytest.raises(exceptions.TwitterTimeout) as caught:
        TwitterClient().get_request_token("oob")
    assert isinstance(caught.value, exceptions.TwitterUnavailable)
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, requests.Timeout)


def test_a_refused_connection_raises_twitter_unavailable(settings):
    with pytest.raises(exceptions.TwitterUnavailable, match="Connection refused") as caught:
        TwitterClient(api_url="http://127.0.0.1:9").get_request_token("oob")
    assert not isinstance(caught.value, exceptions.TwitterTimeout)


def test_a_dropped_connection_raises_twitter_unavailable(alice_client, x_emulator):
    x_emulator.state.inject("/2/tweets", drop=True)
    with pytest.raises(exceptions.TwitterUnavailable, match="Could not reach X"):
        alice_client.create_tweet("lost in transit")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_raise_twitter_unavailable_with_status(alice_client, x_emulator, status):
    x_emulator.state.inject("/2/tweets", status=status)
    with pytest.raises(exceptions.TwitterUnavailable) as caught:
        alice_client.create_tweet("during an outage")
    assert caught.value.status == status


def test_an_html_error_page_from_a_proxy_keeps_no_detail(alice_client, x_emulator):
    x_emulator.state.inject(
        "/2/tweets",
        status=502,
        body="<html><body>Bad gateway</body></html>",
        headers={"Content-Type": "text/html"},
    )
    with pytest.raises(exceptions.TwitterUnavailable) as caught:
        alice_client.create_tweet("behind a proxy")
    assert caught.value.detail is None
    assert str(caught.value) == "X answered 502 for POST 2/tweets. (HTTP 502)"


def test_429_raises_rate_limited_with_the_reset_time(alice_client, x_emulator):
    x_emulator.state.inject("/2/tweets", status=429)
    with pytest.raises(exceptions.TwitterRateLimited) as caught:
        alice_client.create_tweet("too fast")
    recorded = x_emulator.state.requests[-1]
    assert recorded.status == 429
    reset = caught.value.reset_at
    assert reset is not None and reset > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert caught.value.seconds_until_reset() >= 0


def test_exhausting_the_real_post_limit_raises_rate_limited(x_settings, x_emulator, alice):
    x_emulator.state.post_limit = 2
    token, secret = x_emulator.state.issue_access_token("test-consumer-key", alice)
    poster = TwitterClient(token, secret)
    poster.create_tweet("one")
    poster.create_tweet("two")
    with pytest.raises(exceptions.TwitterRateLimited) as caught:
        poster.create_tweet("three")
    assert caught.value.status == 429
    assert caught.value.reset_at > dt.datetime.now(dt.UTC)


def test_duplicate_post_raises_twitter_duplicate_with_x_message(alice_client):
    alice_client.create_tweet("same words")
    with pytest.raises(exceptions.TwitterDuplicate) as caught:
        alice_client.create_tweet("same words")
    assert caught.value.status == 403
    assert caught.value.detail == client.DUPLICATE_DETAIL


def test_wrong_consumer_secret_raises_auth_error_not_revoked(x_settings, x_emulator):
    with pytest.raises(exceptions.TwitterAuthError) as caught:
        TwitterClient(consumer_secret="wrong").get_request_token("oob")
    assert not isinstance(caught.value, exceptions.TwitterTokenRevoked)
    assert (caught.value.status, caught.value.code) == (401, 32)
    assert caught.value.detail == "Could not authenticate you."


def test_wrong_verifier_keeps_x_plain_text_message(x_settings, x_emulator):
    request_token = TwitterClient().get_request_token("oob")
    x_emulator.state.authorize(request_token.token, x_emulator.state.user_by_screen_name("bob"))
    with pytest.raises(exceptions.TwitterAuthError) as caught:
        TwitterClient(request_token.token, request_token.secret).get_access_token("0000000")
    assert caught.value.status == 401
    assert caught.value.detail == (
        "Error processing your OAuth request: Invalid oauth_verifier parameter"
    )


def test_unapproved_callback_raises_callback_not_approved_from_xml(x_settings, x_emulator):
    x_emulator.state.callback_urls = ["https://registered.example/"]
    with pytest.raises(exceptions.TwitterCallbackNotApproved) as caught:
        TwitterClient().get_request_token("https://elsewhere.example/callback/")
    assert (caught.value.status, caught.value.code) == (403, 415)
    assert "developer portal" in str(caught.value)
    assert caught.value.detail


def test_garbled_json_raises_bad_response(alice_client, x_emulator):
    x_emulator.state.inject("/2/users/me", garble=True)
    with pytest.raises(exceptions.TwitterBadResponse):
        alice_client.get_me()


def test_garbled_form_answer_raises_bad_response(x_settings, x_emulator):
    x_emulator.state.inject("/oauth/request_token", garble=True)
    with pytest.raises(exceptions.TwitterBadResponse, match="lacks oauth_token"):
        TwitterClient().get_request_token("oob")


def test_invalid_post_raises_bad_request(alice_client):
    with pytest.raises(exceptions.TwitterBadRequest) as caught:
        alice_client.create_tweet("")
    assert caught.value.status == 400


def test_unknown_endpoint_raises_not_found(alice_client):
    with pytest.raises(exceptions.TwitterNotFound) as caught:
        alice_client.request("GET", "2/no/such/thing")
    assert (caught.value.status, caught.value.code) == (404, 34)


def test_session_factory_builds_the_pooled_session(x_settings, x_emulator):
    x_settings.TWITTER_OAUTH = {
        **x_settings.TWITTER_OAUTH,
        "SESSION_FACTORY": "tests.test_client.session_with_marker",
    }
    client.reset_session()
    TwitterClient().get_request_token("oob")
    assert x_emulator.state.requests[0].headers["X-Test-Marker"] == "factory"


def session_with_marker() -> requests.Session:
    session = requests.Session()
    session.headers["X-Test-Marker"] = "factory"
    return session


# --- the environment, read once per host ---------------------------------------------------------

API = "https://api.x.com/2/tweets"


@pytest.fixture
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"HTTPS_PROXY": "http://proxy.example:3128"},
        {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "api.x.com"},
        {"https_proxy": "http://lower.example:3128", "no_proxy": ".example.org"},
        {"ALL_PROXY": "socks5://all.example:1080"},
        {"REQUESTS_CA_BUNDLE": "/etc/ssl/bundle.pem"},
        {"CURL_CA_BUNDLE": "/etc/ssl/curl.pem"},
    ],
)
@pytest.mark.parametrize("verify", [None, True, False, "/mine.pem"])
def test_the_pooled_session_reads_the_environment_as_requests_does(
    clean_environment, environment, verify
):
    for name, value in environment.items():
        clean_environment.setenv(name, value)
    expected = requests.Session().merge_environment_settings(API, {}, None, verify, None)
    pooled = client.PooledSession()
    assert pooled.merge_environment_settings(API, {}, None, verify, None) == expected
    assert pooled.merge_environment_settings(API, {}, None, verify, None) == expected


def test_the_pooled_session_reads_the_environment_once_per_host(clean_environment):
    session = client.PooledSession()
    assert session.merge_environment_settings(API, {}, None, None, None)["proxies"] == {}
    clean_environment.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    proxy = {"https": "http://proxy.example:3128"}
    assert session.merge_environment_settings(API, {}, None, None, None)["proxies"] == {}
    other_host = "https://upload.x.com/1.1/media/upload.json"
    assert session.merge_environment_settings(other_host, {}, None, None, None)["proxies"] == proxy
    assert (
        client.PooledSession().merge_environment_settings(API, {}, None, None, None)["proxies"]
        == proxy
    )


def test_explicit_proxies_and_the_session_s_own_win_over_the_environment(clean_environment):
    clean_environment.setenv("HTTPS_PROXY", "http://environment.example:3128")
    session = client.PooledSession()
    session.proxies = {"http": "http://session.example:3128"}
    explicit = {"https": "http://explicit.example:3128"}
    merged = session.merge_environment_settings(API, explicit, None, None, None)
    assert merged["proxies"] == {**explicit, **session.proxies}
    assert explicit == {"https": "http://explicit.example:3128"}  # the caller's dict is not changed


def test_the_default_session_is_pooled_and_posts_through_it(alice_client, x_emulator):
    client.reset_session()
    assert isinstance(client.get_session(), client.PooledSession)
    assert alice_client.create_tweet("through the pooled session").id
    assert x_emulator.state.count("/2/tweets", "POST") == 1


def test_secrets_stay_out_of_reprs():
    tokens = client.AccessToken(token="t0k3n", secret="s3cr3t", user_id="1", screen_name="a")
    assert "t0k3n" not in repr(tokens) and "s3cr3t" not in repr(tokens)
    request_token = client.RequestToken(token="rt", secret="rts", callback_confirmed=True)
    assert "rts" not in repr(request_token)
    assert "s3cr3t" not in repr(TwitterClient("t", "s3cr3t", consumer_secret="s3cr3t"))
