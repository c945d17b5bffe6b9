"""The periodic tasks to run with Celery beat.

In the project's Celery app::

    from twitter_oauth.beat import BEAT_SCHEDULE

    app.conf.beat_schedule = {**app.conf.beat_schedule, **BEAT_SCHEDULE}

With the defaults, a due post is sent within ``POST_LEASE`` (60 s) plus one
dispatch interval (5 s) of falling due or of its worker dying.
"""

from __future__ import annotations

from typing import Any

#: Seconds between dispatches: senders started for accounts with due posts.
DISPATCH_INTERVAL = 5.0
#: Seconds between rounds of profile refreshes (and revoked-token detection).
REFRESH_PROFILES_INTERVAL = 3600.0
#: Seconds between rounds of OAuth 2.0 keep-alive refreshes (each looks a day ahead).
KEEP_TOKENS_ALIVE_INTERVAL = 3600.0


def beat_schedule(
    send_due_every: float = DISPATCH_INTERVAL,
    refresh_profiles_every: float = REFRESH_PROFILES_INTERVAL,
    keep_tokens_alive_every: float = KEEP_TOKENS_ALIVE_INTERVAL,
) -> dict[str, dict[str, Any]]:
    return {
        "twitter_oauth.send_due_tweets": {
            "task": "twitter_oauth.tasks.send_due_tweets",
            "schedule": send_due_every,
            # A dispatch that could not run in time is replaced by the next one.
            "options": {"expires": send_due_every},
        },
        "twitter_oauth.refresh_profiles": {
            "task": "twitter_oauth.tasks.refresh_profiles",
            "schedule": refresh_profiles_every,
            "options": {"expires": refresh_profiles_every},
        },
        "twitter_oauth.keep_oauth2_tokens_alive": {
            "task": "twitter_oauth.tasks.keep_oauth2_tokens_alive",
            "schedule": keep_tokens_alive_every,
            "options": {"expires": keep_tokens_alive_every},
        },
    }


BEAT_SCHEDULE = beat_schedule()
