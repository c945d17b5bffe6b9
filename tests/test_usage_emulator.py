"""The site's usage ledger against the emulator's own record of what reached X and what X bills."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tests.signin_helpers import LOGIN_URL, act_at_x, callback_path, sign_in
from twitter_oauth import services, tasks
from twitter_oauth.exceptions import TwitterDuplicate, TwitterUnavailable
from twitter_oauth.models import ScheduledTweet, TwitterAccount

pytestmark = pytest.mark.django_db


def ledger_json(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("twitter_usage", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_ledger_counts_what_the_emulator_saw_and_prices_it_as_x_bills(
    client, x_settings, x_emulator, django_capture_on_commit_callbacks
):
    # Two sign-ups, each with its profile read on commit, and a returning sign-in.
    for screen_name in ("alice", "bob", "alice"):
        with django_capture_on_commit_callbacks(execute=True):
            sign_in(client, screen_name=screen_name)
        client.logout()
    # An OAuth 2.0 sign-up: the token exchange and the user read it cannot skip.
    started = client.post(LOGIN_URL, {"protocol": "oauth2"})
    client.get(callback_path(act_at_x(started["Location"], screen_name="carol")))
    client.logout()
    alice = TwitterAccount.objects.get(screen_name="alice")
    services.post_tweet(alice, "plain words")
    services.post_tweet(alice, "with a link https://example.com/x")
    with pytest.raises(TwitterDuplicate):
        services.post_tweet(alice, "plain words")
    x_emulator.state.inject("/2/tweets", status=503)
    with pytest.raises(TwitterUnavailable):
        services.post_tweet(alice, "during an outage")
    x_emulator.state.inject("/2/tweets", drop=True)
    with pytest.raises(TwitterUnavailable):
        services.post_tweet(alice, "answer dropped")
    tasks.refresh_profile.delay(alice.pk)

    ours = ledger_json()
    theirs = x_emulator.state.usage()
    assert ours == theirs
    assert {row["endpoint"] for row in ours} == {
        "POST /oauth/request_token",
        "POST /oauth/access_token",
        "POST /2/oauth2/token",
        "GET /2/users/me",
        "POST /2/tweets",
        "POST /2/tweets (with URL)",
    }
    by_endpoint = {row["endpoint"]: row for row in ours}
    assert by_endpoint["POST /2/tweets"]["requests"] == 4
    assert by_endpoint["POST /2/tweets"]["succeeded"] == 1
    # Two OAuth 1.0a sign-ups' profile tasks, the OAuth 2.0 sign-in's read, one refresh.
    assert by_endpoint["GET /2/users/me"]["requests"] == 4


def test_an_uncertain_posts_read_back_is_counted_and_bounded(account_post_lost, x_emulator):
    ours = {row["endpoint"]: row for row in ledger_json()}
    theirs = {row["endpoint"]: row for row in x_emulator.state.usage()}
    read_back = ours["GET /2/users/:id/tweets"]
    assert read_back == theirs["GET /2/users/:id/tweets"]
    assert read_back["requests"] == 1 and read_back["usd"] <= 0.025
    assert ours["POST /2/tweets"] == theirs["POST /2/tweets"]


@pytest.fixture
def account_post_lost(linked_account, x_emulator):
    """A scheduled post whose first answer was lost, then sent again after a look at X."""
    x_emulator.state.inject("/2/tweets", status=503)
    ScheduledTweet.objects.create(account=linked_account, text="may or may not be there")
    services.send_due()
    ScheduledTweet.objects.update(send_at=ScheduledTweet.objects.get().created_at)
    services.send_due()
    assert ScheduledTweet.objects.get().status == "sent"
    return linked_account


def test_dollars_agree_with_what_the_emulator_bills_for_a_day_without_repeated_reads(
    linked_account, x_emulator
):
    services.post_tweet(linked_account, "one")
    services.post_tweet(linked_account, "two https://example.com")
    services.refresh_profile(linked_account)
    rows = ledger_json()
    assert round(sum(row["usd"] for row in rows), 6) == x_emulator.state.billed_usd() == 0.225
