"""What every stand-in server shares: an HTTP server on 127.0.0.1 in a daemon thread."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connections under a burst of concurrent calls
    # (a fan-out, five simultaneous clicks); each drop costs a 1 s SYN retransmit or more.
    request_queue_size = 128
    daemon_threads = True


class LocalServer:
    """Mixin for a stand-in: ``start()``/``stop()``, ``with``, and ``base_url``.

    The stand-in sets ``self._server = None`` when built and gives its request handler in
    ``_handler()``; ``port`` 0 takes any free port.
    """

    port: int = 0
    _server: ThreadingHTTPServer | None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        server = _Server(("127.0.0.1", self.port), self._handler())
        self._server = server
        # A short poll keeps stop() quick (tests start and stop many stand-ins).
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"


def send_json(
    handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str]
) -> None:
    """Answer a request with ``body`` as JSON (no body at all when it is None)."""
    data = b"" if body is None else json.dumps(body).encode()
    handler.send_response(status)
    if body is not None:
        handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
