"""pytest fixtures for the X emulator.

Enable with ``pytest_plugins = ["twitter_oauth.testing.pytest_plugin"]`` in a top-level
conftest. No entry point is registered: a plugin that starts servers should be asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from twitter_oauth.testing.server import EmulatorServer
from twitter_oauth.testing.state import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    TEST_CONSUMER_KEY,
    TEST_CONSUMER_SECRET,
    XEmulator,
)


@dataclass(frozen=True)
class RunningEmulator:
    """What a test needs: where the emulator listens, and its state to arrange and inspect."""

    url: str
    state: XEmulator


@pytest.fixture
def x_emulator() -> Iterator[RunningEmulator]:
    """A fresh emulator on a free loopback port, with the test and the demo consumers and the
    default OAuth 2.0 clients (demo, test, and the public test client)."""
    emulator = XEmulator(
        {TEST_CONSUMER_KEY: TEST_CONSUMER_SECRET, DEMO_CONSUMER_KEY: DEMO_CONSUMER_SECRET}
    )
    with EmulatorServer(emulator) as server:
        yield RunningEmulator(url=server.url, state=emulator)
