"""A loopback chat model that answers one byte at a time: the slowest honest server.

Every read the client makes gets a byte well within any read timeout, so only an overall
deadline per request stops it. It records when each client let go of the connection.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.support.llm import answer


@dataclass
class DrippingModel:
    """``base_url`` for the client; ``hung_up`` is set when a client closed its connection."""

    base_url: str
    seconds_per_byte: float
    requests: int = 0
    hung_up: threading.Event = field(default_factory=threading.Event)


@contextmanager
def dripping_model(seconds_per_byte: float = 0.5) -> Iterator[DrippingModel]:
    """Serve ``/v1/chat/completions`` on 127.0.0.1, dripping a valid answer's bytes."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    model = DrippingModel(f"http://127.0.0.1:{port}/v1", seconds_per_byte)
    stopping = threading.Event()
    body = answer(recent=[]).content

    def drip(conn: socket.socket) -> None:
        with conn:
            _read_request(conn)
            model.requests += 1
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            try:
                for byte in head + body:
                    if stopping.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(seconds_per_byte)
            except OSError:  # the client closed the connection
                model.hung_up.set()

    def serve() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield model
    finally:
        stopping.set()
        listener.close()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        rest += chunk
