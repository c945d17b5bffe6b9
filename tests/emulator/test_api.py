"""The API a signed-in app calls: the profile, posting and its limits, deleting, v1.1 leftovers."""

from __future__ import annotations

import pytest
import requests

from tests.emulator.helpers import KEY, Clock, api_session, body
from twitter_oauth.testing import EmulatorServer, XEmulator

TOO_MANY = {
    "title": "Too Many Requests",
    "detail": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
}
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def server(clock):
    """An emulator on a clock the test moves, with a post limit of 3 per 15 minutes."""
    with EmulatorServer(XEmulator(post_limit=3, clock=clock)) as server:
        yield server


def post(api, url, text):
    return api.post(f"{url}/2/tweets", json={"text": text}, timeout=5)


# --- the profile --------------------------------------------------------------------------------


def test_users_me_gives_id_name_and_username_by_default(x_emulator):
    alice = x_emulator.state.user_by_screen_name("alice")
    response = api_session(x_emulator.state).get(f"{x_emulator.url}/2/users/me", timeout=5)
    assert response.json() == {"data": {"id": alice.id, "name": alice.name, "username": "alice"}}


def test_users_me_adds_the_fields_asked_for(x_emulator):
    alice = x_emulator.state.user_by_screen_name("alice")
    response = api_session(x_emulator.state).get(
        f"{x_emulator.url}/2/users/me",
        params={"user.fields": "profile_image_url,name,verified"},
        timeout=5,
    )
    assert response.json()["data"] == {
        "id": alice.id,
        "name": "Alice Example",
        "username": "alice",
        "profile_image_url": alice.profile_image_url,
        "verified": False,
    }
    assert alice.profile_image_url == f"{x_emulator.url}/avatars/{alice.id}.svg"


def test_verify_credentials_gives_the_v1_user(x_emulator):
    carol = x_emulator.state.user_by_screen_name("carol")
    response = api_session(x_emulator.state, "carol").get(
        f"{x_emulator.url}/1.1/account/verify_credentials.json", timeout=5
    )
    assert response.json() == {
        "id": int(carol.id),
        "id_str": carol.id,
        "screen_name": "carol",
        "name": "Carol Example",
        "profile_image_url_https": carol.profile_image_url,
    }
    assert response.headers["x-rate-limit-limit"] == "75"
    assert response.headers["x-rate-limit-remaining"] == "74"


def test_the_seeded_people_keep_their_ids():
    first, second = XEmulator(), XEmulator()
    assert [(u.id, u.screen_name) for u in first.users.values()] == [
        (u.id, u.screen_name) for u in second.users.values()
    ]
    assert [u.screen_name for u in first.users.values()] == ["alice", "bob", "carol"]
    assert all(u.id.isdigit() for u in first.users.values())


# --- posting ------------------------------------------------------------------------------------


def test_a_post_is_created(server, clock):
    emulator = server.emulator
    response = post(api_session(emulator), server.url, "hello")
    assert response.status_code == 201
    tweet_id = response.json()["data"]["id"]
    assert response.json() == {
        "data": {"id": tweet_id, "text": "hello", "edit_history_tweet_ids": [tweet_id]}
    }
    assert tweet_id.isdigit()
    alice = emulator.user_by_screen_name("alice")
    tweet = emulator.tweets[tweet_id]
    assert (tweet.author_id, tweet.text, tweet.created_at) == (alice.id, "hello", clock.now)
    assert emulator.tweets_by(alice) == emulator.tweets_by(alice.id) == [tweet]


def test_a_duplicate_post_is_refused(x_emulator):
    api = api_session(x_emulator.state)
    assert post(api, x_emulator.url, "same").status_code == 201
    again = post(api, x_emulator.url, "same")
    assert (again.status_code, again.json()) == (403, DUPLICATE)
    assert "x-rate-limit-remaining" in again.headers
    assert post(api_session(x_emulator.state, "bob"), x_emulator.url, "same").status_code == 201


def test_the_same_text_may_be_posted_again_once_deleted(x_emulator):
    api = api_session(x_emulator.state)
    tweet_id = post(api, x_emulator.url, "again").json()["data"]["id"]
    api.delete(f"{x_emulator.url}/2/tweets/{tweet_id}", timeout=5)
    assert post(api, x_emulator.url, "again").status_code == 201


@pytest.mark.parametrize(
    "sent",
    [{"json": {"text": ""}}, {"json": {"text": "x" * 281}}, {"json": {"nope": 1}},
     {"json": {"text": 7}}, {"data": b"not json", "headers": {"Content-Type": "application/json"}}],
    ids=["empty", "281 characters", "no text", "not a string", "not JSON"],
)  # fmt: skip
def test_an_unusable_post_is_400_with_an_errors_list(x_emulator, sent):
    api = api_session(x_emulator.state)
    response = api.post(f"{x_emulator.url}/2/tweets", timeout=5, **sent)
    assert response.status_code == 400
    answer = response.json()
    assert answer["title"] == "Invalid Request"
    assert answer["errors"][0]["parameters"] == {"text": []}
    assert not x_emulator.state.tweets


def test_280_characters_are_allowed(x_emulator):
    assert post(api_session(x_emulator.state), x_emulator.url, "x" * 280).status_code == 201


