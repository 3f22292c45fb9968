"""The SSE response every live stream shares: status first, then the backlog, then live events, until closed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response

from twitterstream.web.channel import CLOSE, STATUS_ORDER, Subscription
from twitterstream.web.query_status import StatusScope


def event_stream(
    subscription: Subscription,
    backlog: list[bytes],
    boundary: tuple[int, int],
    status: dict[str, Any],
    close: Callable[[], None],
    scope: StatusScope,
) -> Response:
    """A ``text/event-stream`` response: the source's ``status``, the ``backlog``, then the live events after
    ``boundary`` (those at or before it are in the backlog). Every ``status`` event carries the networks of
    ``scope``'s query. ``close`` (idempotent) runs once it ends, whether the generator finishes or the server
    closes a response it never started."""

    def generate() -> Iterator[bytes]:
        # Runs after the request context is gone (nothing here needs it): an idle stream keeps only
        # its subscription and this generator, and the bytes go to the server as they are.
        try:
            yield b"retry: 2000\n" + scope.first(status)
            yield b"".join(backlog)
            backlog.clear()  # an idle stream should not hold its backlog for its whole life
            while True:
                message = subscription.get()  # the hub sends keep-alives every sse_keepalive_seconds
                if message is None or message is CLOSE:  # shut down, or overtaken (reconnects and resumes)
                    return
                order = message.order
                if order == STATUS_ORDER:
                    yield scope.message(message)
                elif order[0] < 0 or order > boundary:  # at or before it: already in the backlog
                    yield message.text
        finally:
            close()

    return sse_response(generate(), close)


def sse_response(body: Iterator[bytes], close: Callable[[], None]) -> Response:
    """The ``text/event-stream`` response around a stream's generator; ``close`` runs once it ends."""
    response = Response(body, mimetype="text/event-stream", direct_passthrough=True)
    response.call_on_close(close)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx and friends: do not buffer
    return response
