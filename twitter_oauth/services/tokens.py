"""OAuth 2.0 tokens of stored accounts: a client that refreshes them, once per token.

X's access tokens die after two hours and its refresh tokens are single-use: each
refresh answers a new one and the old one stops working. Two workers refreshing
the same account at once would leave one of them holding a dead refresh token,
and the account could never be refreshed again. So a refresh happens in a
transaction of its own with the account's row locked: the second worker waits
for the lock, re-reads the row, finds the new token and uses it without calling
X. The rotated refresh token is committed before the new access token is used.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from twitter_oauth.client import OAuth2Token, TwitterClient, XResponse
from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import (
    TokenRefreshInTransaction,
    TwitterAuthError,
    TwitterBadRequest,
    TwitterError,
    TwitterTokenExpired,
    TwitterTokenRevoked,
)
from twitter_oauth.models import TwitterAccount

logger = logging.getLogger("twitter_oauth.tokens")

#: A token this close to its expiry is refreshed before it is used.
EXPIRY_SLACK = dt.timedelta(seconds=60)
#: The fields a refresh writes.
TOKEN_FIELDS = (
    "access_token",
    "refresh_token",
    "token_expires_at",
    "refresh_token_issued_at",
    "scopes",
    "updated_at",
)


class OAuth2AccountClient(TwitterClient):
    """A Bearer client for one stored OAuth 2.0 account.

    Before a call it refreshes a token that expires within :data:`EXPIRY_SLACK`;
    after a 401 it refreshes once (unless another worker already did) and retries
    once. A 401 for a token it has just refreshed means X revoked the account:
    :class:`TwitterTokenRevoked`. Build it outside a database transaction.
    """

    def __init__(self, account: TwitterAccount, **kwargs: Any) -> None:
        super().__init__(bearer_token=account.access_token, **kwargs)
        self.account = account
        self._refreshed = False

    def __repr__(self) -> str:
        return f"<OAuth2AccountClient account={self.account.pk} api_url={self.api_url!r}>"

    def _send(self, method: str, path: str, **kwargs: Any) -> XResponse:
        if kwargs.get("auth") is not None:  # the token endpoints authenticate the client
            return super()._send(method, path, **kwargs)
        if _expires_soon(self.account):
            self._use(refresh(self.account, stale_token=self.account.access_token))
        try:
            return super()._send(method, path, **kwargs)
        except TwitterAuthError as exc:
            if exc.status != 401:
                raise
            if self._refreshed:
                raise _revoked(exc) from exc
            self._use(refresh(self.account, stale_token=self.bearer_token))
        try:
            return super()._send(method, path, **kwargs)
        except TwitterAuthError as exc:
            if exc.status != 401:
                raise
            raise _revoked(exc) from exc

    def _use(self, account: TwitterAccount) -> None:
        self.bearer_token = account.access_token
        self._refreshed = True


def _revoked(exc: TwitterAuthError) -> TwitterTokenRevoked:
    return TwitterTokenRevoked(
        _("X refused a freshly refreshed access token: access was revoked."),
        status=exc.status,
        code=exc.code,
        detail=exc.detail,
        url=exc.url,
    )


def _expires_soon(account: TwitterAccount) -> bool:
    expires = account.token_expires_at
    return expires is not None and expires <= timezone.now() + EXPIRY_SLACK


def refresh(account: TwitterAccount, *, stale_token: str | None = None) -> TwitterAccount:
    """Give ``account`` a working access token, asking X only when no one else has.

    ``stale_token`` is the access token the caller found expired (or refused); if
    the locked row holds another one that is not about to expire, another worker
    refreshed meanwhile and that one is used without calling X. ``account`` is
    updated in place and returned.

    Raises :class:`TwitterTokenRevoked` (and marks the account revoked) when X
    refuses the refresh token, :class:`TwitterTokenExpired` for an account without
    a refresh token, :class:`~twitter_oauth.exceptions.TwitterUnavailable` when X
    cannot be reached (nothing is changed: the refresh token was not spent, or X
    spent it without answering, which no client can tell apart).
    """
    if connection.in_atomic_block:
        # Our atomic() is then a savepoint: the lock and the rotated token last until the
        # caller's transaction ends, and its rollback would lose the token.
        if settings.DEBUG:
            raise TokenRefreshInTransaction(
                "An X access token must be refreshed outside transaction.atomic(): a rollback "
                "would lose the refresh token X has just rotated."
            )
        logger.warning(
            "Refreshing the X token of account %s inside a transaction; a rollback would "
            "lose the rotated refresh token",
            account.pk,
        )
    try:
        with transaction.atomic():
            _commit_durably()
            locked = TwitterAccount.objects.select_for_update().get(pk=account.pk)
            if locked.revoked_at is None and not _needs_refresh(locked, stale_token):
                _copy_tokens(locked, account)
                return account
            _refresh_locked(locked)
    except _RefreshRefused as refused:
        from twitter_oauth.services.accounts import mark_revoked

        mark_revoked(account)
        exc = refused.error
        raise TwitterTokenRevoked(
            _("X refused to refresh the access of @%(name)s; sign in with X again.")
            % {"name": account.screen_name},
            status=exc.status,
            code=exc.code,
            detail=exc.detail,
            url=exc.url,
        ) from exc
    _copy_tokens(locked, account)
    return account


def _commit_durably() -> None:
    """X has rotated the refresh token once it answers: this commit must reach the disk
    before the new token is used, whatever the session says (the sender relaxes it for
    its outcomes, see :mod:`twitter_oauth.services.delivery`)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO on")


