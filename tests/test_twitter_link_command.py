"""`manage.py twitter_link USERNAME`: the PIN flow for a terminal, against the emulator."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.signin_helpers import request_token_of
from twitter_oauth.models import TwitterAccount

pytestmark = pytest.mark.django_db


class PersonAtTerminal(io.StringIO):
    """Reads the authorize address the command printed, authorizes at X, types the PIN."""

    def __init__(self, emulator, stdout: io.StringIO, screen_name: str, pin: str | None = None):
        super().__init__()
        self.emulator, self.stdout, self.screen_name, self.pin = emulator, stdout, screen_name, pin

    def readline(self, *args) -> str:
        url = re.search(r"^(http\S+/oauth/authorize\?\S+)$", self.stdout.getvalue(), re.M).group(1)
        user = self.emulator.user_by_screen_name(self.screen_name)
        verifier = self.emulator.authorize(request_token_of(url), user)
        return (self.pin if self.pin is not None else verifier) + "\n"


@pytest.fixture
def dana(django_user_model):
    return django_user_model.objects.create_user("dana", password="pw")


def run(x_emulator, monkeypatch, screen_name="bob", pin=None, username="dana"):
    stdout = io.StringIO()
    monkeypatch.setattr("sys.stdin", PersonAtTerminal(x_emulator.state, stdout, screen_name, pin))
    call_command("twitter_link", username, stdout=stdout)
    return stdout.getvalue()


def test_the_pin_flow_links_the_account(x_settings, x_emulator, monkeypatch, dana):
    output = run(x_emulator, monkeypatch)
    lines = output.splitlines()
    assert lines[1].startswith(f"{x_emulator.url}/oauth/authorize?oauth_token=")
    assert "Linked @bob to dana." in output
    account = TwitterAccount.objects.get()
    assert (account.user, account.screen_name) == (dana, "bob")
    oob = x_emulator.state.requests[0]
    assert 'oauth_callback="oob"' in oob.headers["Authorization"]


def test_a_wrong_pin_exits_with_a_clear_message(x_settings, x_emulator, monkeypatch, dana):
    with pytest.raises(CommandError, match="X refused the PIN"):
        run(x_emulator, monkeypatch, pin="0000000")
    assert not TwitterAccount.objects.exists()


@pytest.mark.parametrize("pin", ["", "12 34", "9" * 65])
def test_an_empty_or_malformed_pin_is_refused_without_calling_x(
    x_settings, x_emulator, monkeypatch, dana, pin
):
    with pytest.raises(CommandError):
        run(x_emulator, monkeypatch, pin=pin)
    assert x_emulator.state.count("/oauth/access_token") == 0


def test_an_unknown_user_is_refused_before_calling_x(x_settings, x_emulator, monkeypatch):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run(x_emulator, monkeypatch, username="nobody")
    assert x_emulator.state.count() == 0


def test_x_down_is_a_clear_error(x_settings, x_emulator, monkeypatch, dana):
    x_emulator.state.inject("/oauth/request_token", status=503)
    with pytest.raises(CommandError, match="Could not start linking at X"):
        run(x_emulator, monkeypatch)


def test_an_account_linked_to_someone_else_is_refused(x_settings, x_emulator, monkeypatch, dana):
    get_user_model().objects.create_user("erin")
    run(x_emulator, monkeypatch, username="erin")
    with pytest.raises(CommandError, match="already linked to another user"):
        run(x_emulator, monkeypatch)
