"""Serves an :class:`XEmulator` over HTTP/1.1 on loopback, with keep-alive."""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from twitter_oauth.testing.state import XEmulator

logger = logging.getLogger("twitter_oauth.testing")
#: How soon stop() takes effect; each test starting and stopping one waits this long at most.
SHUTDOWN_POLL_INTERVAL = 0.02


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as at X
    server_version = "x-emulator"
    # Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    sys_version = ""
    emulator: XEmulator
    verbose = False
    handshake_delay = 0.0
    server_host = "127.0.0.1"
    server_port = 0

    def setup(self) -> None:
        # Once per connection: what a TLS handshake with a distant X costs a new connection.
        if self.handshake_delay:
            time.sleep(self.handshake_delay)
        super().setup()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        scheme = self.headers.get("X-Forwarded-Proto", "http")
        host = self.headers.get("Host") or f"{self.server_host}:{self.server_port}"
        response = self.emulator.handle(
            self.command, f"{scheme}://{host}{self.path}", dict(self.headers.items()), body
        )
        if response.drop:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: object) -> None:
        if self.verbose:
            logger.info("%s %s", self.address_string(), format % args)

    def address_string(self) -> str:
        return self.client_address[0]  # no reverse DNS lookup per request


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class EmulatorServer:
    """``with EmulatorServer() as server: server.url``; ``port=0`` picks a free port."""

    def __init__(
        self,
        emulator: XEmulator | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verbose: bool = False,
        handshake_delay: float = 0.0,
    ) -> None:
        """``handshake_delay``: seconds each new connection waits, as a TLS handshake would."""
        self.emulator = emulator or XEmulator()
        attributes = {
            "emulator": self.emulator,
            "verbose": verbose,
            "handshake_delay": handshake_delay,
        }
        handler: type[_Handler] = type("Handler", (_Handler,), attributes)
        self._server = _Server((host, port), handler)
        self.host, self.port = str(self._server.server_address[0]), self._server.server_port
        handler.server_host, handler.server_port = self.host, self.port
        self.url = f"http://{self.host}:{self.port}"
        self.emulator.public_url = self.url
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_INTERVAL},
            name="x-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
