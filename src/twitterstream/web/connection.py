"""Noticing that a live stream's viewer has gone, without reading from or blocking on its connection."""

from __future__ import annotations

import _socket
from typing import Any


def connection_closed(fd: int) -> bool:
    """True when the peer of the socket ``fd`` has closed it (a look, without reading or blocking).

    A live stream's client sends nothing after its request, so a readable socket with nothing to read is
    a closed one. ``_socket`` (not ``socket``) because gevent patches the latter into a waiting recv.
    """
    try:
        probe = _socket.socket(fileno=fd)
    except OSError:
        return True
    try:
        return probe.recv(1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # open, nothing sent: the usual case
    except OSError:
        return True  # reset
    finally:
        probe.detach()


def client_fd(environ: dict[str, Any]) -> int | None:
    """The file descriptor of the request's connection, where the server tells (werkzeug, gunicorn, gevent)."""
    for holder in (environ.get("werkzeug.socket"), environ.get("gunicorn.socket")):
        if holder is not None:
            try:
                return int(holder.fileno())
            except (OSError, ValueError):
                return None
    rfile = getattr(environ.get("wsgi.input"), "rfile", None)  # gevent.pywsgi: the socket's buffered reader
    try:
        return int(rfile.fileno()) if rfile is not None else None
    except (OSError, ValueError, AttributeError):
        return None
