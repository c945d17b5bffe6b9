from django.db import migrations, models
from django.db.models import F


def mark_uncertain(apps, schema_editor):
    """Posts an earlier version marked "may have posted" are looked for from their last change."""
    ScheduledTweet = apps.get_model("twitter_oauth", "ScheduledTweet")
    ScheduledTweet.objects.filter(may_have_posted=True).update(uncertain_since=F("updated_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("twitter_oauth", "0002_scheduledtweet"),
    ]

    operations = [
        migrations.CreateModel(
            name="AppHold",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("credits_depleted", "X credits depleted"),
                            ("usage_capped", "X monthly usage cap reached"),
                            ("app_daily_cap", "X 24-hour post cap of the app reached"),
                            ("spend_limit", "daily spending limit reached"),
                        ],
                        max_length=32,
                        unique=True,
                        verbose_name="reason",
                    ),
                ),
                ("active", models.BooleanField(default=False, verbose_name="active")),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="since")),
                ("until", models.DateTimeField(blank=True, null=True, verbose_name="until")),
                (
                    "next_probe_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="next probe"),
                ),
                ("ended_at", models.DateTimeField(blank=True, null=True, verbose_name="ended")),
                ("detail", models.TextField(blank=True, verbose_name="X's answer")),
                ("refusals", models.PositiveIntegerField(default=0, verbose_name="refusals")),
            ],
            options={
                "verbose_name": "app-wide hold",
                "verbose_name_plural": "app-wide holds",
                "ordering": ("-active", "-started_at"),
            },
        ),
        migrations.RemoveField(
            model_name="scheduledtweet",
            name="enqueued_at",
        ),
        migrations.AddField(
            model_name="scheduledtweet",
            name="claimed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="scheduledtweet",
            name="uncertain_since",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="scheduledtweet",
            index=models.Index(fields=["account", "status"], name="twitter_oau_account_status_idx"),
        ),
        migrations.RunPython(mark_uncertain, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="scheduledtweet",
            name="may_have_posted",
        ),
    ]
