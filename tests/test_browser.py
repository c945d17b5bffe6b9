"""The example site in Debian's Chromium, driven by Playwright, against the emulator.

Each test saves a screenshot under tests/screenshots/. Chromium is installed by
`make test`; without it these tests skip (and fail under REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import services_required
from twitter_oauth.models import ScheduledTweet, TwitterAccount
from twitter_oauth.testing import EmulatorServer, XEmulator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "tests" / "screenshots"
# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests
# make between steps are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        reason = f"no Chromium at {CHROMIUM} (make test installs Debian's chromium)"
        if services_required():
            pytest.fail(reason)
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def emulator():
    with EmulatorServer(XEmulator()) as server:
        yield server


@pytest.fixture
def site(live_server, settings, emulator):
    settings.ROOT_URLCONF = "example_project.urls"
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [ROOT / "example_project" / "templates"]}
    ]
    settings.LOGIN_URL = settings.LOGIN_REDIRECT_URL = "/"
    settings.TWITTER_OAUTH = {
        **settings.TWITTER_OAUTH,
        "API_URL": emulator.url,
        "CONSUMER_KEY": "test-consumer-key",
        "CONSUMER_SECRET": "test-consumer-secret",
    }
    return live_server.url


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{request.node.name}.png", full_page=True)
    context.close()


def sign_in(page, site, screen_name="alice"):
    page.goto(site)
    page.get_by_role("button", name="Sign in with X").click()
    page.get_by_role("button", name="Authorize app").wait_for()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "x_authorize_page.png")
    page.get_by_label(f"@{screen_name}", exact=False).check()
    page.get_by_role("button", name="Authorize app").click()
    page.wait_for_url(f"{site}/")


def test_sign_in_by_clicking_through_x(page, site):
    sign_in(page, site)
    assert page.get_by_text("Welcome, @alice! Your account was created with X.").is_visible()
    assert page.get_by_text("Signed in as alice").is_visible()
    assert page.locator(".account img").count() == 1  # the avatar, fetched after sign-in
    assert TwitterAccount.objects.get().screen_name == "alice"


def test_cancel_at_x(page, site):
    page.goto(site)
    page.get_by_role("button", name="Sign in with X").click()
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"{site}/")
    assert page.get_by_text("Signing in with X was cancelled.").is_visible()
    assert not TwitterAccount.objects.exists()


def test_link_a_second_account_then_disconnect_it(page, site):
    sign_in(page, site, "alice")
    page.get_by_role("button", name="Connect another X account").click()
    page.get_by_label("@bob", exact=False).check()
    page.get_by_role("button", name="Authorize app").click()
    page.wait_for_url(f"{site}/")
    assert page.get_by_text("Linked the X account @bob.").is_visible()
    assert page.locator(".account").count() == 2

    page.locator(".account", has_text="@bob").get_by_role("button", name="Disconnect").click()
    page.wait_for_url(f"{site}/")
    assert page.get_by_text("Unlinked the X account @bob.").is_visible()
    assert list(TwitterAccount.objects.values_list("screen_name", flat=True)) == ["alice"]


def test_post_and_see_it_sent(page, site, emulator):
    sign_in(page, site)
    page.get_by_label("Text").fill("Hello from the browser test")
    page.get_by_role("button", name="Post").click()
    page.wait_for_url(f"{site}/")
    assert page.get_by_text("Post for @alice scheduled now.").is_visible()
    row = page.locator(".posts tr", has_text="Hello from the browser test")
    assert row.locator(".status").inner_text().startswith("sent")
    assert ScheduledTweet.objects.get().status == "sent"
    assert [t.text for t in emulator.emulator.tweets.values()] == ["Hello from the browser test"]
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=SCREENSHOTS / "phone_home.png", full_page=True)


def test_admin_changelist_and_an_action(page, site, django_user_model, emulator):
    sign_in(page, site)
    django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    page.goto(f"{site}/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{site}/admin/twitter_oauth/twitteraccount/")
    assert page.get_by_role("link", name="alice").first.is_visible()
    page.locator("input[name=_selected_action]").first.check()
    page.select_option("select[name=action]", "post_test_tweet")
    page.locator("div.actions button[type=submit]").click()  # "Go", or "Run" from Django 6.1
    page.get_by_text("1 account posted.").wait_for()
    assert len(emulator.emulator.tweets) == 1


def test_admin_usage_page(page, site, django_user_model, emulator):
    from twitter_oauth.usage import ledger

    sign_in(page, site)
    for text in ("A plain post", "A post with a link: https://example.com/costs"):
        page.get_by_label("Text").fill(text)
        page.get_by_role("button", name="Post").click()
        page.wait_for_url(f"{site}/")
    assert page.get_by_text("This post contains a link: X charges $0.20").is_visible()
    ledger.flush()
    django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    page.goto(f"{site}/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="X usage").click()
    assert page.locator("svg.x-usage-chart rect").count() == 30
    assert page.get_by_role("cell", name="POST /2/tweets (with URL)").is_visible()
    assert page.get_by_role("link", name="@alice").is_visible()
