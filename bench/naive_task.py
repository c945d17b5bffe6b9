"""The posting task most people write, for comparison in bench/posting.py.

A new OAuth1Session (a new connection pool, a new TCP connection) per post,
thrown away afterwards, which is also what a fresh ``tweepy.Client`` per task
amounts to. No claim, no lease: it is only here to be measured.
"""

from celery import shared_task
from django.utils import timezone
from requests_oauthlib import OAuth1Session

from twitter_oauth.conf import app_settings
from twitter_oauth.models import ScheduledTweet


@shared_task(name="bench.naive_task.naive_send", ignore_result=True)
def naive_send(scheduled_id: int) -> None:
    row = ScheduledTweet.objects.select_related("account").get(pk=scheduled_id)
    session = OAuth1Session(
        app_settings.CONSUMER_KEY,
        client_secret=app_settings.CONSUMER_SECRET,
        resource_owner_key=row.account.access_token,
        resource_owner_secret=row.account.access_token_secret,
    )
    try:
        response = session.post(
            f"{app_settings.API_URL}/2/tweets", json={"text": row.text}, timeout=10
        )
        response.raise_for_status()
        row.tweet_id = response.json()["data"]["id"]
        row.status = ScheduledTweet.Status.SENT
        row.sent_at = timezone.now()
        row.save(update_fields=["tweet_id", "status", "sent_at", "updated_at"])
    finally:
        session.close()
