"""Linked accounts: sign in, link, unlink, refresh, and a client for a stored account.

The sign-in of a returning user costs two queries on our tables: one read of the
account with its user joined, one write of the fresh tokens.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as django_login
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from twitter_oauth import signals
from twitter_oauth.client import AccessToken, TwitterClient
from twitter_oauth.conf import app_settings
from twitter_oauth.exceptions import (
    AccountLinkedElsewhere,
    InactiveUser,
    LastLoginMethod,
    SignupClosed,
    TwitterAppHeld,
    TwitterError,
    TwitterTokenRevoked,
)
from twitter_oauth.models import TwitterAccount
from twitter_oauth.services import tokens

if TYPE_CHECKING:
    # The project's AUTH_USER_MODEL, as django-stubs resolves it.
    from django.contrib.auth.models import User

logger = logging.getLogger("twitter_oauth.accounts")

BACKEND = "twitter_oauth.backends.TwitterAccountBackend"
#: Attempts at creating a user when concurrent sign-ups race for a username.
CREATE_ATTEMPTS = 5


@dataclass(frozen=True)
class LinkResult:
    account: TwitterAccount
    created_account: bool
    created_user: bool = False


def client_for(account: TwitterAccount) -> TwitterClient:
    """An authenticated client for a stored account (tweepy's ``set_access_token``).

    For an OAuth 2.0 account it carries the Bearer token and refreshes it as needed
    (see :mod:`twitter_oauth.services.tokens`); build it outside a transaction. Its
    requests are counted under the account in the usage ledger.
    """
    if account.is_oauth2:
        return tokens.OAuth2AccountClient(account, account_id=account.pk)
    return TwitterClient(account.access_token, account.access_token_secret, account_id=account.pk)


# --- sign in and link ---------------------------------------------------------------------------


def sign_in(request: HttpRequest, access: AccessToken) -> LinkResult:
    """Sign in the owner of ``access``, creating a user for a new X identity."""
    account = _find(access.user_id)
    if account is not None:
        _store_tokens(account, access, signed_in=True)
        result = LinkResult(account, created_account=False)
    elif not app_settings.SIGNUP_ENABLED:
        raise SignupClosed(_("This site does not create accounts with X. Sign in another way."))
    else:
        result = _create_account(access, user=None)
    user = result.account.user
    if not getattr(user, "is_active", True):
        raise InactiveUser(_("This account is disabled."))
    django_login(request, user, backend=_login_backend())
    signals.user_signed_in.send(
        sender=TwitterAccount,
        account=result.account,
        user=user,
        request=request,
        created_user=result.created_user,
    )
    _refresh_profile_later(result)
    return result


def link(request: HttpRequest | None, user: User, access: AccessToken) -> LinkResult:
    """Link the owner of ``access`` to ``user``; never moves an account from another user."""
    account = _find(access.user_id)
    if account is None:
        result = _create_account(access, user=user)
    elif account.user_id != user.pk:
        raise AccountLinkedElsewhere(
            _("The X account @%(screen_name)s is already linked to another user.")
            % {"screen_name": access.screen_name}
        )
    else:
        _store_tokens(account, access, signed_in=False)
        result = LinkResult(account, created_account=False)
    signals.account_linked.send(
        sender=TwitterAccount,
        account=result.account,
        user=user,
        request=request,
        created=result.created_account,
    )
    _refresh_profile_later(result)
    return result


def _find(twitter_id: str) -> TwitterAccount | None:
    return TwitterAccount.objects.select_related("user").filter(twitter_id=twitter_id).first()


def _store_tokens(account: TwitterAccount, access: AccessToken, *, signed_in: bool) -> None:
    """One UPDATE: fresh tokens (X may have issued new ones), screen name, not revoked.

    The account keeps the credentials of the protocol used last; the other's are cleared.
    """
    _set_credentials(account, access)
    account.screen_name = access.screen_name
    account.revoked_at = None
    fields = [*CREDENTIAL_FIELDS, "screen_name", "revoked_at", "updated_at"]
    if access.oauth2 is not None:  # the profile came with the sign-in
        fields += _set_profile(account, access)
    if signed_in:
        account.last_login_at = timezone.now()
        fields.append("last_login_at")
    account.save(update_fields=fields)


#: What a sign-in with either protocol writes.
CREDENTIAL_FIELDS = (
    "protocol",
    "access_token",
    "access_token_secret",
    "refresh_token",
    "token_expires_at",
    "refresh_token_issued_at",
    "scopes",
)


def _set_credentials(account: TwitterAccount, access: AccessToken) -> None:
    account.protocol = access.protocol
    account.access_token = access.token
    account.access_token_secret = access.secret
    account.refresh_token = None
    account.token_expires_at = account.refresh_token_issued_at = None
    account.scopes = ""
    if access.oauth2 is not None:
        tokens.store_grant(account, access.oauth2)


def _set_profile(account: TwitterAccount, access: AccessToken) -> list[str]:
    account.name = access.name[:100]
    account.profile_image_url = access.profile_image_url[:500]
    account.verified_at = timezone.now()
    return ["name", "profile_image_url", "verified_at"]


def _create_account(access: AccessToken, *, user: User | None) -> LinkResult:
    """Create the account (and a user when ``user`` is None), safe against concurrent callbacks.

    Two callbacks for the same new X identity race on the unique ``twitter_id``:
    the loser's transaction (its new user included) rolls back and it continues
    with the winner's account.
    """
    last_error: IntegrityError | None = None
    for _attempt in range(CREATE_ATTEMPTS):
        try:
            with transaction.atomic():
                owner = user or _create_user(access)
                account = TwitterAccount(
                    user=owner,
                    twitter_id=access.user_id,
                    screen_name=access.screen_name,
                    last_login_at=timezone.now() if user is None else None,
                )
                _set_credentials(account, access)
                if access.oauth2 is not None:
                    _set_profile(account, access)
                account.save(force_insert=True)
            return LinkResult(account, created_account=True, created_user=user is None)
        except IntegrityError as exc:
            last_error = exc
            existing = _find(access.user_id)
            if existing is None:
                continue  # a username collision with a concurrent sign-up: pick another
            if user is not None and existing.user_id != user.pk:
                raise AccountLinkedElsewhere(
                    _("The X account @%(screen_name)s is already linked to another user.")
                    % {"screen_name": access.screen_name}
                ) from exc
            _store_tokens(existing, access, signed_in=user is None)
            return LinkResult(existing, created_account=False)
    raise last_error  # type: ignore[misc]


def _create_user(access: AccessToken) -> User:
    if app_settings.CREATE_USER:
        return import_string(app_settings.CREATE_USER)(access)
    user_model = get_user_model()
    username_field = user_model.USERNAME_FIELD
    max_length = getattr(user_model._meta.get_field(username_field), "max_length", None) or 150
    base = access.screen_name[: max_length - 4] or f"x{access.user_id}"
    taken = {
        name.lower()
        for name in user_model._default_manager.filter(
            **{f"{username_field}__istartswith": base}
        ).values_list(username_field, flat=True)
    }
    username = base
    suffix = 1
    while username.lower() in taken:
        suffix += 1
        username = f"{base}_{suffix}"
    user = user_model(**{username_field: username})
    email_field = user_model.get_email_field_name()
    if access.email and email_field != username_field and hasattr(user, email_field):
        setattr(user, email_field, access.email)
    user.set_unusable_password()
    user.save()
    return user


def _login_backend() -> str:
    # Our backend when the project lists it; otherwise the first configured one,
    # whose get_user() restores the user on the next request (ModelBackend by default).
    backends = settings.AUTHENTICATION_BACKENDS
    return BACKEND if BACKEND in backends else backends[0]


# --- unlink, revoke, refresh --------------------------------------------------------------------


def unlink(account: TwitterAccount, *, request: HttpRequest | None = None) -> None:
    """Remove the link and revoke the token at X (best effort: X being down does not block it).

    Refused with :class:`LastLoginMethod` when the user would be left with no
    usable password and no other linked X account.
    """
    user = account.user
    client = _revoking_client(account)
    with transaction.atomic():
        # Locking the user's accounts makes two concurrent unlinks of the last two see each other.
        linked = list(
            TwitterAccount.objects.select_for_update()
            .filter(user=user)
            .values_list("pk", flat=True)
        )
        if not user.has_usable_password() and set(linked) <= {account.pk}:
            raise LastLoginMethod(
                _(
                    "@%(screen_name)s is your only way to sign in. Set a password or link "
                    "another X account first."
                )
                % {"screen_name": account.screen_name}
            )
        account.delete()
    revoked = _revoke_at_x(account, client)
    if revoked:
        signals.account_tokens_revoked.send(
            sender=TwitterAccount, account=account, reason="unlinked"
        )
    signals.account_unlinked.send(
        sender=TwitterAccount, account=account, user=user, request=request
    )


def _revoking_client(account: TwitterAccount) -> Callable[[], None]:
    """What revokes the account's tokens at X, built while the account still exists."""
    if not account.is_oauth2:
        return TwitterClient(
            account.access_token, account.access_token_secret, account_id=account.pk
        ).invalidate_token
    tokens = [(account.refresh_token, "refresh_token"), (account.access_token, "access_token")]
    account_id = account.pk

    def revoke() -> None:
        client = TwitterClient(account_id=account_id)
        for token, hint in tokens:
            if token:
                client.revoke_oauth2_token(token, token_type_hint=hint)

    return revoke


def _revoke_at_x(account: TwitterAccount, revoke: Callable[[], None]) -> bool:
    try:
        revoke()
    except TwitterTokenRevoked:
        return True  # X no longer accepts it: the outcome we wanted
    except TwitterError as exc:
        logger.warning(
            "Could not revoke the token of X account %s at X (unlinked anyway): %s",
            account.twitter_id,
            exc,
        )
        return False
    return True


def mark_revoked(account: TwitterAccount, *, reason: str = "refused_by_x") -> bool:
    """Record that X refuses the account's token; the signal fires once per revocation."""
    now = timezone.now()
    updated = TwitterAccount.objects.filter(pk=account.pk, revoked_at__isnull=True).update(
        revoked_at=now
    )
    account.revoked_at = account.revoked_at or now
    if updated:
        signals.account_tokens_revoked.send(sender=TwitterAccount, account=account, reason=reason)
    return bool(updated)


def refresh_profile(account: TwitterAccount) -> TwitterAccount:
    """Fetch name, screen name and avatar from X (one call) and store them.

    While X holds the app (see :mod:`twitter_oauth.services.holds`) it raises the
    hold's exception without calling X.
    """
    from twitter_oauth.services import holds

    holds.raise_if_held()
    try:
        profile = client_for(account).get_me()
    except TwitterTokenRevoked:
        mark_revoked(account)
        raise
    except TwitterAppHeld as exc:
        holds.start(exc)
        raise
    account.screen_name = profile.get("username") or account.screen_name
    account.name = (profile.get("name") or "")[:100]
    account.profile_image_url = (profile.get("profile_image_url") or "")[:500]
    account.verified_at = timezone.now()
    account.save(
        update_fields=["screen_name", "name", "profile_image_url", "verified_at", "updated_at"]
    )
    return account


def stale_account_ids(*, limit: int = 200) -> list[int]:
    """Accounts not verified at X for ``PROFILE_REFRESH_INTERVAL``, oldest first.

    With ``PROFILE_REFRESH_INTERVAL = None`` only accounts whose profile was never read
    are stale: a profile read costs $0.01 at X, so it is read once and not again.
    """
    interval = app_settings.PROFILE_REFRESH_INTERVAL
    never_read = Q(verified_at__isnull=True)
    if interval is not None:
        never_read |= Q(verified_at__lt=timezone.now() - dt.timedelta(seconds=interval))
    stale = (
        TwitterAccount.objects.filter(revoked_at__isnull=True)
        .filter(never_read)
        # An expired OAuth 2.0 token without a refresh token waits for its owner to sign in.
        .exclude(
            protocol=TwitterAccount.Protocol.OAUTH2,
            refresh_token__isnull=True,
            token_expires_at__lt=timezone.now(),
        )
    )
    return list(stale.order_by("verified_at").values_list("pk", flat=True)[:limit])


def _refresh_profile_later(result: LinkResult) -> None:
    account = result.account
    stale_after = app_settings.PROFILE_REFRESH_INTERVAL
    if account.is_oauth2:
        return  # an OAuth 2.0 sign-in read the profile already
    if (
        not result.created_account
        and account.verified_at is not None
        and (
            stale_after is None
            or (timezone.now() - account.verified_at).total_seconds() < stale_after
        )
    ):
        return
    from twitter_oauth import tasks

    # robust: a broker that is down must not turn a finished sign-in into an error.
    transaction.on_commit(partial(tasks.refresh_profile.delay, account.pk), robust=True)
