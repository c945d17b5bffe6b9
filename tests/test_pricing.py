"""X's endpoint names and prices, the single source for the usage ledger and the emulator."""

import pytest

from twitter_oauth.pricing import (
    DEFAULT_PRICES,
    BilledResource,
    Charge,
    billed_resources,
    charge,
    contains_url,
    endpoint_name,
    is_oauth_path,
    price_key,
)

POSTS = {"data": [{"id": "11", "text": "a"}, {"id": "12", "text": "b"}, {"id": "13", "text": "c"}]}
ME = {"data": {"id": "783214", "name": "Alice Example", "username": "alice"}}


def test_default_prices_are_xs_2026_table():
    assert DEFAULT_PRICES == {
        "post": 0.015,
        "post_with_url": 0.20,
        "post_read": 0.005,
        "user_read": 0.010,
    }


# --- contains_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "read example.com today",
        "https://example.com/a?b=c",
        "http://example.org",
        "short link t.co/abc123",
        "https://t.co/abc123",
        "日本語のテキスト example.jp です",
        "www.example.com",
    ],
)
def test_text_with_a_url_as_x_sees_one(text):
    assert contains_url(text)


@pytest.mark.parametrize(
    "text",
    [
        "mail bob@example.com",
        "#hashtag and @mention",
        "no link in this one.",
        "日本語のテキストだけです。",
        "",
    ],
)
def test_text_without_a_url_as_x_sees_none(text):
    assert not contains_url(text)


# --- endpoint_name -----------------------------------------------------------------------------


def test_post_is_named_by_method_and_path():
    assert endpoint_name("post", "/2/tweets", text="hello") == "POST /2/tweets"


def test_post_with_a_url_has_its_own_name():
    assert endpoint_name("POST", "/2/tweets", text="see example.com") == "POST /2/tweets (with URL)"


def test_post_without_text_given_is_a_plain_post():
    assert endpoint_name("POST", "/2/tweets") == "POST /2/tweets"


def test_text_does_not_rename_other_endpoints():
    assert endpoint_name("GET", "/2/users/me", text="example.com") == "GET /2/users/me"


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/2/users/783214/tweets", "GET /2/users/:id/tweets"),
        ("DELETE", "/2/tweets/1860000000000000001", "DELETE /2/tweets/:id"),
        ("GET", "/2/users/783214/tweets?max_results=5&since_id=9", "GET /2/users/:id/tweets"),
        ("GET", "2/users/me", "GET /2/users/me"),
        ("GET", "/2/users/me", "GET /2/users/me"),
        ("GET", "https://api.x.com/2/users/me?user.fields=name", "GET /2/users/me"),
        ("GET", "http://127.0.0.1:8765/2/users/42/tweets", "GET /2/users/:id/tweets"),
        ("POST", "oauth/request_token", "POST /oauth/request_token"),
        ("GET", "1.1/account/verify_credentials.json", "GET /1.1/account/verify_credentials.json"),
    ],
)
def test_endpoint_names_replace_ids_and_drop_query_and_base(method, path, name):
    assert endpoint_name(method, path) == name


def test_api_base_with_a_path_of_its_own_is_taken_off():
    name = endpoint_name(
        "GET", "http://proxy.example/x-api/2/users/me", base="http://proxy.example/x-api/"
    )
    assert name == "GET /2/users/me"


def test_api_base_is_taken_off_only_at_a_segment_boundary():
    name = endpoint_name(
        "GET", "http://proxy.example/x-api2/2/users/me", base="http://proxy.example/x-api"
    )
    assert name == "GET /x-api2/:id/users/me"


# --- what is billed ----------------------------------------------------------------------------


def test_created_post_is_one_post():
    payload = {"data": {"id": "1860000000000000001", "text": "hello"}}
    assert charge("POST /2/tweets", 201, payload) == Charge(1, 0.015)


def test_created_post_with_url_is_billed_at_the_url_price():
    payload = {"data": {"id": "1860000000000000001", "text": "see example.com"}}
    assert charge("POST /2/tweets (with URL)", 201, payload) == Charge(1, 0.20)


def test_timeline_read_is_billed_per_post_returned():
    assert charge("GET /2/users/:id/tweets", 200, POSTS) == Charge(3, 0.015)


def test_profile_read_is_one_user():
    assert charge("GET /2/users/me", 200, ME) == Charge(1, 0.01)


def test_verify_credentials_is_one_user_though_v1_has_no_data_wrapper():
    payload = {"id": 783214, "id_str": "783214", "screen_name": "alice"}
    assert billed_resources("GET /1.1/account/verify_credentials.json", 200, payload) == [
        BilledResource("user_read", "783214")
    ]


def test_answer_given_as_bytes_is_parsed():
    assert charge("GET /2/users/me", 200, b'{"data": {"id": "1"}}') == Charge(1, 0.01)


def test_unreadable_body_is_not_billed():
    assert charge("GET /2/users/me", 200, b"\x00{tru") == Charge(0, 0.0)


def test_read_with_no_data_is_free():
    assert charge("GET /2/users/:id/tweets", 200, {"meta": {"result_count": 0}}) == Charge(0, 0.0)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 429, 500, 503])
def test_answers_other_than_success_are_free(status):
    assert charge("POST /2/tweets", status, {"data": {"id": "1"}}) == Charge(0, 0.0)
    assert charge("GET /2/users/me", status, ME) == Charge(0, 0.0)


def test_duplicate_refusal_is_free():
    payload = {"detail": "You are not allowed to create a Tweet with duplicate content."}
    assert charge("POST /2/tweets", 403, payload) == Charge(0, 0.0)


@pytest.mark.parametrize(
    "endpoint",
    [
        "POST /oauth/request_token",
        "POST /oauth/access_token",
        "POST /2/oauth2/token",
        "POST /2/oauth2/revoke",
        "POST /1.1/oauth/invalidate_token",
    ],
)
def test_oauth_endpoints_have_no_price(endpoint):
    assert price_key(endpoint) is None
    assert charge(endpoint, 200, {"data": {"id": "1"}, "access_token": "x"}) == Charge(0, 0.0)


def test_oauth_paths_are_recognised_with_or_without_slash():
    assert is_oauth_path("oauth/request_token")
    assert is_oauth_path("/2/oauth2/token")
    assert is_oauth_path("https://api.x.com/1.1/oauth/invalidate_token")
    assert not is_oauth_path("/2/tweets")


def test_endpoint_without_a_price_is_free():
    assert charge("DELETE /2/tweets/:id", 200, {"data": {"deleted": True}}) == Charge(0, 0.0)


def test_prices_can_be_given():
    prices = {**DEFAULT_PRICES, "post_read": 0.01}
    assert charge("GET /2/users/:id/tweets", 200, POSTS, prices) == Charge(3, 0.03)


def test_read_kind_follows_from_the_endpoint():
    assert price_key("GET /2/users/:id/tweets") == "post_read"
    assert price_key("GET /2/tweets/:id") == "post_read"
    assert price_key("GET /2/users/me") == "user_read"
    assert price_key("GET /2/users/:id") == "user_read"
    assert price_key("GET /1.1/account/verify_credentials.json") == "user_read"


@pytest.mark.parametrize(
    "text",
    ["no dot at all", "A sentence. Another one.", "version 2.0 is out", "see 127.0.0.1"],
)
def test_text_without_a_dot_before_a_letter_has_no_url(text):
    assert not contains_url(text)
