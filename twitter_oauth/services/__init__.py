"""What views, tasks, admin and commands call. Services call the client and the models."""

from twitter_oauth.services.accounts import (
    LinkResult,
    client_for,
    link,
    mark_revoked,
    refresh_profile,
    sign_in,
    stale_account_ids,
    unlink,
)
from twitter_oauth.services.flows import (
    CONNECT,
    LOGIN,
    PendingFlow,
    finish_flow,
    finish_pin_flow,
    pop_flow,
    safe_next,
    start_flow,
    start_pin_flow,
)
from twitter_oauth.services.posting import (
    cancel,
    kick,
    post_tweet,
    retry_failed,
    schedule_tweet,
    send_due,
    validate_text,
)

__all__ = [
    "CONNECT",
    "LOGIN",
    "LinkResult",
    "PendingFlow",
    "cancel",
    "client_for",
    "finish_flow",
    "finish_pin_flow",
    "kick",
    "link",
    "mark_revoked",
    "pop_flow",
    "post_tweet",
    "refresh_profile",
    "retry_failed",
    "safe_next",
    "schedule_tweet",
    "send_due",
    "sign_in",
    "stale_account_ids",
    "start_flow",
    "start_pin_flow",
    "unlink",
    "validate_text",
]
