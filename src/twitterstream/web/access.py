"""The access log: one line per request (method, path, status, duration, client), as fields in JSON logs.

Neither gunicorn (``accesslog`` off) nor gevent's server (``log=None``) writes one, so the app does, through
the same logging setup as everything else: secrets masked, ``LOG_FORMAT=json`` gives each field its own key.
No header is logged (an ``Authorization`` header never reaches the log).
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

log = logging.getLogger("twitterstream.access")


def install(app: Flask) -> None:
    """Log every request of ``app`` once its response is ready (a live stream: once it starts)."""
    # first of the before-request functions, so that a request refused by one (CSRF) is timed too
    app.before_request_funcs.setdefault(None, []).insert(0, _started)
    app.after_request(_log_request)


def _started() -> None:
    g.access_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    started = g.get("access_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    path = request.path
    if request.query_string:  # as sent (full_path would fail on a query string that is not UTF-8)
        path += "?" + request.query_string.decode("utf-8", "replace")
    fields = {
        "method": request.method,
        "path": path,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "client": request.remote_addr,
    }
    log.info(
        "%s %s %d %s ms %s",
        request.method,
        path,
        response.status_code,
        duration_ms,
        request.remote_addr,
        extra={"fields": fields},
    )
    return response
