"""Serves an :class:`XEmulator` over HTTP/1.1, with keep-alive, on loopback by default."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from twitter_oauth.testing.state import XEmulator

logger = logging.getLogger("twitter_oauth.testing")
#: How soon stop() takes effect; each test starting and stopping one waits this long at most.
SHUTDOWN_POLL_INTERVAL = 0.02
#: How long stop() waits for each connection's thread once its socket is shut.
JOIN_TIMEOUT = 2.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as at X
    server_version = "x-emulator"
    sys_version = ""
    # Headers and body go out in one write, flushed after each answer; with separate
    # writes, Nagle's algorithm and the client's delayed ACK add ~40 ms per request.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        # Once per connection: what a TLS handshake with a distant X costs a new connection.
        if self.server.handshake_delay:
            self.server.stopping.wait(self.server.handshake_delay)
        super().setup()

    def _serve(self) -> None:
        body = self._read_body()
        scheme = self.headers.get("X-Forwarded-Proto", "http")
        host = self.headers.get("Host") or self.server.authority
        response = self.server.emulator.router.handle(
            self.command,
            f"{scheme}://{host}{self.path}",
            dict(self.headers.items()),
            body,
            self.server.stopping,
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

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            logger.info("%s %s", self.client_address[0], format % args)

    def address_string(self) -> str:
        return str(self.client_address[0])  # no reverse DNS lookup per request


class _Server(ThreadingHTTPServer):
    """Keeps track of open connections, so stop() can close them and join their threads."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        emulator: XEmulator,
        *,
        verbose: bool,
        handshake_delay: float,
    ) -> None:
        self.emulator, self.verbose, self.handshake_delay = emulator, verbose, handshake_delay
        self.stopping = threading.Event()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        host = str(self.server_address[0])
        self.authority = (
            f"[{host}]:{self.server_port}" if ":" in host else f"{host}:{self.server_port}"
        )

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections[request] = threading.current_thread()
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up, or stop() shutting a connection, is not worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut every open connection (waking its thread from a keep-alive read) and join."""
        with self._connections_lock:
            connections = list(self._connections.items())
        for sock, _thread in connections:
            with contextlib.suppress(OSError):  # already closed by its own thread
                sock.shutdown(socket.SHUT_RDWR)
        for _sock, thread in connections:
            thread.join(JOIN_TIMEOUT)


class EmulatorServer:
    """``with EmulatorServer() as server: server.url``; ``port=0`` picks a free port.

    ``handshake_delay``: seconds each new connection waits, as a TLS handshake with a
    distant X would, for benchmarks that compare keeping connections alive with not.
    """

    def __init__(
        self,
        emulator: XEmulator | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verbose: bool = False,
        handshake_delay: float = 0.0,
    ) -> None:
        self.emulator = emulator or XEmulator()
        self._server = _Server(
            (host, port), self.emulator, verbose=verbose, handshake_delay=handshake_delay
        )
        self.host, self.port = str(self._server.server_address[0]), self._server.server_port
        #: The base URL, without a trailing slash.
        self.url = f"http://{self._server.authority}"
        self.emulator.public_url = self.url
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_INTERVAL},
            name=f"x-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut delayed answers short, close every connection and the socket."""
        self._server.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.close_connections()
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
