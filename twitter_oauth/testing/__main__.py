"""Serve the X emulator until Ctrl-C or SIGTERM.

``python -m twitter_oauth.testing [--host 127.0.0.1] [--port 8765] [--consumer KEY:SECRET ...]
[--client ID:SECRET ...]``
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from twitter_oauth.testing.oauth2 import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from twitter_oauth.testing.server import EmulatorServer
from twitter_oauth.testing.state import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, XEmulator


def consumer_pair(value: str) -> tuple[str, str]:
    key, sep, secret = value.partition(":")
    if not (sep and key and secret):
        raise argparse.ArgumentTypeError("expected KEY:SECRET")
    return key, secret


def client_pair(value: str) -> tuple[str, str | None]:
    client_id, sep, secret = value.partition(":")
    if not (sep and client_id):
        raise argparse.ArgumentTypeError("expected ID:SECRET, or ID: for a public client")
    return client_id, secret or None


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m twitter_oauth.testing", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--consumer",
        type=consumer_pair,
        action="append",
        metavar="KEY:SECRET",
        help=f"a registered app (repeatable; default {DEMO_CONSUMER_KEY}:{DEMO_CONSUMER_SECRET})",
    )
    parser.add_argument(
        "--client",
        type=client_pair,
        action="append",
        metavar="ID:SECRET",
        help="a registered OAuth 2.0 client, ID: for a public one (repeatable; "
        f"default {DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET})",
    )
    parser.add_argument(
        "--callback-url",
        action="append",
        metavar="PREFIX",
        help="approve only callbacks starting with this (repeatable; default: any callback)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    consumers = dict(args.consumer or [(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)])
    clients = dict(args.client or [(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)])
    emulator = XEmulator(consumers, callback_urls=args.callback_url, clients=clients)
    try:
        server = EmulatorServer(emulator, args.host, args.port, verbose=args.verbose)
    except OSError as exc:
        print(f"X emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with server:
        print(
            f"X emulator listening on {server.url} "
            f"(apps: {', '.join(consumers)}; clients: {', '.join(clients)})",
            flush=True,
        )
        # A timed wait, so the signal handler runs promptly on every platform.
        while not stopping.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
