"""The emulator's own tests.

The fixture is imported here, so these tests run whether or not the plugin is also
enabled in a conftest above (a ``pytest_plugins`` entry there does not clash with it).
"""

import threading

import pytest

from twitter_oauth.testing.pytest_plugin import x_emulator  # noqa: F401


@pytest.fixture(autouse=True)
def _no_threads_left_behind():
    """Every server a test starts is stopped with its connection threads joined."""
    before = set(threading.enumerate())
    yield
    left = [thread.name for thread in set(threading.enumerate()) - before if thread.is_alive()]
    assert left == [], f"threads still running after the test: {left}"