def test_every_post_answer_carries_the_limits(server, clock):
    response = post(api_session(server.emulator), server.url, "counted")
    assert response.headers["x-rate-limit-limit"] == "3"
    assert response.headers["x-rate-limit-remaining"] == "2"
    assert response.headers["x-rate-limit-reset"] == str(int(clock.now) + 900)
    assert response.headers["x-user-limit-24hour-limit"] == "2400"
    assert response.headers["x-user-limit-24hour-remaining"] == "2399"
    assert response.headers["x-user-limit-24hour-reset"] == str(int(clock.now) + 86400)


def test_the_post_limit_answers_429_until_the_window_resets(server, clock):
    api = api_session(server.emulator)
    remaining = [
        post(api, server.url, f"post {n}").headers["x-rate-limit-remaining"] for n in range(3)
    ]
    assert remaining == ["2", "1", "0"]
    clock.advance(60)
    limited = post(api, server.url, "post 3")
    assert (limited.status_code, limited.json()) == (429, TOO_MANY)
    assert limited.headers["x-rate-limit-remaining"] == "0"
    reset = int(limited.headers["x-rate-limit-reset"])
    assert reset > clock.now
    assert len(server.emulator.tweets) == 3

    clock.advance(reset - clock.now - 1)
    assert post(api, server.url, "post 3").status_code == 429
    clock.advance(1)
    again = post(api, server.url, "post 3")
    assert again.status_code == 201
    assert again.headers["x-rate-limit-remaining"] == "2"
    assert int(again.headers["x-rate-limit-reset"]) == reset + 900


def test_the_post_limit_is_per_user(server):
    alice = api_session(server.emulator, "alice")
    for n in range(3):
        post(alice, server.url, f"alice {n}")
    assert post(alice, server.url, "alice 3").status_code == 429
    assert post(api_session(server.emulator, "bob"), server.url, "bob 0").status_code == 201


def test_the_daily_cap_answers_429():
    clock = Clock()
    with EmulatorServer(XEmulator(daily_post_limit=2, clock=clock)) as server:
        api = api_session(server.emulator)
        assert [post(api, server.url, f"day {n}").status_code for n in range(3)] == [201, 201, 429]
        limited = post(api, server.url, "day 3")
        assert limited.headers["x-user-limit-24hour-remaining"] == "0"
        clock.advance(86400)
        assert post(api, server.url, "day 3").status_code == 201


def test_only_the_author_may_delete_a_post(x_emulator):
    tweet_id = post(api_session(x_emulator.state), x_emulator.url, "mine").json()["data"]["id"]
    bob = api_session(x_emulator.state, "bob")
    theirs = bob.delete(f"{x_emulator.url}/2/tweets/{tweet_id}", timeout=5)
    missing = bob.delete(f"{x_emulator.url}/2/tweets/1", timeout=5)
    assert (theirs.status_code, body(theirs)["title"]) == (403, "Forbidden")
    assert (missing.status_code, body(missing)["title"]) == (404, "Not Found")
    assert tweet_id in x_emulator.state.tweets


def test_a_timeline_lists_the_newest_posts_first_up_to_max_results(x_emulator):
    api = api_session(x_emulator.state)
    ids = [post(api, x_emulator.url, f"n{n}").json()["data"]["id"] for n in range(7)]
    alice = x_emulator.state.user_by_screen_name("alice")
    answer = api.get(
        f"{x_emulator.url}/2/users/{alice.id}/tweets", params={"max_results": 5}, timeout=5
    ).json()
    assert [t["id"] for t in answer["data"]] == list(reversed(ids))[:5]
    assert answer["meta"] == {"result_count": 5, "newest_id": ids[-1], "oldest_id": ids[2]}


# --- the rest -----------------------------------------------------------------------------------


def test_an_unknown_path_is_404_code_34(x_emulator):
    response = api_session(x_emulator.state).get(f"{x_emulator.url}/2/nothing", timeout=5)
    assert (response.status_code, response.json()) == (
        404,
        {"errors": [{"code": 34, "message": "Sorry, that page does not exist"}]},
    )


def test_the_state_and_reset_endpoints(x_emulator):
    post(api_session(x_emulator.state), x_emulator.url, "one")
    state = requests.get(f"{x_emulator.url}/_emulator/state", timeout=5).json()
    assert state["tweets"] == 1 and state["users"] == 3
    assert requests.post(f"{x_emulator.url}/_emulator/reset", timeout=5).json() == {"reset": True}
    assert not x_emulator.state.tweets


def test_reset_forgets_everything_but_apps_and_people(server):
    emulator = server.emulator
    emulator.add_user("dora")
    api = api_session(emulator)
    for n in range(3):
        post(api, server.url, f"before {n}")
    emulator.inject("/2/users/me", status=503, times=None)
    token = api.auth.client.resource_owner_key

    emulator.reset()

    assert emulator.requests == [] and emulator.faults == [] and emulator.tweets == {}
    assert token not in emulator.access_tokens
    assert emulator.user_by_screen_name("dora") is not None
    assert KEY in emulator.consumers
    api = api_session(emulator)
    assert post(api, server.url, "after").headers["x-rate-limit-remaining"] == "2"
