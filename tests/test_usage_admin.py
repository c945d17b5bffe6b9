"""The admin's "X usage" page, each account's spend, and the price of a post with a link."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from twitter_oauth.admin import bar_chart
from twitter_oauth.models import ScheduledTweet, UsageRecord
from twitter_oauth.services.usage import DayTotal

pytestmark = pytest.mark.django_db

USAGE_PAGE = "/admin/twitter_oauth/usagerecord/"


@pytest.fixture
def today():
    return timezone.now().astimezone(dt.UTC).date()


@pytest.fixture
def spending(linked_account, today, django_user_model):
    """Alice posted today and yesterday; the app exchanged tokens; an unlinked account read."""

    def record(day, endpoint, account_id, requests, micros):
        UsageRecord.objects.create(
            day=day, endpoint=endpoint, account_id=account_id, requests=requests,
            succeeded=requests, billed_units=requests, usd_micros=micros,
        )  # fmt: skip

    record(today, "POST /2/tweets", linked_account.pk, 3, 45_000)
    record(today, "POST /2/tweets (with URL)", linked_account.pk, 1, 200_000)
    record(today - dt.timedelta(days=1), "GET /2/users/me", linked_account.pk, 1, 10_000)
    record(today, "POST /oauth/access_token", 0, 2, 0)
    record(today, "GET /2/users/me", 4242, 1, 10_000)
    record(today - dt.timedelta(days=30), "POST /2/tweets", linked_account.pk, 9, 135_000)
    return linked_account


def rows_of(html: str, heading: str) -> list[list[str]]:
    """The cells of the table after ``<h2>heading</h2>``, tags stripped."""
    table = html.split(f"<h2>{heading}</h2>", 1)[1].split("</table>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
        if "<td" in row
    ]


def test_the_usage_page_is_linked_from_the_apps_admin_index(admin_client):
    page = admin_client.get("/admin/twitter_oauth/").content.decode()
    assert f'<a href="{USAGE_PAGE}">X usage</a>' in page


def test_the_usage_page_shows_totals_per_endpoint_and_top_accounts(admin_client, spending):
    response = admin_client.get(USAGE_PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>8</strong> requests, <strong>$0.265</strong>" in html
    assert rows_of(html, "Per endpoint") == [
        ["POST /2/tweets (with URL)", "1", "1", "1", "0.200"],
        ["POST /2/tweets", "3", "3", "3", "0.045"],
        ["GET /2/users/me", "2", "2", "2", "0.020"],
        ["POST /oauth/access_token", "2", "2", "2", "0.000"],
    ]
    assert rows_of(html, "Accounts that spend most") == [
        ["@alice", "5", "5", "0.255"],
        ["unlinked account #4242", "1", "1", "0.010"],
    ]
    assert f'<a href="/admin/twitter_oauth/twitteraccount/{spending.pk}/change/">@alice</a>' in html


def test_the_chart_has_a_bar_per_day_and_no_script(admin_client, spending, today):
    html = admin_client.get(USAGE_PAGE).content.decode()
    bars = re.findall(r"<rect [^>]*><title>([^<]*)</title></rect>", html)
    assert len(bars) == 30
    assert bars[-1] == f"{today:%Y-%m-%d}: $0.255, 7 requests"
    assert bars[-2] == f"{today - dt.timedelta(days=1):%Y-%m-%d}: $0.010, 1 request"
    assert bars[0] == f"{today - dt.timedelta(days=29):%Y-%m-%d}: $0.000, 0 requests"
    assert "<script" not in html.split('<div id="content-main"', 1)[1]


def test_bars_are_in_proportion_to_the_dearest_day():
    days = [
        DayTotal(dt.date(2026, 6, 1), 1, 0.0),
        DayTotal(dt.date(2026, 6, 2), 1, 0.05),
        DayTotal(dt.date(2026, 6, 3), 1, 0.2),
    ]
    assert [(bar["x"], bar["y"], bar["width"], bar["height"]) for bar in bar_chart(days)] == [
        (0.0, 120.0, 198.0, 0.0),
        (200.0, 90.0, 198.0, 30.0),
        (400.0, 0.0, 198.0, 120.0),
    ]


def test_the_usage_page_for_one_account(admin_client, spending):
    html = admin_client.get(f"{USAGE_PAGE}?account={spending.pk}").content.decode()
    assert "Requests to X for @alice" in html
    assert [row[0] for row in rows_of(html, "Per endpoint")] == [
        "POST /2/tweets (with URL)",
        "POST /2/tweets",
        "GET /2/users/me",
    ]
    assert "Accounts that spend most" not in html


def test_the_usage_page_runs_the_same_queries_however_many_rows(admin_client, spending, today):
    with CaptureQueriesContext(connection) as few:
        admin_client.get(USAGE_PAGE)
    UsageRecord.objects.bulk_create(
        UsageRecord(day=today - dt.timedelta(days=n % 30), endpoint=f"GET /2/e{n}", account_id=n)
        for n in range(1, 200)
    )
    with CaptureQueriesContext(connection) as many:
        admin_client.get(USAGE_PAGE)
    assert len(many) == len(few)


def test_the_usage_page_offers_no_add_change_or_delete(admin_client, spending):
    record = UsageRecord.objects.first()
    assert admin_client.get(f"{USAGE_PAGE}add/").status_code == 403
    assert admin_client.post(f"{USAGE_PAGE}{record.pk}/delete/").status_code == 403


def test_an_accounts_page_shows_its_own_spend(admin_client, spending):
    html = admin_client.get(
        f"/admin/twitter_oauth/twitteraccount/{spending.pk}/change/"
    ).content.decode()
    assert (
        f'$0.255 <span class="help">(5 requests)</span> '
        f'<a href="{USAGE_PAGE}?account={spending.pk}">X usage</a>'
    ) in html


def test_the_scheduled_post_admin_says_when_a_link_makes_a_post_dearer(
    admin_client, linked_account
):
    ScheduledTweet.objects.create(account=linked_account, text="no link here")
    ScheduledTweet.objects.create(account=linked_account, text="see https://example.com")
    html = admin_client.get("/admin/twitter_oauth/scheduledtweet/").content.decode()
    assert "$0.20: the post contains a link (without one: $0.015)." in html
    assert '<td class="field-price_at_x">$0.015</td>' in html


def test_saving_a_post_with_a_link_in_the_admin_warns_of_the_price(admin_client, linked_account):
    post = ScheduledTweet.objects.create(account=linked_account, text="plain")
    form = {
        "account": linked_account.pk,
        "text": "now with example.com",
        "send_at_0": "2030-01-01",
        "send_at_1": "10:00:00",
    }
    response = admin_client.post(
        f"/admin/twitter_oauth/scheduledtweet/{post.pk}/change/", form, follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "$0.20: the post contains a link (without one: $0.015)." in messages
