"""The example project's Celery app: ``celery -A example_project worker -B``."""

import os

from celery import Celery

from twitter_oauth.beat import BEAT_SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

app = Celery("example_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Enqueue due posts and take over posts left in "sending" by a dead worker, every
# minute; refresh profiles hourly. `celery -A example_project worker -B` runs it all.
app.conf.beat_schedule = {**BEAT_SCHEDULE, **(app.conf.beat_schedule or {})}
