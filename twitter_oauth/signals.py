"""Signals for the moments integrators care about.

All are sent with ``sender=TwitterAccount`` after the database work they report
has been done (inside the request's transaction, so a receiver that raises
rolls it back).

``account_linked(account, user, request, created)``
    An X account was linked to ``user``; ``created`` is False when an existing
    link was refreshed (new tokens for the same user).
``account_unlinked(account, user, request)``
    The link was removed; ``account`` is the deleted instance (its ``pk`` is None).
``user_signed_in(account, user, request, created_user)``
    ``user`` signed in with X; ``created_user`` is True for a sign-up.
``account_tokens_revoked(account, reason)``
    The access token no longer works: revoked here on unlink, or refused by X
    with a 401. ``reason`` is ``"unlinked"`` or ``"refused_by_x"``.
"""

from django.dispatch import Signal

account_linked = Signal()
account_unlinked = Signal()
user_signed_in = Signal()
account_tokens_revoked = Signal()
