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
``app_hold_started(hold)`` and ``app_hold_ended(hold)``
    X refused the whole app (credits depleted, monthly usage cap, the app's
    24-hour cap, or this site's own daily spending limit): no post of any
    account is sent while the hold lasts. Sent with ``sender=AppHold``, once
    when the hold starts and once when it ends.
``spend_limit_reached(day, limit, spent, until)``
    A request was not sent because it would take the day's estimated spending at
    X past ``DAILY_SPEND_LIMIT``. Sent with ``sender=UsageRecord``, once per UTC
    ``day`` in each process that meets the limit; ``limit`` and ``spent`` are
    dollars, ``until`` the next UTC midnight, when requests resume.
"""

from django.dispatch import Signal

account_linked = Signal()
account_unlinked = Signal()
user_signed_in = Signal()
account_tokens_revoked = Signal()
app_hold_started = Signal()
app_hold_ended = Signal()
spend_limit_reached = Signal()
