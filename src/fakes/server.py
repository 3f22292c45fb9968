"""What every fake service shares: a port of its own on 127.0.0.1, start and stop (or ``with``), one lock whose
changes wake whoever waits, silence, and waits on the streams it serves.

:class:`FakeService` is the base; :class:`FakeHTTPService` adds a threaded HTTP/1.1 server that remembers its
open connections, so that ``stop`` can cut them (a fake never outlives its test by a lingering stream).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar

from .waiting import Changes, eventually

T = TypeVar("T")

#: How long ``stop`` waits for the threads that serve streams to end.
STOP_SECONDS = 5.0


class FakeService:
    """A fake service on ``127.0.0.1:port`` (port 0 until started). Subclasses open and close the server
    itself (``_open``, ``_close``) and register each stream they serve (``_stream_opened``,
    ``_stream_closed``); everything else is here.

    - ``start()``/``stop()``, or ``with Fake() as fake:``; ``stop`` cuts every connection and is idempotent;
    - ``silent``: a host that keeps its connections open and sends nothing at all, not even keep-alives,
      until ``resume()`` (``silence()`` as a method, ``with fake.silenced():`` for a block); what is
      published meanwhile never arrives, as on a real stalled host;
    - ``wait_for(predicate)``: woken by every change in the fake; ``wait_for_connections(n)`` for streams.
    """

    def __init__(self, *, silent: bool = False) -> None:
        self._changes = Changes()
        self._cond = self._changes.condition
        self._silent = silent
        self._streams: list[Any] = []
        self._streams_opened = 0
        self._stopping = threading.Event()
        self._running = False
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in the background (a second call does nothing)."""
        if not self._running:
            self._stopping.clear()
            self.port = self._open()
            self._running = True
        return self

    def stop(self) -> None:
        """Cut every connection and stop serving (a second call does nothing)."""
        if not self._running:
            return
        self._running = False
        self._stopping.set()
        self._close()
        self._changed()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Between ``start`` and ``stop``."""
        return self._running

    def _open(self) -> int:
        """Start serving; return the port."""
        raise NotImplementedError

    def _close(self) -> None:
        """Stop serving and cut every connection."""
        raise NotImplementedError

    # -- silence ------------------------------------------------------------------------------------
    @property
    def silent(self) -> bool:
        """True: connections stay open and get nothing at all (a stalled host). Settable at any time."""
        return self._silent

    @silent.setter
    def silent(self, value: bool) -> None:
        with self._cond:
            self._silent = value
            self._on_silence(value)
            self._changed()

    def silence(self) -> None:
        """Send nothing more until :meth:`resume` (what is published meanwhile is lost)."""
        self.silent = True

    def resume(self) -> None:
        """Send again after :meth:`silence`."""
        self.silent = False

    @contextlib.contextmanager
    def silenced(self) -> Iterator[None]:
        """Silent for the ``with`` block."""
        self.silence()
        try:
            yield
        finally:
            self.resume()

    def _on_silence(self, silent: bool) -> None:
        """Called under the lock when ``silent`` changes (streams that must be told)."""

    # -- streams ------------------------------------------------------------------------------------
    @property
    def active_streams(self) -> int:
        """Streams open right now."""
        with self._cond:
            return len(self._streams)

    @property
    def streams_opened(self) -> int:
        """Streams accepted so far, ever."""
        with self._cond:
            return self._streams_opened

    def _stream_opened(self, stream: Any) -> None:
        with self._cond:
            self._streams.append(stream)
            self._streams_opened += 1
            self._changed()

    def _stream_closed(self, stream: Any) -> None:
        with self._cond:
            if stream in self._streams:
                self._streams.remove(stream)
            self._changed()

    # -- waiting ------------------------------------------------------------------------------------
    def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,
        message: str = "",
        *,
        description: str | None = None,
    ) -> T:
        """Block until ``predicate()`` is truthy and return it; AssertionError (with the fake's state) after
        ``timeout`` seconds. Woken by every change in the fake, and re-checked every 50 ms for state outside
        it; the predicate runs without the fake's lock, so it may look at anything."""
        what = message or description or ""
        return eventually(predicate, timeout, what, changes=self._changes, detail=self.describe)

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:
        """Block until exactly ``count`` streams are open."""
        self.wait_for(lambda: self.active_streams == count, timeout, f"{count} open stream(s)")

    def wait_for_opened(self, count: int, timeout: float = 5.0) -> None:
        """Block until at least ``count`` streams have been accepted, ever."""
        self.wait_for(lambda: self.streams_opened >= count, timeout, f"{count} stream(s) opened")

    def describe(self) -> str:
        """A one-line summary of the fake's state, for failure messages."""
        with self._cond:
            fields = ", ".join(f"{name}={value}" for name, value in self._state().items())
        return f"{type(self).__name__}({fields})"

    def _state(self) -> dict[str, object]:
        """What :meth:`describe` shows (subclasses add their counters)."""
        return {"active_streams": len(self._streams), "streams_opened": self._streams_opened}

    def _changed(self) -> None:
        """Wake every waiter (call after any change a test might wait for)."""
        self._changes.bump()


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server on 127.0.0.1:0 that remembers its open connections (to cut them)."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's default listen backlog of 5 drops bursts of concurrent connects
    allow_reuse_address = True

    def __init__(self, fake: FakeHTTPService, handler: type[BaseHTTPRequestHandler]) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Shut every open connection down (the client sees its body end, no terminating chunk)."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class FakeHandler(BaseHTTPRequestHandler):
    """Hands every request to the fake's ``_dispatch``; no access log on stderr; Nagle off, as servers do."""

    protocol_version = "HTTP/1.1"
    server: LoopbackHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _handle(self) -> None:
        self.server.fake._dispatch(self)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle


class FakeHTTPService(FakeService):
    """A fake HTTP service: ``base_url`` (``url``), requests handed to ``_dispatch`` on a thread each."""

    handler_class: type[FakeHandler] = FakeHandler

    def __init__(self, *, silent: bool = False) -> None:
        super().__init__(silent=silent)
        self._server: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if not self.port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The same as ``base_url``."""
        return self.base_url

    def _open(self) -> int:
        self._server = LoopbackHTTPServer(self, self.handler_class)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return int(self._server.server_address[1])

    def _close(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        with self._cond:
            self._end_streams()
            self._changed()
        server.shutdown()
        server.cut_connections()
        with self._cond:  # no stream writes anything once stop returns
            self._cond.wait_for(lambda: not self._streams, STOP_SECONDS)
        server.server_close()
        thread.join(STOP_SECONDS)
        self._server = self._thread = None

    def _end_streams(self) -> None:
        """Called under the lock as ``stop`` begins: tell the open streams to end at once."""

    def _dispatch(self, handler: FakeHandler) -> None:
        """Answer one request (on the connection's own thread)."""
        raise NotImplementedError
