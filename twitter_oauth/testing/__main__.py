"""Serve the X emulator until Ctrl-C.

``python -m twitter_oauth.testing [--host 127.0.0.1] [--port 8765] [--consumer KEY:SECRET ...]``
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from twitter_oauth.testing.server import EmulatorServer
from twitter_oauth.testing.state import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, XEmulator


def consumer_pair(value: str) -> tuple[str, str]:
    key, sep, secret = value.partition(":")
    if not (sep and key and secret):
        raise argparse.ArgumentTypeError("expected KEY:SECRET")
    return key, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twitter_oauth.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--consumer",
        type=consumer_pair,
        action="append",
        help=(
            f"an app's KEY:SECRET (repeatable; default {DEMO_CONSUMER_KEY}:{DEMO_CONSUMER_SECRET})"
        ),
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    consumers = dict(args.consumer or [(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)])
    server = EmulatorServer(XEmulator(consumers), args.host, args.port, verbose=args.verbose)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.start()
    print(f"X emulator listening on {server.url} (consumers: {', '.join(consumers)})", flush=True)
    stopping.wait()
    server.stop()
    print("X emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