class _RefreshRefused(Exception):
    """X refused the refresh token itself (a 400 such as ``invalid_grant``)."""

    def __init__(self, error: TwitterBadRequest) -> None:
        self.error = error
        super().__init__(str(error))


def _needs_refresh(locked: TwitterAccount, stale_token: str | None) -> bool:
    if stale_token is not None and locked.access_token != stale_token:
        return _expires_soon(locked)
    return True


def _refresh_locked(locked: TwitterAccount) -> None:
    if locked.revoked_at is not None:
        raise TwitterTokenRevoked(_("This X account's access was revoked."))
    if not locked.refresh_token:
        raise TwitterTokenExpired(
            _(
                "The access of @%(name)s to X expired (it was linked without offline access). "
                "Sign in with X again to renew it."
            )
            % {"name": locked.screen_name}
        )
    try:
        grant = TwitterClient().refresh_oauth2_token(locked.refresh_token)
    except TwitterBadRequest as exc:  # invalid_grant and every other 400
        raise _RefreshRefused(exc) from exc
    except TwitterAuthError as exc:
        # A 401 here refuses this site's client credentials, not the person's token:
        # no account is marked revoked for a misconfiguration.
        raise TwitterError(
            _(
                "X refused this site's OAuth 2.0 client credentials "
                "(TWITTER_OAUTH CLIENT_ID and CLIENT_SECRET)."
            ),
            status=exc.status,
            code=exc.code,
            detail=exc.detail,
        ) from exc
    store_grant(locked, grant)
    locked.save(update_fields=TOKEN_FIELDS)
    logger.info("Refreshed the OAuth 2.0 token of X account %s", locked.twitter_id)


def store_grant(
    account: TwitterAccount, grant: OAuth2Token, *, now: dt.datetime | None = None
) -> None:
    """Put X's token answer on ``account`` (not saved). X rotates the refresh token."""
    now = now or timezone.now()
    account.access_token = grant.access_token
    if grant.refresh_token:
        account.refresh_token = grant.refresh_token
        account.refresh_token_issued_at = now
    elif grant.refresh_token is None and "offline.access" not in grant.scopes:
        account.refresh_token = None
        account.refresh_token_issued_at = None
    account.token_expires_at = (
        now + dt.timedelta(seconds=grant.expires_in) if grant.expires_in else None
    )
    if grant.scopes:
        account.scopes = " ".join(grant.scopes)


def _copy_tokens(source: TwitterAccount, target: TwitterAccount) -> None:
    for name in (*TOKEN_FIELDS, "revoked_at"):
        setattr(target, name, getattr(source, name))


def expiring_refresh_token_ids(*, limit: int = 500) -> list[int]:
    """OAuth 2.0 accounts whose refresh token would go unused for its lifetime within a day."""
    lifetime = dt.timedelta(seconds=app_settings.OAUTH2_REFRESH_TOKEN_LIFETIME)
    threshold = timezone.now() - lifetime + dt.timedelta(days=1)
    rows = TwitterAccount.objects.filter(
        protocol=TwitterAccount.Protocol.OAUTH2,
        revoked_at__isnull=True,
        refresh_token__isnull=False,
        refresh_token_issued_at__lt=threshold,
    )
    return list(rows.order_by("refresh_token_issued_at").values_list("pk", flat=True)[:limit])


def keep_alive(account_id: int) -> bool:
    """Refresh one account's tokens so X does not forget its refresh token; True if refreshed."""
    account = TwitterAccount.objects.filter(pk=account_id, revoked_at__isnull=True).first()
    if account is None or not account.refresh_token:
        return False
    before = account.refresh_token_issued_at
    try:
        refresh(account, stale_token=account.access_token)
    except TwitterTokenRevoked:
        logger.info("X account %s: refresh token refused; marked revoked", account.twitter_id)
        return False
    return account.refresh_token_issued_at != before
