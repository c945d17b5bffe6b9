"""Linked X accounts.

An account's tokens are stored encrypted (see :mod:`twitter_oauth.fields`); in
Python they read and assign as plain ``str``. An account keeps the credentials of
the protocol it signed in with last: OAuth 1.0a's token and secret, or OAuth
2.0's access token, refresh token, expiry and granted scopes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twitter_oauth.fields import EncryptedTextField


class TwitterAccount(models.Model):
    """One X identity linked to one user; a user may link several."""

    class Protocol(models.TextChoices):
        OAUTH1 = "oauth1", _("OAuth 1.0a")
        OAUTH2 = "oauth2", _("OAuth 2.0")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="twitter_accounts",
        verbose_name=_("user"),
    )
    # X's stable identity; the screen name can change.
    twitter_id = models.CharField(_("X user id"), max_length=32, unique=True)
    screen_name = models.CharField(_("screen name"), max_length=50, db_index=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    profile_image_url = models.URLField(_("avatar URL"), max_length=500, blank=True)
    protocol = models.CharField(
        _("protocol"), max_length=6, choices=Protocol.choices, default=Protocol.OAUTH1
    )
    access_token = EncryptedTextField(_("access token"))
    # OAuth 1.0a only; empty for OAuth 2.0.
    access_token_secret = EncryptedTextField(_("access token secret"), blank=True, default="")
    # OAuth 2.0 only: single-use, rotated by X on every refresh; None without offline.access.
    refresh_token = EncryptedTextField(_("refresh token"), null=True, blank=True)
    token_expires_at = models.DateTimeField(_("access token expires"), null=True, blank=True)
    # When X issued the current refresh token: X forgets refresh tokens left unused too long.
    refresh_token_issued_at = models.DateTimeField(_("refresh token issued"), null=True, blank=True)
    # Granted OAuth 2.0 scopes, space-separated as X sends them (empty for OAuth 1.0a).
    scopes = models.CharField(_("scopes"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("linked"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_login_at = models.DateTimeField(_("last sign-in with X"), null=True, blank=True)
    verified_at = models.DateTimeField(_("last verified at X"), null=True, blank=True)
    # None while X accepts the token; set when X answers 401 for it or it is revoked here.
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # No request with this token reaches X before this moment (X's x-rate-limit-reset).
    rate_limited_until = models.DateTimeField(_("rate limited until"), null=True, blank=True)

    class Meta:
        verbose_name = _("X account")
        verbose_name_plural = _("X accounts")
        ordering = ("screen_name",)

    def __str__(self) -> str:
        return f"@{self.screen_name}"

    def __repr__(self) -> str:
        return f"<TwitterAccount pk={self.pk} @{self.screen_name} twitter_id={self.twitter_id}>"

    @property
    def is_oauth2(self) -> bool:
        return self.protocol == self.Protocol.OAUTH2

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def can_post(self) -> bool:
        """OAuth 1.0a posts with the app's permission; OAuth 2.0 needs ``tweet.write``."""
        return not self.is_oauth2 or "tweet.write" in self.scope_set

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_rate_limited(self, now=None) -> bool:
        return self.rate_limited_until is not None and self.rate_limited_until > (
            now or timezone.now()
        )


