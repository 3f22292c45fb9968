"""The gunicorn worker for the web role: gevent, and open live streams end at once on shutdown.

Gunicorn's graceful shutdown waits for requests in flight; a live stream never finishes by itself, so
every worker would wait the whole graceful timeout. This worker first ends its streams (the browsers'
EventSource reconnects to another replica and resumes with Last-Event-ID), then shuts down as usual.
"""

from __future__ import annotations

from types import FrameType

import gevent
from gunicorn.workers.ggevent import GeventWorker

from twitterstream.web.live import stop_all_hubs


class LiveStreamWorker(GeventWorker):
    """gunicorn's gevent worker that closes live streams when told to stop."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        gevent.spawn(stop_all_hubs)
        super().handle_exit(sig, frame)
