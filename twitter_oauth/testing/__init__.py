"""A local X (Twitter) emulator that is as strict as X about OAuth 1.0a and OAuth 2.0.

Run it with ``python -m twitter_oauth.testing --port 8765``, or in-process::

    from twitter_oauth.testing import EmulatorServer, XEmulator

    with EmulatorServer(XEmulator({"key": "secret"})) as server:
        ...  # point TWITTER_OAUTH["API_URL"] at server.url

For pytest, ``pytest_plugins = ["twitter_oauth.testing.pytest_plugin"]`` gives the
``x_emulator`` fixture. Nothing here imports Django; the third-party dependencies are
oauthlib, and twitter-text for finding URLs in posts the way X prices them.
"""

from twitter_oauth.testing.faults import Fault
from twitter_oauth.testing.oauth2 import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_PUBLIC_CLIENT_ID,
)
from twitter_oauth.testing.records import EmulatorResponse, RecordedRequest, XTweet, XUser
from twitter_oauth.testing.server import EmulatorServer
from twitter_oauth.testing.state import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    TEST_CONSUMER_KEY,
    TEST_CONSUMER_SECRET,
    XEmulator,
)

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_CONSUMER_KEY",
    "DEMO_CONSUMER_SECRET",
    "TEST_CLIENT_ID",
    "TEST_CLIENT_SECRET",
    "TEST_CONSUMER_KEY",
    "TEST_CONSUMER_SECRET",
    "TEST_PUBLIC_CLIENT_ID",
    "EmulatorResponse",
    "EmulatorServer",
    "Fault",
    "RecordedRequest",
    "XEmulator",
    "XTweet",
    "XUser",
]
