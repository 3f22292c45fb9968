"""The SSE response every live stream shares: status first, then the backlog, then live events, until closed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response

from twitterstream.web.channel import CLOSE, Subscription
from twitterstream.web.sse import format_status


def event_stream(
    subscription: Subscription,
    backlog: list[bytes],
    boundary: tuple[int, int],
    status: dict[str, Any],
    close: Callable[[], None],
) -> Response:
    """A ``text/event-stream`` response: the source's ``status``, the ``backlog``, then the live events after
    ``boundary`` (those at or before it are in the backlog). ``close`` (idempotent) runs once it ends, whether
    the generator finishes or the server closes a response it never started."""

    def generate() -> Iterator[bytes]:
        # Runs after the request context is gone (nothing here needs it): an idle stream keeps only
        # its subscription and this generator, and the bytes go to the server as they are.
        try:
            yield b"retry: 2000\n" + format_status(status)
            yield b"".join(backlog)
            backlog.clear()  # an idle stream should not hold its backlog for its whole life
            while True:
                message = subscription.get()  # the hub sends keep-alives every sse_keepalive_seconds
                if message is None or message is CLOSE:  # shut down, or overtaken (reconnects and resumes)
                    return
                order, text = message.order, message.text
                if order[0] >= 0 and order <= boundary:
                    continue  # already in the backlog
                yield text
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
