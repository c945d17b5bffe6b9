"""The example site for django-twitter-oauth. Its Celery app loads with Django."""

from example_project.celery import app as celery_app

__all__ = ("celery_app",)
