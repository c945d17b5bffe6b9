"""What one sign-in costs: calls to X and SQL statements, against a bare Django baseline."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import login
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import path

from tests import urls as test_urls
from tests.signin_helpers import act_at_x, callback_path, sign_in, start
from twitter_oauth.models import TwitterAccount

pytestmark = pytest.mark.django_db

TABLE = re.compile(r'(?:FROM|JOIN|INTO|UPDATE)\s+"?(\w+)"?', re.I)


def tables(queries) -> set[str]:
    return {name for query in queries for name in TABLE.findall(query["sql"])}


def bare_view(request):
    """The least a sign-in can do: read one row, write one row, call login()."""
    account = TwitterAccount.objects.select_related("user").get(pk=request.GET["pk"])
    account.save(update_fields=["updated_at"])
    login(request, account.user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse("ok")


def touch_session(request):
    request.session["touched"] = True
    return HttpResponse("ok")


urlpatterns = [
    *test_urls.urlpatterns,
    path("bare/", bare_view),
    path("touch/", touch_session),
]


@pytest.fixture
def returning_alice(client, x_settings, x_emulator):
    sign_in(client, screen_name="alice")
    client.logout()
    return TwitterAccount.objects.get()


def test_the_login_view_touches_no_table_but_the_session(client, x_settings, x_emulator):
    with CaptureQueriesContext(connection) as queries:
        response = start(client)
    assert response.status_code == 302
    assert tables(queries.captured_queries) == {"django_session"}
    assert x_emulator.state.count() == 1


def test_sign_in_makes_exactly_two_calls_to_x(client, x_settings, x_emulator):
    sign_in(client, screen_name="alice")
    client.logout()
    x_emulator.state.reset()
    sign_in(client, screen_name="alice")
    site_calls = [r.path for r in x_emulator.state.requests if not r.path.startswith("/oauth/auth")]
    assert site_calls == ["/oauth/request_token", "/oauth/access_token"]


def test_a_returning_users_callback_costs_no_more_than_a_bare_login_view(
    client, x_settings, x_emulator, returning_alice, settings
):
    settings.ROOT_URLCONF = __name__
    client.get("/touch/")  # the baseline starts, like a callback, with a session row
    with CaptureQueriesContext(connection) as baseline:
        assert client.get(f"/bare/?pk={returning_alice.pk}").status_code == 200
    client.logout()

    started = start(client)
    callback = callback_path(act_at_x(started["Location"], screen_name="alice"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(callback)

    assert response.status_code == 302 and response["Location"] == "/home/"
    ours = [q["sql"] for q in queries.captured_queries if "twitter_oauth_" in q["sql"]]
    assert len(ours) == 2, ours
    assert ours[0].startswith("SELECT") and '"auth_user"' in ours[0] and "JOIN" in ours[0]
    assert ours[1].startswith("UPDATE")
    assert len(queries) <= len(baseline), "\n".join(q["sql"] for q in queries.captured_queries)
    assert len(queries) <= 13


def test_an_oauth2_returning_users_callback_costs_what_an_oauth1_one_does(
    client, oauth2_settings, x_emulator
):
    sign_in(client, screen_name="alice")
    client.logout()
    started = start(client)
    callback = callback_path(act_at_x(started["Location"], screen_name="alice"))
    earlier = len(x_emulator.state.requests)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(callback)

    assert response.status_code == 302 and response["Location"] == "/home/"
    calls = [r.path for r in x_emulator.state.requests[earlier:]]
    assert calls == ["/2/oauth2/token", "/2/users/me"]
    ours = [q["sql"] for q in queries.captured_queries if "twitter_oauth_" in q["sql"]]
    assert len(ours) == 2, ours
    assert ours[0].startswith("SELECT") and ours[1].startswith("UPDATE")
    assert len(queries) <= 13
