"""Admin for linked accounts, scheduled posts and X usage. Tokens are never shown; actions call
services."""

from __future__ import annotations

from functools import cached_property
from typing import cast

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from twitter_oauth import services
from twitter_oauth.exceptions import PostRejected, SignInError, TwitterError
from twitter_oauth.models import AppHold, ScheduledTweet, TwitterAccount, UsageRecord
from twitter_oauth.services import holds
from twitter_oauth.services import usage as usage_reports

#: The changelist counts at most this many rows: its cost stays flat on a big table.
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts ``COUNT_CAP + 1`` rows at most; beyond that, search or filter."""

    @cached_property
    def count(self) -> int:
        rows = cast(QuerySet, self.object_list)
        return rows.order_by()[: COUNT_CAP + 1].count()


class RevokedFilter(admin.SimpleListFilter):
    title = _("access")
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return (("no", _("working")), ("yes", _("revoked")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(TwitterAccount)
class TwitterAccountAdmin(admin.ModelAdmin):
    list_display = (
        "avatar",
        "screen_name",
        "name",
        "user",
        "twitter_id",
        "created_at",
        "verified_at",
        "protocol",
        "is_working",
    )
    list_display_links = ("screen_name",)
    list_select_related = ("user",)
    list_filter = (RevokedFilter, "protocol", "created_at", "verified_at")
    search_fields = ("=twitter_id", "screen_name", "user__username")
    raw_id_fields = ("user",)
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would scan the table per filter
    paginator = CappedCountPaginator
    ordering = ("-pk",)  # the primary key index: no sort of the whole table
    readonly_fields = (
        "twitter_id",
        "protocol",
        "scopes",
        "token_expires_at",
        "refresh_token_issued_at",
        "created_at",
        "updated_at",
        "last_login_at",
        "verified_at",
        "revoked_at",
        "rate_limited_until",
        "spend_at_x",
    )
    # The tokens are not in the form at all: they cannot be shown or edited here.
    fields = ("user", "screen_name", "name", "profile_image_url", *readonly_fields)
    actions = ("verify_credentials", "revoke_and_unlink", "post_test_tweet")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are linked through X, never typed in

    @admin.display(description=_("avatar"))
    def avatar(self, account: TwitterAccount) -> str:
        if not account.profile_image_url:
            return ""
        return format_html(
            '<img src="{}" alt="" width="32" height="32" style="border-radius:50%">',
            account.profile_image_url,
        )

    @admin.display(description=_("spent at X, last 30 days"))
    def spend_at_x(self, account: TwitterAccount) -> str:
        spend = usage_reports.account_spend(account.pk, USAGE_DAYS)
        return format_html(
            '${} <span class="help">({})</span> <a href="{}?account={}">{}</a>',
            f"{spend['usd']:.3f}",
            ngettext("%(n)d request", "%(n)d requests", spend["requests"])
            % {"n": spend["requests"]},
            reverse("admin:twitter_oauth_usagerecord_changelist"),
            account.pk,
            _("X usage"),
        )

    @admin.display(description=_("access works"), boolean=True, ordering="revoked_at")
    def is_working(self, account: TwitterAccount) -> bool:
        return account.revoked_at is None

    @admin.action(description=_("Verify credentials at X now"))
    def verify_credentials(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, services.refresh_profile, str(_("verified")))

    @admin.action(description=_("Revoke at X and unlink"))
    def revoke_and_unlink(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda account: services.unlink(account, request=request),
            str(_("unlinked")),
        )

    @admin.action(description=_("Post a test tweet"))
    def post_test_tweet(self, request: HttpRequest, queryset: QuerySet) -> None:
        stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
        self._each(
            request,
            queryset,
            lambda account: services.post_tweet(
                account, f"Test post from {request.get_host()} at {stamp} UTC"
            ),
            str(_("posted")),
        )

    def _each(self, request: HttpRequest, queryset: QuerySet, operation, done: str) -> None:
        succeeded = 0
        for account in queryset.select_related("user"):
            try:
                operation(account)
            except (TwitterError, SignInError, PostRejected) as exc:
                text = getattr(exc, "message", None) or str(exc)
                self.message_user(request, f"@{account.screen_name}: {text}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(
                request,
                ngettext("%(n)d account %(done)s.", "%(n)d accounts %(done)s.", succeeded)
                % {"n": succeeded, "done": done},
                messages.SUCCESS,
            )


@admin.register(ScheduledTweet)
class ScheduledTweetAdmin(admin.ModelAdmin):
    list_display = (
        "short_text",
        "account",
        "status",
        "send_at",
        "attempts",
        "tweet_id",
        "price_at_x",
        "short_error",
    )
    list_select_related = ("account",)
    list_filter = ("status", "send_at")
    search_fields = ("text", "account__screen_name", "=tweet_id")
    raw_id_fields = ("account",)
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    ordering = ("-pk",)
    readonly_fields = (
        "status",
        "tweet_id",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
        "sent_at",
        "price_at_x",
    )
    actions = ("retry_failed", "cancel_pending")

    @admin.display(description=_("price at X"))
    def price_at_x(self, post: ScheduledTweet) -> str:
        if not post.text:
            return ""
        return price_note(post.text)

    def save_model(self, request: HttpRequest, obj: ScheduledTweet, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if usage_reports.post_price(obj.text).has_url:
            self.message_user(request, price_note(obj.text), messages.WARNING)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # Pending posts during a hold are waiting for X, not stuck: say so above the list.
        hold = holds.state().latest()
        if hold is not None:
            self.message_user(request, holds.waiting_message(hold), messages.WARNING)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("text"))
    def short_text(self, post: ScheduledTweet) -> str:
        return post.text if len(post.text) <= 60 else post.text[:59] + "…"

    @admin.display(description=_("last error"))
    def short_error(self, post: ScheduledTweet) -> str:
        return post.last_error if len(post.last_error) <= 80 else post.last_error[:79] + "…"

    @admin.action(description=_("Retry failed posts"))
    def retry_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = sum(
            services.retry_failed(post)
            for post in queryset.filter(status=ScheduledTweet.Status.FAILED)
        )
        self.message_user(
            request, ngettext("%d post queued again.", "%d posts queued again.", count) % count
        )

    @admin.action(description=_("Cancel pending posts"))
    def cancel_pending(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = sum(
            services.cancel(post) for post in queryset.filter(status=ScheduledTweet.Status.PENDING)
        )
        self.message_user(
            request, ngettext("%d post cancelled.", "%d posts cancelled.", count) % count
        )


def price_note(text: str) -> str:
    """What X charges for posting ``text``, saying so when a link makes it dearer."""
    price = usage_reports.post_price(text)
    if price.has_url:
        return _("$%(usd)s: the post contains a link (without one: $%(without)s).") % {
            "usd": f"{price.usd:.2f}",
            "without": f"{price.without_url:.3f}",
        }
    return _("$%(usd)s") % {"usd": f"{price.usd:.3f}"}


#: Days the usage page and each account's spend cover.
USAGE_DAYS = 30
#: The bar chart's drawing area, in SVG user units.
CHART_WIDTH, CHART_HEIGHT, CHART_GAP = 600, 120, 2


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """The "X usage" page: 30 days as a chart, totals per endpoint, the accounts that spend most.

    Read-only: the rows are the ledger's, written by the process that sent the requests.
    ``?account=<pk>`` narrows the endpoint totals to one account.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        account = self._account(request)
        account_id = account.pk if account else None
        days = usage_reports.daily_totals(USAGE_DAYS, account_id=account_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("X usage"),
            "days": USAGE_DAYS,
            "bars": bar_chart(days),
            "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT},
            "total_usd": round(sum(day.usd for day in days), 6),
            "total_requests": sum(day.requests for day in days),
            "endpoints": usage_reports.endpoint_totals(USAGE_DAYS, account_id=account_id),
            "accounts": [] if account else usage_reports.top_accounts(USAGE_DAYS),
            "account": account,
            "first_day": days[0].day,
            "last_day": days[-1].day,
        }
        return TemplateResponse(request, "admin/twitter_oauth/usage.html", context)

    @staticmethod
    def _account(request: HttpRequest) -> TwitterAccount | None:
        value = request.GET.get("account", "")
        return TwitterAccount.objects.filter(pk=int(value)).first() if value.isdigit() else None


