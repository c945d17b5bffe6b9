"""The HTTP server around the emulator, its command line, and its behaviour under threads."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import warnings

import pytest
import requests
from oauthlib.oauth1 import Client
from requests_oauthlib import OAuth1, OAuth1Session

from tests.emulator.helpers import KEY, SECRET, api_session, oauth2_authorize_url
from twitter_oauth.testing import (
    DEMO_CLIENT_ID,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    EmulatorServer,
    XEmulator,
)


def test_the_url_has_the_free_port_and_no_trailing_slash():
    with EmulatorServer() as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        assert isinstance(server.emulator, XEmulator)


def test_connections_are_kept_alive(x_emulator):
    api = api_session(x_emulator.state)
    for n in range(5):
        response = api.post(f"{x_emulator.url}/2/tweets", json={"text": f"keep {n}"}, timeout=5)
        assert response.headers["Content-Length"] == str(len(response.content))
    pools = api.get_adapter(x_emulator.url).poolmanager.pools
    assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118
    api.close()


def test_a_chunked_body_is_read_whole(x_emulator):
    chunks = (part for part in [b'{"text": ', b'"in chunks"}'])
    response = requests.post(f"{x_emulator.url}/2/nothing", data=chunks, timeout=5)
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 404
    assert x_emulator.state.requests[-1].body == b'{"text": "in chunks"}'


def test_the_host_header_is_the_signed_host(x_emulator):
    """A request signed for another host (behind a proxy, say) verifies when it says so."""
    emulator = x_emulator.state
    token, secret = emulator.issue_access_token(KEY, emulator.user_by_screen_name("alice"))
    signer = Client(
        KEY, client_secret=SECRET, resource_owner_key=token, resource_owner_secret=secret
    )

    def send(signed_url, headers):
        _, signed, _ = signer.sign(signed_url, "GET")
        return requests.get(
            f"{x_emulator.url}/2/users/me", headers={**signed, **headers}, timeout=5
        )

    proxied = {"Host": "x.example", "X-Forwarded-Proto": "https"}
    assert send("https://x.example/2/users/me", proxied).status_code == 200
    assert send("https://x.example/2/users/me", {"Host": "x.example"}).status_code == 401
    assert send("http://x.example/2/users/me", {"Host": "x.example"}).status_code == 200


def test_stop_closes_open_connections_and_the_socket_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        server = EmulatorServer().start()
        session = api_session(server.emulator)
        assert session.get(f"{server.url}/2/users/me", timeout=5).status_code == 200
        before = threading.active_count()
        server.stop()
        assert threading.active_count() < before  # the keep-alive connection's thread ended
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{server.url}/2/users/me", timeout=1)
        session.close()
        gc.collect()


def test_a_server_can_be_stopped_without_being_started():
    EmulatorServer().stop()


def test_posting_from_eight_threads_records_every_post_with_unique_ids(x_emulator):
    ids, lock = [], threading.Lock()
    errors = []

    def poster(n):
        try:
            with api_session(x_emulator.state, "alice") as api:
                for m in range(5):
                    response = api.post(
                        f"{x_emulator.url}/2/tweets",
                        json={"text": f"thread {n} post {m}"},
                        timeout=5,
                    )
                    with lock:
                        ids.append(response.json()["data"]["id"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ids) == len(set(ids)) == 40
    assert set(x_emulator.state.tweets) == set(ids)
    assert x_emulator.state.count("/2/tweets", "POST") == 40
    assert len({(r.consumer_key, r.status) for r in x_emulator.state.requests}) == 1


def test_a_request_token_is_exchanged_once_even_in_a_race(x_emulator):
    oauth = OAuth1Session(KEY, client_secret=SECRET, callback_uri="oob")
    token = oauth.fetch_request_token(f"{x_emulator.url}/oauth/request_token")
    verifier = x_emulator.state.authorize(
        token["oauth_token"], x_emulator.state.user_by_screen_name("bob")
    )
    statuses, barrier = [], threading.Barrier(6)

    def exchange():
        auth = OAuth1(
            KEY, SECRET, token["oauth_token"], token["oauth_token_secret"], verifier=verifier
        )
        barrier.wait()
        statuses.append(
            requests.post(f"{x_emulator.url}/oauth/access_token", auth=auth, timeout=5).status_code
        )

    threads = [threading.Thread(target=exchange) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 401, 401, 401, 401, 401]


def test_nothing_but_oauthlib_is_imported():
    code = (
        "import sys, twitter_oauth.testing, twitter_oauth.testing.__main__;"
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    loaded = set(json.loads(result.stdout.replace("'", '"')))
    assert "oauthlib" in loaded
    assert not loaded & {"django", "requests", "requests_oauthlib", "urllib3", "pytest"}


# --- the command line ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "twitter_oauth.testing", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_the_command_line_serves_the_demo_app_until_stopped(stop_with):
    port = free_port()
    process = start_cli("--port", str(port))
    try:
        line = process.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        assert line.startswith(f"X emulator listening on {url}"), process.stderr.read()
        with OAuth1Session(
            DEMO_CONSUMER_KEY, client_secret=DEMO_CONSUMER_SECRET, callback_uri="oob"
        ) as oauth:
            token = oauth.fetch_request_token(f"{url}/oauth/request_token")
        page = requests.get(
            f"{url}/oauth/authorize", params={"oauth_token": token["oauth_token"]}, timeout=5
        )
        assert page.status_code == 200
        assert f"Authorize {DEMO_CONSUMER_KEY} to access your account?" in page.text
    finally:
        process.send_signal(stop_with)
        assert process.wait(timeout=10) == 0
        assert process.stdout.read() == ""  # one line, nothing more
        process.stdout.close()
        process.stderr.close()


def test_the_command_line_registers_the_apps_it_is_given():
    port = free_port()
    process = start_cli("--port", str(port), "--consumer", "k1:s1", "--consumer", "k2:s2")
    try:
        assert "listening" in process.stdout.readline()
        url = f"http://127.0.0.1:{port}"

        def answer(key, secret):
            auth = OAuth1(key, secret, callback_uri="oob")
            return requests.post(f"{url}/oauth/request_token", auth=auth, timeout=5).status_code

        assert (answer("k1", "s1"), answer("k2", "s2")) == (200, 200)
        assert answer(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET) == 401
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


def test_the_command_line_registers_the_oauth2_clients_it_is_given():
    port = free_port()
    process = start_cli("--port", str(port), "--client", "c1:s1", "--client", "public:")
    try:
        assert "clients: c1, public" in process.stdout.readline()
        url = f"http://127.0.0.1:{port}"

        def page(client_id):
            authorize_url = oauth2_authorize_url(url, client_id=client_id)
            return requests.get(authorize_url, timeout=5).status_code

        assert (page("c1"), page("public"), page(DEMO_CLIENT_ID)) == (200, 200, 400)

        def client_is_known(auth, data):
            answer = requests.post(f"{url}/2/oauth2/token", data=data, auth=auth, timeout=5)
            return answer.json()["error"] != "unauthorized_client"

        unknown_code = {"grant_type": "authorization_code", "code": "x", "code_verifier": "v"}
        assert client_is_known(("c1", "s1"), unknown_code)
        assert client_is_known(None, {**unknown_code, "client_id": "public"})
        assert not client_is_known(("c1", "wrong"), unknown_code)
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


def test_the_command_line_serves_the_demo_client_by_default():
    port = free_port()
    process = start_cli("--port", str(port))
    try:
        assert f"clients: {DEMO_CLIENT_ID})" in process.stdout.readline()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize("value", ["", ":secret", "no-colon"])
def test_the_command_line_refuses_a_client_without_id_and_colon(value):
    process = start_cli("--client", value)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "expected ID:SECRET, or ID: for a public client" in stderr


def test_the_command_line_says_when_the_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start_cli("--port", str(taken.getsockname()[1]))
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "cannot listen on 127.0.0.1" in stderr
