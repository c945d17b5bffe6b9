"""The pages a person sees at X: authorize (choose an identity, Authorize or Cancel) and the PIN."""

from __future__ import annotations

import re
from html import escape
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from twitter_oauth.testing.records import EmulatorResponse

if TYPE_CHECKING:
    from twitter_oauth.testing.records import XUser
    from twitter_oauth.testing.state import XEmulator

COOKIE = "x_emulator_user"
_SCREEN_NAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_ACCESS = {
    "read": "see your posts and your profile",
    "write": "see your posts and your profile, and post for you",
}
_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;background:#f7f9f9;color:#0f1419;margin:0}
main{max-width:28rem;margin:3rem auto;background:#fff;border:1px solid #cfd9de;
border-radius:16px;padding:2rem}
h1{font-size:1.3rem;margin-top:0}.logo{font-size:2rem;font-weight:800}
label{display:block;padding:.3rem 0}
input[type=text]{font:inherit;padding:.3rem;width:100%;box-sizing:border-box}
.buttons{display:flex;gap:.75rem;margin-top:1.25rem}
button{font:inherit;font-weight:700;padding:.6rem 1.2rem;border-radius:999px;
border:1px solid #0f1419;cursor:pointer}
button[value=authorize]{background:#0f1419;color:#fff}button[value=cancel]{background:#fff;color:#0f1419}
code{font-size:2rem;letter-spacing:.3rem}
"""


def html_page(
    title: str, body: str, status: int = 200, headers: dict[str, str] | None = None
) -> EmulatorResponse:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><main><div class="logo">&#x1D54F;</div>{body}</main></body></html>'
    )
    return EmulatorResponse(
        status=status,
        headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})},
        body=document.encode(),
    )


def invalid_token_page() -> EmulatorResponse:
    return html_page(
        "Whoa there!",
        "<h1>Whoa there!</h1><p>The request token for this page is invalid. It may have already "
        "been used, or expired because it is too old. Please go back to the site or application "
        "that sent you here and try again; it was probably just a mistake.</p>",
        status=400,
    )


def authorize_page(
    emulator: XEmulator, path: str, query: dict[str, str], headers: dict[str, str]
) -> EmulatorResponse:
    token = query.get("oauth_token", "")
    record = emulator.live_request_token(token)
    if record is None:
        return invalid_token_page()
    remembered = remembered_user(emulator, headers)
    if (
        path.endswith("/authenticate")
        and remembered is not None
        and (remembered.id, record.consumer_key) in emulator.approvals
        and query.get("force_login", "").lower() != "true"
    ):
        return _authorized(emulator, token, remembered)  # "Sign in with X" skips the prompt
    wanted = query.get("screen_name") or (remembered.screen_name if remembered else "")
    title = f"Authorize {record.consumer_key} to access your account?"
    access = _ACCESS.get(record.access_type or "write", _ACCESS["write"])
    body = (
        f"<h1>{escape(title)}</h1>"
        f"<p>This application will be able to {access}.</p>"
        f'<form method="post" action="{escape(path)}">'
        f'<input type="hidden" name="oauth_token" value="{escape(token)}">'
        f"{user_fieldset(emulator, wanted)}"
        '<div class="buttons">'
        '<button type="submit" name="action" value="authorize">Authorize app</button>'
        '<button type="submit" name="action" value="cancel">Cancel</button></div></form>'
    )
    return html_page(title, body)


def authorize_answer(emulator: XEmulator, form: dict[str, str]) -> EmulatorResponse:
    token = form.get("oauth_token", "")
    record = emulator.live_request_token(token)
    if record is None:
        return invalid_token_page()
    if form.get("action") != "authorize":
        emulator.deny(token)
        if record.callback == "oob":
            return html_page("Cancelled", "<h1>You did not authorize the app.</h1>")
        return _redirect(record.callback, {"denied": token})
    user = chosen_user(emulator, form)
    if isinstance(user, EmulatorResponse):
        return user
    return _authorized(emulator, token, user)


def user_fieldset(emulator: XEmulator, wanted: str) -> str:
    """The identities to sign in as (``wanted`` checked, else the first), and a new one."""
    users = list(emulator.users.values())
    chosen = emulator.user_by_screen_name(wanted) if wanted else None
    chosen = chosen or (users[0] if users else None)
    choices = "".join(
        f'<label><input type="radio" name="screen_name" value="{escape(user.screen_name)}"'
        f"{' checked' if user is chosen else ''}>"
        f" @{escape(user.screen_name)} ({escape(user.name)})</label>"
        for user in users
    )
    return (
        f"<fieldset><legend>Sign in as</legend>{choices}"
        '<label>or a new screen name <input type="text" name="new_screen_name"></label></fieldset>'
    )


def chosen_user(emulator: XEmulator, form: dict[str, str]) -> XUser | EmulatorResponse:
    """The person the form signs in as (made up on the page if new), or the page's 400."""
    screen_name = (form.get("new_screen_name") or form.get("screen_name") or "").strip().lstrip("@")
    user = emulator.user_by_screen_name(screen_name) if screen_name else None
    if user is None:
        if not _SCREEN_NAME.fullmatch(screen_name):  # X's rule, for people made up on the page
            return html_page(
                "Choose an account",
                "<h1>Choose an account to sign in with.</h1><p>A screen name is 1 to 15 "
                "letters, digits or underscores. Go back and try again.</p>",
                400,
            )
        user = emulator.add_user(screen_name)
    return user


def remember(user: XUser) -> dict[str, str]:
    """The cookie by which X's pages remember who signed in."""
    return {"Set-Cookie": f"{COOKIE}={user.id}; Path=/; HttpOnly; SameSite=Lax"}


def _authorized(emulator: XEmulator, token: str, user: XUser) -> EmulatorResponse:
    record = emulator.request_tokens[token]
    verifier = emulator.authorize(token, user)
    cookie = remember(user)
    if record.callback == "oob":
        return html_page(
            "Authorized",
            f"<h1>You've granted access to {escape(record.consumer_key)}!</h1>"
            f"<p>Next, return to the app and enter this PIN to complete the authorization "
            f'process:</p><p><code id="pin">{verifier}</code></p>',
            headers=cookie,
        )
    response = _redirect(record.callback, {"oauth_token": token, "oauth_verifier": verifier})
    response.headers.update(cookie)
    return response


def _redirect(callback: str, params: dict[str, str]) -> EmulatorResponse:
    parts = urlsplit(callback)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return EmulatorResponse(
        status=302, headers={"Location": urlunsplit(parts._replace(query=query))}
    )


def remembered_user(emulator: XEmulator, headers: dict[str, str]) -> XUser | None:
    raw = next((v for k, v in headers.items() if k.lower() == "cookie"), "")
    morsel = SimpleCookie(raw).get(COOKIE)
    return emulator.users.get(morsel.value) if morsel else None


def avatar(user: XUser) -> EmulatorResponse:
    initial = escape(user.screen_name[:1].upper())
    hue = int(user.id) % 360
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        f'<rect width="96" height="96" rx="48" fill="hsl({hue},55%,45%)"/>'
        f'<text x="48" y="62" font-family="sans-serif" font-size="44" fill="#fff" '
        f'text-anchor="middle">{initial}</text></svg>'
    )
    return EmulatorResponse(
        status=200,
        headers={"Content-Type": "image/svg+xml", "Cache-Control": "max-age=86400"},
        body=svg.encode(),
    )
