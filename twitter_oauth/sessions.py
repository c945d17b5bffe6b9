"""The process-wide HTTP session the client speaks to X through.

One ``requests.Session`` per process (re-created after a fork), so connections
to X are kept alive across calls and across Celery tasks in a worker. Only
:mod:`twitter_oauth.client` sends requests on it.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from django.utils.module_loading import import_string
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

from twitter_oauth.conf import app_settings

_session: requests.Session | None = None
_session_lock = threading.Lock()


class PooledSession(requests.Session):
    """A session that reads proxies and the CA bundle from the environment once per host.

    requests reads them on every request, walking ``os.environ`` several times: a
    tenth of a post to a nearby X. ``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``
    and their kin still apply; a change to them reaches the next session
    (:func:`reset_session`), not the current one.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment_proxies: dict[tuple[str, str], dict[str, str]] = {}
        self._environment_ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
            "CURL_CA_BUNDLE"
        )

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        if not self.trust_env or (proxies and "no_proxy" in proxies):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        scheme, host = urlsplit(url)[:2]
        known = self._environment_proxies.get((scheme, host))
        if known is None:
            known = self._environment_proxies[scheme, host] = get_environ_proxies(url)
        proxies = {**known, **(proxies or {})}
        if verify is True or verify is None:
            verify = self._environment_ca_bundle or verify
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }


def _build_session() -> requests.Session:
    factory = app_settings.SESSION_FACTORY
    session: requests.Session = import_string(factory)() if factory else PooledSession()
    size = app_settings.POOL_SIZE
    adapter = requests.adapters.HTTPAdapter(pool_connections=size, pool_maxsize=size)
    if not factory:
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    session.headers["User-Agent"] = (
        f"{app_settings.USER_AGENT} python-requests/{requests.__version__}"
    )
    return session


def get_session() -> requests.Session:
    """The process-wide session (created on first use, re-created after a fork)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = _build_session()
    return _session


def reset_session() -> None:
    """Close the pooled connections; the next call opens a fresh session.

    Called after ``fork()`` so a child never shares sockets with its parent, and
    by tests that change ``SESSION_FACTORY``, ``POOL_SIZE`` or ``USER_AGENT``.
    """
    global _session
    with _session_lock:
        old, _session = _session, None
    if old is not None:
        old.close()


def _forget_session_in_child() -> None:
    # The parent's sockets must not be used by the child; closing them here would
    # also shut them for the parent, so drop the reference only.
    global _session, _session_lock
    _session = None
    _session_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_session_in_child)


__all__ = ["PooledSession", "get_session", "reset_session"]
