"""The brokers the integration tests and the example project use answer, with the installed transports."""

from __future__ import annotations

import pytest
from kombu import Connection

pytestmark = pytest.mark.services


@pytest.mark.parametrize("fixture", ["redis_url", "amqp_url"])
def test_the_broker_accepts_a_connection(request, fixture):
    url = request.getfixturevalue(fixture)
    with Connection(url, connect_timeout=5) as connection:
        connection.ensure_connection(max_retries=1)
        with connection.SimpleQueue(
            "twitter_oauth-smoke", queue_opts={"auto_delete": True}
        ) as queue:
            queue.put({"ping": 1})
            message = queue.get(timeout=5)
            assert message.payload == {"ping": 1}
            message.ack()
