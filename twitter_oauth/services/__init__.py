"""What views, tasks, admin and commands call. Services call the client and the models."""

from twitter_oauth.services.accounts import (
    LinkResult,
    client_for,
    link,
    mark_revoked,
    refresh_profile,
    sign_in,
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

__all__ = [
    "CONNECT",
    "LOGIN",
    "LinkResult",
    "PendingFlow",
    "client_for",
    "finish_flow",
    "finish_pin_flow",
    "link",
    "mark_revoked",
    "pop_flow",
    "refresh_profile",
    "safe_next",
    "sign_in",
    "start_flow",
    "start_pin_flow",
    "unlink",
]
