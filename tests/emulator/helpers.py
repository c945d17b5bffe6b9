"""What the emulator's tests share: X's published example, a clock to move, a signing client,
a browser's reading of the authorize page's form, and an OAuth 2.0 client's requests."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

import requests
from oauthlib.oauth1 import Client
from requests_oauthlib import OAuth1, OAuth1Session

from twitter_oauth.testing.oauth2 import s256

KEY, SECRET = "test-consumer-key", "test-consumer-secret"
CALLBACK = "http://client.example/callback"

CODE_32 = {"errors": [{"code": 32, "message": "Could not authenticate you."}]}
CODE_89 = {"errors": [{"code": 89, "message": "Invalid or expired token."}]}
CODE_89_V2 = {
    "title": "Unauthorized",
    "detail": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    **CODE_89,
}
CODE_135 = {"errors": [{"code": 135, "message": "Timestamp out of bounds."}]}
CODE_215 = {"errors": [{"code": 215, "message": "Bad Authentication data."}]}
VERIFIER_ERROR = "Error processing your OAuth request: Invalid oauth_verifier parameter"

# X's published example of a signed request ("Creating a signature").
X_URL = "https://api.x.com/1.1/statuses/update.json?include_entities=true"
X_BODY = "status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21"
X_CONSUMER = ("xvz1evFS4wEEPTGEFPHBog", "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw")
X_TOKEN = (
    "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
)
X_NONCE = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"
X_TIMESTAMP = 1318622958
X_SIGNATURE = "Ls93hJiZbQ3akF3HF3x1Bz8/zU4="
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def x_authorization(**changes: str) -> str:
    """The Authorization header of X's example, built by hand and percent-encoded per RFC 5849."""
    params = {
        "oauth_consumer_key": X_CONSUMER[0],
        "oauth_nonce": X_NONCE,
        "oauth_signature": X_SIGNATURE,
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(X_TIMESTAMP),
        "oauth_token": X_TOKEN[0],
        "oauth_version": "1.0",
        **changes,
    }
    return "OAuth " + ", ".join(f'{k}="{quote(v, safe="")}"' for k, v in params.items())


class Clock:
    """A clock a test moves by hand: ``XEmulator(clock=clock)``."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ClockedOAuth1(OAuth1):
    """requests-oauthlib's signer, with timestamps from the emulator's clock (which tests move)."""

    def __init__(self, clock, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def __call__(self, request):
        self.client.timestamp = str(int(self.clock()))
        return super().__call__(request)


def api_session(emulator, screen_name: str = "alice", *, key=KEY, secret=SECRET):
    """A keep-alive session signing for the user's access token, as the app under test would."""
    user = emulator.user_by_screen_name(screen_name)
    token, token_secret = emulator.issue_access_token(key, user)
    session = requests.Session()
    session.auth = ClockedOAuth1(emulator.clock, key, secret, token, token_secret)
    return session


def fetch_request_token(url: str, callback: str = CALLBACK, *, key=KEY, secret=SECRET, **kwargs):
    with OAuth1Session(key, client_secret=secret, callback_uri=callback) as oauth:
        return oauth.fetch_request_token(f"{url}/oauth/request_token", **kwargs)


def exchange(url, token, *, verifier=None, key=KEY, secret=SECRET, token_secret=None, **kwargs):
    """``POST oauth/access_token`` for a request token (a dict as fetch_request_token returns)."""
    auth = OAuth1(
        key,
        secret,
        token["oauth_token"],
        token_secret or token["oauth_token_secret"],
        verifier=verifier,
        **kwargs,
    )
    return requests.post(f"{url}/oauth/access_token", auth=auth, timeout=5)


def body(response) -> object:
    """The JSON body of a requests or an emulator response."""
    content = getattr(response, "content", None)
    return json.loads(response.body if content is None else content)


@dataclass
class Form:
    """An HTML form as a browser sees it: where it goes and what it would submit."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    radios: dict[str, list[str]] = field(default_factory=dict)
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (name, value)

    def submit(self, button: str, **values: str) -> dict[str, str]:
        """The form data a browser sends when ``button`` (its label) is pressed."""
        name, value = self.buttons[button]
        return {**self.fields, **values, name: value}


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._button: tuple[str, str] | None = None
        self._label = ""

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(attrs.get("action", ""), attrs.get("method", "get").upper()))
        elif tag == "input" and self.forms and "name" in attrs:
            form, kind = self.forms[-1], attrs.get("type", "text")
            if kind == "radio":
                form.radios.setdefault(attrs["name"], []).append(attrs["value"])
                if "checked" in attrs:
                    form.fields[attrs["name"]] = attrs["value"]
            else:
                form.fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "button" and self.forms:
            self._button, self._label = (attrs.get("name", ""), attrs.get("value", "")), ""

    def handle_data(self, data):
        if self._button is not None:
            self._label += data

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self.forms[-1].buttons[self._label.strip()] = self._button
            self._button = None


def read_form(html: str, page_url: str) -> Form:
    """The page's only form, with its action made absolute."""
    reader = _FormReader()
    reader.feed(html)
    assert len(reader.forms) == 1, html
    form = reader.forms[0]
    form.action = urljoin(page_url, form.action)
    return form


def click(browser, authorize_url: str, button: str = "Authorize app", **values: str):
    """Open X's authorize page, press a button; return X's answer (not followed)."""
    page = browser.get(authorize_url, timeout=5)
    assert page.status_code == 200, page.text
    form = read_form(page.text, page.url)
    assert form.method == "POST"
    return browser.post(
        form.action, data=form.submit(button, **values), allow_redirects=False, timeout=5
    )


# --- OAuth 2.0 ----------------------------------------------------------------------------------

CLIENT_ID, CLIENT_SECRET = "test-client-id", "test-client-secret"
PUBLIC_CLIENT_ID = "test-public-client-id"
REDIRECT_URI = "http://client.example/callback"
VERIFIER = "a-code-verifier-of-forty-three-characters-or-more_~."
SIGN_IN_SCOPES = "tweet.read users.read"
ALL_SCOPES = "tweet.read tweet.write users.read users.email offline.access"
X_API = "https://api.x.com"


def oauth2_authorize_url(base: str = X_API, **changes: str | None) -> str:
    """An authorize URL as the app builds it; a change of None leaves that parameter out."""
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": ALL_SCOPES,
        "state": "a-state",
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
        **changes,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base}/i/oauth2/authorize?{query}"


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    """HTTP Basic client authentication, with the form body's content type."""
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {**FORM, "Authorization": f"Basic {credentials}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def query_of(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


def call(
    emulator, method: str, path: str, *, screen_name="alice", json_body=None, key=KEY, secret=None
):
    """A request signed for ``https://api.x.com`` answered by ``XEmulator.handle``, no socket.

    ``path`` may carry a query string; a ``json_body`` is sent unsigned, as JSON bodies are.
    ``secret`` signs with another consumer secret than the registered one.
    """
    user = emulator.user_by_screen_name(screen_name)
    token, token_secret = emulator.issue_access_token(key, user)
    client = Client(
        key,
        client_secret=secret or emulator.consumers[key],
        resource_owner_key=token,
        resource_owner_secret=token_secret,
        timestamp=str(int(emulator.clock())),
    )
    url, headers, _ = client.sign(f"https://api.x.com{path}", method)
    content = b"" if json_body is None else json.dumps(json_body).encode()
    if json_body is not None:
        headers["Content-Type"] = "application/json"
    return emulator.handle(method, url, headers, content)
