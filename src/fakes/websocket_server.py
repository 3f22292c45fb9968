"""A fake service that speaks WebSocket: a ``websockets`` server on 127.0.0.1, on an event loop of its own in a
background thread, so that tests (which are synchronous) can start it, drive it and stop it like the HTTP fakes.

Subclasses answer the handshake (``_process_request``: None to accept, or a refusal ``Response``) and serve one
connection (``_handler``), registering each stream with ``_stream_opened``/``_stream_closed``; a stream has a
``ws`` attribute (its ``ServerConnection``), which ``stop`` aborts.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from .server import FakeService

#: Seconds to wait for the server's thread to start, or to end.
THREAD_SECONDS = 10.0


class FakeWebSocketService(FakeService):
    """A WebSocket server on ``127.0.0.1:port`` (see the module docstring); ``ping_interval`` None: no pings."""

    #: The largest message a client may send (bytes).
    max_message_size = 10_000_000

    def __init__(self, *, silent: bool = False, ping_interval: float | None = None) -> None:
        super().__init__(silent=silent)
        self._ping_interval = ping_interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer the handshake: None accepts it, a ``connection.respond(...)`` refuses it."""
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        """Serve one accepted connection until it ends."""
        raise NotImplementedError

    def _open(self) -> int:
        """Run an event loop in a background thread and serve on it."""
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # pragma: no cover - reported to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        name = type(self).__name__
        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()
        ready.wait(THREAD_SECONDS)
        if failure or self._server is None:
            raise RuntimeError(f"{name} did not start") from (failure[0] if failure else None)
        return int(next(iter(self._server.sockets)).getsockname()[1])

    async def _listen(self) -> None:
        self._server = await serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            ping_interval=self._ping_interval,
            ping_timeout=None,
            close_timeout=2,
            max_size=self.max_message_size,
            server_header=None,
        )

    def _close(self) -> None:
        """Abort every connection, close the listening socket and end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shut_down(), loop)
            with contextlib.suppress(Exception):
                future.result(THREAD_SECONDS)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(THREAD_SECONDS)
        loop.close()
        self._loop = self._thread = None

    async def _shut_down(self) -> None:
        with self._cond:
            streams = list(self._streams)
        for stream in streams:
            stream.ws.transport.abort()
        if self._server is not None:
            self._server.close(close_connections=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
