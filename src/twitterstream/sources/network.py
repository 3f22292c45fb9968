"""Network failures in words, and interrupting a blocked HTTP read."""

from __future__ import annotations

import contextlib
import socket

import httpx


def network_reason(exc: BaseException) -> str:
    """A network failure in words for the status line (the exception's text, which may hold a URL, is not
    shown; its type and cause are enough to tell what happened)."""
    causes: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(causes) < 5:
        causes.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "network error: the host name does not resolve (is this machine online?)"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "network error: the connection was refused"
    if any(isinstance(c, TimeoutError | httpx.TimeoutException) for c in causes):
        return "network error: the connection timed out"
    if any(isinstance(c, ConnectionResetError | httpx.RemoteProtocolError) for c in causes):
        return "network error: the connection was dropped"
    return f"network error: {type(exc).__name__}"


def interrupt_response(response: httpx.Response) -> None:
    """Wake a thread blocked reading ``response`` (closing a socket from another thread does not)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)
