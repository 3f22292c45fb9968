"""A fake Bluesky Jetstream: a real WebSocket server on 127.0.0.1 speaking the v1 ``/subscribe`` protocol.

What it copies from the real service (bluesky-social/jetstream: the v1 README and ``pkg/server``, and the
2026 v2 service's v1-compatible ``internal/subscribe`` handler, filter and cursor code):

- ``GET /subscribe`` upgraded to a WebSocket; events are *text* frames of compact JSON. Go's
  ``encoding/json`` writes them, so ``<``, ``>``, ``&``, U+2028 and U+2029 inside strings arrive escaped
  (``\\u003c`` ...) while other non-ASCII characters arrive raw. :func:`publish_raw` sends exact text
  (use it for the captured samples, which then flow through byte for byte).
- ``wantedCollections`` (repeatable; ``prefix.*`` wildcards; NSIDs validated, at most 100) filters
  *commit* events only: identity and account events reach every subscriber whatever the filter.
  ``wantedDids`` (repeatable, at most 10,000) applies to every kind. ``maxMessageSizeBytes`` drops larger
  events (empty, malformed or negative means no limit). ``requireHello=true`` holds everything back until
  the client sends an ``options_update`` message; ``options_update`` messages replace the filters.
- ``cursor``: replay every stored event with ``time_us >= cursor`` (inclusive), oldest first, then go
  live with no gap and no duplicate. No cursor, or a cursor in the future, means live only. A malformed
  or negative cursor is refused with HTTP 400 before the upgrade, as are invalid filters (plain-text
  bodies, as the v1 endpoint answers). With ``v2_cursor=True`` each event also carries the v2 hosts'
  integer ``cursor`` (a sequence number, from ``first_seq``: instances number independently), and a
  ``cursor`` below 10^15 is read as that sequence number, inclusive (``seq >= cursor``; beyond the newest:
  live only), at or above it as a v1 time as before (docs/README.md of bluesky-social/jetstream, 5.1).
- The unkind parts: :attr:`silent` (a host that accepts the connection and then sends nothing, as public
  hosts have been seen doing), :meth:`drop_all` (abort every TCP connection without a close frame, or
  close with a close frame), :meth:`drop_every` (cut each connection after N events), :meth:`refuse`
  (answer the handshake with an HTTP error, e.g. 429 or 503).

Not modelled: ``compress=true`` (zstd with a custom dictionary; refused with 400 here), the per-IP rate
limit, the 36 h replay window, dropping slow subscribers, v1's at-least-once overlap at the replay/live
cut-over (replay here is exact; real clients must still de-duplicate).


The server is here; the rest of the fake is in modules of their own, re-exported here: the events and their
builders in ``jetstream_events`` (:func:`make_post_event`, with facets from ``bluesky_facets`` and embeds from
``bluesky_embeds``; :func:`make_delete_event`, :func:`make_like_event`, :func:`make_identity_event`,
:func:`make_account_event`), identifiers in ``atproto_ids``, the handshake's options and the filter in
``jetstream_subscription``, the stored events and cursor replay in ``jetstream_history``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .atproto_ids import fake_cid, fake_did, new_tid
from .bluesky_embeds import external_embed, images_embed, quote_embed, video_embed
from .bluesky_facets import detect_facets
from .jetstream_events import (
    LIKE_COLLECTION,
    POST_COLLECTION,
    encode_event,
    make_account_event,
    make_delete_event,
    make_identity_event,
    make_like_event,
    make_post_event,
)
from .jetstream_history import CURSOR_SEQ_MAX, EventHistory, StoredEvent
from .jetstream_subscription import (
    MAX_WANTED_COLLECTIONS,
    MAX_WANTED_DIDS,
    InvalidOptions,
    SubscribeOptions,
    SubscriptionFilter,
    build_filter,
    subscribe_options,
)
from .websocket_server import FakeWebSocketService

__all__ = [
    "CURSOR_SEQ_MAX",
    "LIKE_COLLECTION",
    "MAX_WANTED_COLLECTIONS",
    "MAX_WANTED_DIDS",
    "PING_INTERVAL",
    "POST_COLLECTION",
    "FakeJetstream",
    "detect_facets",
    "encode_event",
    "external_embed",
    "fake_cid",
    "fake_did",
    "images_embed",
    "make_account_event",
    "make_delete_event",
    "make_identity_event",
    "make_like_event",
    "make_post_event",
    "new_tid",
    "quote_embed",
    "video_embed",
]

#: The real server pings every 30 s.
PING_INTERVAL = 30.0

_CLOSED = object()


@dataclass(eq=False)
class _Subscriber:
    """One open subscription."""

    ws: ServerConnection
    filter: SubscriptionFilter
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    hello: asyncio.Event = field(default_factory=asyncio.Event)
    sent: int = 0


class FakeJetstream(FakeWebSocketService):
    """A Jetstream host on ``ws://127.0.0.1:PORT/subscribe``, running in a background thread.

    Use it as a context manager (``with FakeJetstream() as js: ...``) or call :meth:`start` and :meth:`stop`;
    lifecycle, silence and waits come from :class:`server.FakeService`, the event loop's thread from
    :class:`websocket_server.FakeWebSocketService`.
    ``history`` holds events (dicts, or raw JSON text) that a ``cursor`` can replay; :meth:`publish`
    adds to it and sends live.
    """

    def __init__(
        self,
        *,
        history: Iterable[Mapping[str, Any] | str] = (),
        silent: bool = False,
        v2_cursor: bool = False,
        first_seq: int = 1,
        ping_interval: float | None = PING_INTERVAL,
    ) -> None:
        super().__init__(silent=silent, ping_interval=ping_interval)
        self._history = EventHistory(v2_cursor=v2_cursor, first_seq=first_seq)
        self._pending: dict[int, SubscribeOptions] = {}
        self._drop_every: int | None = None
        self._refusal: tuple[int, str] | None = None
        #: Every handshake attempt: path, query, wantedCollections, wantedDids, cursor, status, headers ...
        self.requests: list[dict[str, Any]] = []
        #: Events sent, over all connections.
        self.sent = 0
        for item in history:
            if isinstance(item, str):
                self._history.add_raw(item)
            else:
                self._history.add(item)

    # -- lifecycle ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/subscribe``."""
        return f"ws://127.0.0.1:{self.port}/subscribe"

    @property
    def connections(self) -> int:
        """Connections whose WebSocket handshake succeeded, ever (``streams_opened``)."""
        return self.streams_opened

    @property
    def active(self) -> int:
        """Connections open right now (``active_streams``)."""
        return self.active_streams

    # -- knobs --------------------------------------------------------------------------------------
    @property
    def history(self) -> list[str]:
        """The stored events' exact text, in publish order."""
        with self._cond:
            return [event.text for event in self._history.events]

    def drop_every(self, n: int | None) -> None:
        """Abort each connection (no close frame) right after it has been sent ``n`` events; None: never."""
        with self._cond:
            self._drop_every = n

    def refuse(self, status: int | None, body: str = "") -> None:
        """Answer new handshakes with HTTP ``status`` (e.g. 429, 503) and ``body``; None: accept again."""
        with self._cond:
            self._refusal = None if status is None else (status, body)

    def drop_all(self, *, close_frame: bool = False, code: int = 1001, reason: str = "") -> None:
        """Cut every open connection: abort the TCP connection (no close frame, the default), or send a
        close frame with ``code`` and ``reason`` first. Returns once the connections are gone."""
        loop = self._loop
        if loop is None:
            return
        with self._cond:
            subscribers = list(self._streams)

        async def cut() -> None:
            for sub in subscribers:
                if close_frame:
                    await sub.ws.close(code, reason)
                else:
                    sub.ws.transport.abort()

        asyncio.run_coroutine_threadsafe(cut(), loop).result(10)
        self.wait_for(lambda: all(sub not in self._streams for sub in subscribers), 10)

    # -- publishing ---------------------------------------------------------------------------------
    def publish(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``event`` and send it to every subscriber whose filters accept it.

        A missing ``time_us`` is assigned from a clock that never goes backwards (microseconds); with
        ``v2_cursor`` a missing ``cursor`` gets the next sequence number. Returns the event as stored.
        """
        with self._cond:
            stored, final = self._history.add(event)
            self._fan_out(stored)
        return final

    def post(self, did: str, text: str, **fields: Any) -> str:
        """Publish a post create by ``did`` with a fresh record key (``fields`` as :func:`make_post_event`
        takes them); returns the post's id in TwitterStream, ``did/rkey``."""
        rkey = new_tid()
        self.publish(make_post_event(did, rkey, text, **fields))
        return f"{did}/{rkey}"

    def publish_raw(self, text: str) -> None:
        """Store and send ``text`` exactly as given (for captured samples); it must be one JSON object."""
        with self._cond:
            stored = self._history.add_raw(text)
            self._fan_out(stored)

    def _fan_out(self, stored: StoredEvent) -> None:
        loop = self._loop
        if loop is None or self._silent:
            return
        for sub in self._streams:
            if sub.filter.wants(stored):
                loop.call_soon_threadsafe(sub.queue.put_nowait, stored.text)

    def _state(self) -> dict[str, object]:
        return {**super()._state(), "sent": self.sent}

    # -- the protocol -------------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        cursor_raw = (query.get("cursor") or [""])[0]
        record: dict[str, Any] = {
            "path": parts.path,
            "query": parts.query,
            "wantedCollections": query.get("wantedCollections", []),
            "wantedDids": query.get("wantedDids", []),
            "cursor": int(cursor_raw) if re.fullmatch(r"-?\d+", cursor_raw) else (cursor_raw or None),
            "compress": (query.get("compress") or [""])[0] == "true",
            "requireHello": (query.get("requireHello") or [""])[0] == "true",
            "headers": {k.lower(): v for k, v in request.headers.raw_items()},
            "status": 101,
        }

        def refuse(status: int, text: str) -> Response:
            record["status"] = status
            response = connection.respond(status, text)
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response

        with self._cond:
            self.requests.append(record)
            self._changed()
            refusal = self._refusal
        if parts.path != "/subscribe":
            return refuse(404, "404 page not found\n")
        if refusal is not None:
            return refuse(refusal[0], refusal[1])
        try:
            options = subscribe_options(query, request.headers)
        except InvalidOptions as exc:
            return refuse(400, f"{exc}\n")
        self._pending[id(connection)] = options
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        options = self._pending.pop(id(ws))
        sub = _Subscriber(ws=ws, filter=options.filter)
        if not options.require_hello:
            sub.hello.set()
        with self._cond:
            cursor = options.cursor
            if cursor is not None and not self._silent:
                for stored in self._history.replay(cursor):
                    if sub.filter.wants(stored):
                        sub.queue.put_nowait(stored.text)
            self._stream_opened(sub)
        reader = asyncio.create_task(self._read(sub))
        try:
            await self._send_loop(sub)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self._stream_closed(sub)

    async def _send_loop(self, sub: _Subscriber) -> None:
        while True:
            item = await sub.queue.get()
            if item is _CLOSED:
                return
            if not sub.hello.is_set():
                waiter = asyncio.create_task(sub.hello.wait())
                closed = asyncio.create_task(sub.ws.wait_closed())
                await asyncio.wait({waiter, closed}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                closed.cancel()
                if not sub.hello.is_set():
                    return
            if self._silent:
                continue
            try:
                await sub.ws.send(item)
            except ConnectionClosed:
                return
            with self._cond:
                sub.sent += 1
                self.sent += 1
                limit = self._drop_every
                self._changed()
            if limit is not None and sub.sent >= limit:
                sub.ws.transport.abort()
                return

    async def _read(self, sub: _Subscriber) -> None:
        """Client messages: ``options_update`` replaces the filters (and answers ``requireHello``)."""
        try:
            async for message in sub.ws:
                if not isinstance(message, str):
                    continue  # binary messages are ignored, as v1 does
                try:
                    envelope = json.loads(message)
                    if not isinstance(envelope, dict):
                        raise ValueError("not an object")
                except ValueError as exc:
                    await sub.ws.close(1000, f"failed to unmarshal subscriber sourced message: {exc}")
                    return
                if envelope.get("type") != "options_update":
                    continue
                payload = envelope.get("payload") or {}
                try:
                    new_filter = build_filter(
                        list(payload.get("wantedCollections") or ()),
                        list(payload.get("wantedDids") or ()),
                        payload.get("maxMessageSizeBytes"),
                    )
                except (InvalidOptions, AttributeError, TypeError) as exc:
                    await sub.ws.close(1000, f"failed to parse subscriber options: {exc}")
                    return
                with self._cond:
                    sub.filter = new_filter
                sub.hello.set()
        except ConnectionClosed:
            pass
        finally:
            sub.queue.put_nowait(_CLOSED)
