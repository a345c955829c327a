"""lark-oapi's Open API calls over kept-alive connections (issue 19's ack budget).

lark-oapi's synchronous transport (``lark_oapi.core.http.transport.Transport.execute``, under
every ``client.im.v1.*`` method and the tenant-token fetch) calls the module-level
``requests.request``: a new ``requests.Session`` per call, so a new TCP connection (and on
``https://open.feishu.cn`` a new TLS handshake, its CA bundle loaded again) for every card
sent, and the whole environment scanned twice for proxy settings. On the replica that
answers Feishu's callbacks, that CPU competes with the acks: in ``bench/ack_bench.py
--platform feishu`` the Open API calls took about a sixth of the front's interpreter time.

:func:`install` gives that transport :class:`KeptAlive` in the place of ``requests``: each
thread (the adapter's :data:`~bot.feishu.adapter.API_THREADS`) has one session per origin
that keeps its connection open. What ``requests.request`` read from the environment on every
call is read once per session: the proxies for that origin (``HTTPS_PROXY``, ``NO_PROXY`` …)
and the CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``); no cookie is kept and
no ``~/.netrc`` consulted (lark-oapi sends its own ``Authorization``), as before. A
connection Feishu closed while idle is noticed by urllib3 before it is used again; one
dropped mid-call fails that call, which the adapter tries again (sends carry a ``uuid``).
"""

from __future__ import annotations

import os
import threading
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import get_environ_proxies


class KeptAlive:
    """Stands in for the ``requests`` module in lark-oapi's transport: ``request`` on a session
    of the calling thread's own for the URL's origin."""

    def __init__(self) -> None:
        self._local = threading.local()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self.session(url).request(method, url, **kwargs)

    def session(self, url: str) -> requests.Session:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        sessions: dict[str, requests.Session] | None = getattr(self._local, "sessions", None)
        if sessions is None:
            sessions = self._local.sessions = {}
        session = sessions.get(origin)
        if session is None:
            session = sessions[origin] = _session_for(origin)
        return session


def _session_for(origin: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # what it read from the environment per call, read once here
    session.proxies.update(get_environ_proxies(origin + "/"))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


_INSTALLED = KeptAlive()


def install() -> KeptAlive:
    """Make lark-oapi's synchronous transport use kept-alive sessions (once per process)."""
    from lark_oapi.core.http import transport

    transport.requests = _INSTALLED
    return _INSTALLED
