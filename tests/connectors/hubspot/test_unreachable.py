"""A wrong SALESBOT_HUBSPOT_API_URL is named as such, within seconds."""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.hubspot import HubSpotError, OfficialClient, RateLimiter


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _WebSite(BaseHTTPRequestHandler):
    """A web server that is not HubSpot's API: every path is an HTML "not found" page."""

    def do_GET(self) -> None:
        page = b"<!DOCTYPE HTML><html lang='en'><body>Not Found</body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def web_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_an_unreachable_api_url_is_named_after_a_short_wait_without_retry_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    waited: list[float] = []
    url = f"http://127.0.0.1:{_closed_port()}"
    client = OfficialClient(token="pat-x", api_url=url, limiter=RateLimiter(sleep=waited.append))

    expected = (
        f"cannot reach HubSpot at {url} ([Errno 111] Connection refused): "
        "check SALESBOT_HUBSPOT_API_URL"
    )
    with caplog.at_level(logging.WARNING), pytest.raises(HubSpotError, match=re.escape(expected)):
        client.owners(archived=False)

    assert sum(waited) <= 10
    assert [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")] == []


def test_a_web_page_instead_of_the_api_says_to_check_the_url(web_site: str) -> None:
    client = OfficialClient(token="pat-x", api_url=web_site, limiter=RateLimiter())

    with pytest.raises(HubSpotError) as refused:
        client.owners(archived=False)

    assert str(refused.value) == (
        f"{web_site} answered 404 with a web page, not HubSpot's API: "
        "is SALESBOT_HUBSPOT_API_URL right?"
    )