def bar_chart(days: list[usage_reports.DayTotal]) -> list[dict]:
    """One bar per day, its height in proportion to the day's dollars (the dearest is full)."""
    dearest = max((day.usd for day in days), default=0) or 1
    width = CHART_WIDTH / max(1, len(days))
    bars = []
    for n, day in enumerate(days):
        height = round(CHART_HEIGHT * day.usd / dearest, 1)
        bars.append(
            {
                "day": day,
                "x": round(n * width, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "width": round(width - CHART_GAP, 1),
                "height": height,
            }
        )
    return bars


@admin.register(AppHold)
class AppHoldAdmin(admin.ModelAdmin):
    """X's refusals of the whole app: read-only, with a way to end one by hand."""

    list_display = ("reason", "active", "started_at", "ends", "refusals", "short_detail")
    list_filter = ("active", "reason")
    readonly_fields = (
        "reason",
        "active",
        "started_at",
        "until",
        "next_probe_at",
        "ended_at",
        "refusals",
        "detail",
    )
    actions = ("end_now",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # holds start from X's answers

    @admin.display(description=_("until or next probe"))
    def ends(self, hold: AppHold):
        if not hold.active:
            return hold.ended_at
        return hold.until or format_html("{} {}", _("probe at"), hold.next_probe_at)

    @admin.display(description=_("X's answer"))
    def short_detail(self, hold: AppHold) -> str:
        return hold.detail if len(hold.detail) <= 80 else hold.detail[:79] + "…"

    @admin.action(description=_("End now (credits were added, the cap was raised)"))
    def end_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        ended = sum(holds.end(hold.reason) for hold in queryset.filter(active=True))
        self.message_user(request, ngettext("%d hold ended.", "%d holds ended.", ended) % ended)
