"""The gevent HTTP server of ``serve`` and ``ingest``: read deadlines for slow clients, a connection cap.

A client has ``read_timeout`` seconds to send its request line and headers, and then as long again for its
body: a connection that trickles bytes (one a second keeps any per-read timeout happy) is closed at the
deadline. Writing the response has no deadline, so a live stream stays open however quiet it is. A
kept-alive connection may wait ``KEEPALIVE_SECONDS`` for its next request (longer than a load balancer's idle
timeout, so that the server is never the side that closes a connection the balancer is about to reuse).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import Any

import gevent
from gevent.pool import Pool
from gevent.pywsgi import Input, WSGIHandler, WSGIServer
from werkzeug.exceptions import RequestTimeout

log = logging.getLogger("twitterstream.http")

KEEPALIVE_SECONDS = 75.0
#: A body left unread by the app is read and dropped (to keep the connection) only when it is this small.
DISCARD_LIMIT = 64 * 1024

_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class SlowClient(ValueError):
    """The client did not send its request line and headers in time (a ValueError: gevent's client error)."""


class DeadlineInput(Input):
    """The request body, readable until a deadline; past it, reads raise 408 (the app answers it)."""

    __slots__ = ("abandoned", "deadline")

    def __init__(self, source: Input, deadline: float) -> None:
        super().__init__(source.rfile, source.content_length, source.socket, source.chunked_input)
        self.deadline = deadline
        self.abandoned = False

    def _read_within_deadline(self, method: Any, *args: Any) -> Any:
        remaining = self.deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise gevent.Timeout()
            with gevent.Timeout(remaining):
                return method(*args)
        except gevent.Timeout:
            self.abandoned = True
            raise RequestTimeout("The request body came too slowly.") from None

    def read(self, length: int | None = None) -> bytes:
        data: bytes = self._read_within_deadline(super().read, length)
        return data

    def readline(self, size: int | None = None) -> bytes:
        data: bytes = self._read_within_deadline(super().readline, size)
        return data

    def _discard(self) -> None:
        left = (self.content_length or 0) - self.position
        if self.abandoned or self.chunked_input or left > DISCARD_LIMIT:
            self.abandoned = True  # the connection closes instead: never read a large or slow body for nothing
            return
        with contextlib.suppress(RequestTimeout):
            super()._discard()


class GuardedHandler(WSGIHandler):
    """gevent's handler with read deadlines on the request (never on the response)."""

    server: GuardedServer
    requests_served = 0
    header_deadline: gevent.Timeout | None = None

    def handle_one_request(self) -> Any:
        if self.requests_served:
            # Kept alive: wait for the next request's first byte as long as a load balancer keeps it idle.
            try:
                with gevent.Timeout(KEEPALIVE_SECONDS):
                    if not self.rfile.peek(1):
                        return None
            except (gevent.Timeout, OSError):
                return None
        deadline = gevent.Timeout(self.server.read_timeout, SlowClient)
        self.header_deadline = deadline
        deadline.start()
        try:
            return super().handle_one_request()
        except SlowClient:  # still in the request line: say nothing, close
            log.info("closed a connection from %s: no request line within %g s", self._peer(), self.server.read_timeout)
            return None
        finally:
            deadline.cancel()
            self.requests_served += 1

    def get_environ(self) -> dict[str, Any]:
        # Called once the headers are read: their deadline ends, the body's starts.
        if self.header_deadline is not None:
            self.header_deadline.cancel()
        environ: dict[str, Any] = super().get_environ()
        body = DeadlineInput(vars(self)["wsgi_input"], time.monotonic() + self.server.read_timeout)
        self.wsgi_input = environ["wsgi.input"] = body
        return environ

    def handle_one_response(self) -> None:
        super().handle_one_response()
        body: Any = self.wsgi_input
        if isinstance(body, DeadlineInput) and body.abandoned:
            self.close_connection = True

    def _handle_client_error(self, ex: Exception) -> Any:
        if isinstance(ex, SlowClient):
            log.info(
                "closed a connection from %s: headers not sent within %g s", self._peer(), self.server.read_timeout
            )
            return ("408", _TIMEOUT_RESPONSE)
        return super()._handle_client_error(ex)

    def _peer(self) -> str:
        address = self.client_address
        return str(address[0]) if isinstance(address, tuple) else str(address)


class GuardedServer(WSGIServer):
    """gevent's WSGI server with :class:`GuardedHandler` and at most ``max_connections`` open connections.

    At the cap the server stops accepting (new connections wait in the listen backlog) and says so once,
    until connections are accepted again. Every connection has Nagle's algorithm off (``TCP_NODELAY``, as
    gunicorn sets it): gevent sends a response's headers and body in two writes, and with Nagle on the body
    waits for the client to acknowledge the headers, which a client delays by up to 40 ms (Linux) or 200 ms
    (Windows) on a kept-alive connection; a live stream's events would wait likewise.
    """

    handler_class = GuardedHandler

    def __init__(self, listener: Any, application: Any, *, read_timeout: float, max_connections: int) -> None:
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self._at_cap = False
        super().__init__(
            listener,
            application,
            spawn=Pool(max_connections),
            log=None,
            error_log=logging.getLogger("twitterstream.http"),
        )
        pool_full: Any = vars(self)["full"]  # the pool's, set by gevent

        def full() -> bool:
            is_full: bool = pool_full()
            if is_full and not self._at_cap:
                log.warning("connection cap of %d reached: new connections wait", self.max_connections)
            elif not is_full and self._at_cap:
                log.info("below the connection cap of %d again: accepting", self.max_connections)
            self._at_cap = is_full
            return is_full

        self.full = full

    def handle(self, sock: Any, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # already reset by the client: the handler finds out
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)