class ScheduledTweet(models.Model):
    """A post to make for an account, now or at ``send_at``, delivered by a Celery task.

    The row is the source of truth: a task claims it (``pending`` to ``sending``,
    with a lease), posts, and records ``sent`` or ``failed``. A row left in
    ``sending`` past its lease belonged to a worker that died; it is claimed
    again, and X is asked first whether the post already went out.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    account = models.ForeignKey(
        TwitterAccount,
        on_delete=models.CASCADE,
        related_name="scheduled_tweets",
        verbose_name=_("X account"),
    )
    text = models.TextField(_("text"))
    send_at = models.DateTimeField(_("send at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    tweet_id = models.CharField(_("tweet id"), max_length=32, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # The claim of the attempt in progress: who holds the row, since when, and until when.
    claim_id = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the first attempt whose outcome is unknown began (timeout, 5xx, lost answer,
    # a worker that died): the next attempt looks for the post at X from then on.
    uncertain_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("scheduled post")
        verbose_name_plural = _("scheduled posts")
        ordering = ("-send_at", "-pk")
        indexes = [
            models.Index(fields=["status", "send_at"], name="twitter_oau_status_send_idx"),
            models.Index(fields=["account", "status"], name="twitter_oau_account_status_idx"),
        ]

    def __str__(self) -> str:
        when = f"{self.send_at:%Y-%m-%d %H:%M}"
        return f"{self.get_status_display()} post for account {self.account_id} at {when}"

    def __repr__(self) -> str:
        return f"<ScheduledTweet pk={self.pk} account={self.account_id} status={self.status}>"

    @property
    def may_have_posted(self) -> bool:
        """An earlier attempt may have reached X (its outcome is unknown)."""
        return self.uncertain_since is not None


class AppHold(models.Model):
    """X refuses the whole app: while a hold is active no post of any account is sent.

    One row per reason, reused: ``active`` says whether it holds now. A hold with
    ``until`` ends by itself then; one without is probed by a single post at
    ``next_probe_at`` (see :mod:`twitter_oauth.services.holds`).
    """

    class Reason(models.TextChoices):
        CREDITS_DEPLETED = "credits_depleted", _("X credits depleted")
        USAGE_CAPPED = "usage_capped", _("X monthly usage cap reached")
        APP_DAILY_CAP = "app_daily_cap", _("X 24-hour post cap of the app reached")
        SPEND_LIMIT = "spend_limit", _("daily spending limit reached")

    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices, unique=True)
    active = models.BooleanField(_("active"), default=False)
    started_at = models.DateTimeField(_("since"), null=True, blank=True)
    until = models.DateTimeField(_("until"), null=True, blank=True)
    next_probe_at = models.DateTimeField(_("next probe"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    detail = models.TextField(_("X's answer"), blank=True)
    refusals = models.PositiveIntegerField(_("refusals"), default=0)

    class Meta:
        verbose_name = _("app-wide hold")
        verbose_name_plural = _("app-wide holds")
        ordering = ("-active", "-started_at")

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({'active' if self.active else 'ended'})"

    def __repr__(self) -> str:
        return f"<AppHold {self.reason} active={self.active} until={self.until}>"


#: Rows per INSERT statement (SQLite's limit on parameters per statement stays far away).
ROWS_PER_STATEMENT = 100
#: Databases whose INSERT ... ON CONFLICT DO UPDATE adds a batch in one statement; others get
#: an UPDATE, then an INSERT where nothing matched, per row.
ON_CONFLICT_VENDORS = ("postgresql", "sqlite")
USAGE_COUNTS = ("requests", "succeeded", "billed_units", "usd_micros")
#: (day, endpoint, account_id, requests, succeeded, billed_units, usd_micros)
UsageCounts = tuple[dt.date, str, int, int, int, int, int]


class UsageRecordManager(models.Manager["UsageRecord"]):
    def add_counts(self, rows: Iterable[UsageCounts]) -> None:
        """Add each row's counts to its stored row, creating it if needed, in one transaction.

        Safe under concurrent writers of the same rows when they give them in the same order.
        """
        rows = list(rows)
        with transaction.atomic(using=self.db):
            if connections[self.db].vendor in ON_CONFLICT_VENDORS:
                self._insert_on_conflict(rows)
                return
            for day, endpoint, account_id, *counts in rows:
                matched = self.select_for_update().filter(
                    day=day, endpoint=endpoint, account_id=account_id
                )
                added = {name: F(name) + n for name, n in zip(USAGE_COUNTS, counts, strict=True)}
                if not matched.update(**added):
                    self.create(
                        day=day,
                        endpoint=endpoint,
                        account_id=account_id,
                        **dict(zip(USAGE_COUNTS, counts, strict=True)),
                    )

    def _insert_on_conflict(self, rows: list[UsageCounts]) -> None:
        table = self.model._meta.db_table
        columns = ", ".join(("day", "endpoint", "account_id", *USAGE_COUNTS))
        added = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in USAGE_COUNTS)
        with connections[self.db].cursor() as cursor:
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start : start + ROWS_PER_STATEMENT]
                values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608 - our names
                    f"ON CONFLICT (day, endpoint, account_id) DO UPDATE SET {added}",
                    [value for row in chunk for value in row],
                )


class UsageRecord(models.Model):
    """What this site asked of X on one UTC day, at one endpoint, for one account.

    Written by the usage ledger (:mod:`twitter_oauth.usage`), which adds its counts to the
    row. ``account_id`` is the :class:`TwitterAccount`'s primary key, kept after the account
    is unlinked, or 0 for requests made for no account (the sign-in's token exchanges).
    Dollars are stored in whole millionths, so that sums are exact in every database.
    """

    day = models.DateField(_("day (UTC)"))
    endpoint = models.CharField(_("endpoint"), max_length=200)
    account_id = models.BigIntegerField(_("X account"), default=0)
    requests = models.PositiveBigIntegerField(_("requests"), default=0)
    succeeded = models.PositiveBigIntegerField(_("succeeded"), default=0)
    billed_units = models.PositiveBigIntegerField(_("billed units"), default=0)
    usd_micros = models.BigIntegerField(_("millionths of a US dollar"), default=0)

    objects = UsageRecordManager()

    class Meta:
        verbose_name = _("X usage")
        verbose_name_plural = _("X usage")
        ordering = ("-day", "endpoint", "account_id")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "endpoint", "account_id"], name="twitter_oau_usage_key"
            )
        ]
        indexes = [models.Index(fields=["account_id", "day"], name="twitter_oau_usage_acct_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.endpoint} (account {self.account_id or '-'})"

    @property
    def usd(self) -> float:
        return round(self.usd_micros / 1_000_000, 6)
