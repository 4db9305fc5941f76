"""An overall deadline on HTTP requests, enforced on the socket, not per read.

httpx's timeouts apply to each socket operation: a server that sends one byte every half
second never trips a 20 s read timeout and can hold a request (and its thread) for ever.
Here every connect, read and write is given at most the time left until the current
deadline, and fails at once when none is left, so a request ends at its deadline whatever
the server does.

The deadline is a context variable, set around each request by the caller
(``until(monotonic_deadline)``); requests made outside it are not limited.
"""

from __future__ import annotations

import ssl
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

_DEADLINE: ContextVar[float | None] = ContextVar("salesbot_http_deadline", default=None)


@contextmanager
def until(deadline: float) -> Iterator[None]:
    """Requests made inside this block end by ``deadline`` (a ``time.monotonic()`` value)."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def transport(base_url: str | None) -> httpx.HTTPTransport:
    """httpx's own transport (an HTTP(S) proxy from the environment included), deadline-bound.

    Args:
        base_url: The endpoint the client talks to (None: OpenAI's), to pick its proxy.
    """
    built = httpx.HTTPTransport(proxy=_environment_proxy(base_url or "https://api.openai.com"))
    # httpx offers no way to pass a network backend; wrap the one its pool chose (httpx<1).
    pool: Any = built._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return built


def _environment_proxy(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxy = urllib.request.getproxies().get(parts.scheme)
    return proxy if proxy and proxy.startswith(("http://", "https://")) else None


def _left(timeout: float | None, *, failure: type[Exception]) -> float | None:
    """``timeout`` cut to the time left before the deadline; ``failure`` if none is left."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise failure("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, failure=httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, failure=httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        wait = _left(timeout, failure=httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, wait))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _left(timeout, failure=httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._backend.connect_tcp(host, port, wait, local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        wait = _left(timeout, failure=httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
