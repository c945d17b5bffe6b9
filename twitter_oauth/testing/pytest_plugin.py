"""pytest fixtures for the X emulator.

Enable with ``pytest_plugins = ["twitter_oauth.testing.pytest_plugin"]`` in a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from twitter_oauth.testing.server import EmulatorServer
from twitter_oauth.testing.state import XEmulator


@dataclass(frozen=True)
class RunningEmulator:
    url: str
    state: XEmulator


@pytest.fixture
def x_emulator() -> Iterator[RunningEmulator]:
    """A fresh emulator on a free loopback port, with the demo and test consumers."""
    with EmulatorServer(XEmulator()) as server:
        yield RunningEmulator(url=server.url, state=server.emulator)
