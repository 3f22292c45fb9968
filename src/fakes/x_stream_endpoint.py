"""The fake X's filtered stream: ``GET /2/tweets/search/stream`` (one chunked response that never ends, written by
``x_stream``), ``DELETE /2/connections/all``, and the controls that make a stream unkind.

- one connection per app (``max_connections``): another one gets 429 ``TooManyConnections``; no rules: 409
  ``RuleConfigurationIssue``; ``fail_next_connects`` answers the next connects with any error;
- each post goes to each open stream once, listing every rule it matches, rendered with the stream's fields;
- ``drop_stream`` (mid-line, FIN or RST), ``operational_disconnect`` (X's in-stream ``errors`` message, then
  the end), ``stall``/``silence`` (no data, no keep-alives), ``batch`` (messages leave together), raw writes;
- a client that vanished still counts against the limit for ``hold_dead_connections`` seconds, as at X; one
  that does not read for ``slow_reader_timeout`` is cut off.
"""

from __future__ import annotations

import contextlib
import random
import zlib
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .server import FakeHandler, FakeHTTPService
from .x_errors import (
    NO_RULES_DETAIL,
    TOO_MANY_CONNECTIONS_DETAIL,
    Answer,
    connection_exception,
    operational_disconnect_message,
)
from .x_http import send_answer
from .x_posts import next_snowflake
from .x_render import Fields, Registry, build_includes, parse_fields, render_post
from .x_stream import Outgoing, StreamSession, encode_line
from .x_usage import UsageMeter


class XStreamEndpoint(FakeHTTPService):
    """The stream endpoint and stream controls of ``FakeX`` (its settings and counters live there)."""

    _rules: dict[str, dict[str, Any]]
    _registry: Registry
    _rng: random.Random
    _failures: deque[Answer]
    _batch_depth: int
    _batched: list[_Batched]
    _counts: dict[str, int]
    _delivered: list[dict[str, Any]]
    problems: str
    max_connections: int
    keepalive_interval: float
    slow_reader_timeout: float
    hold_dead_connections: float
    gzip_stream: bool
    usage: UsageMeter

    def _end_streams(self) -> None:
        """Open streams are cut at once (no terminating chunk); idle connections are closed by the base."""
        for session in self._streams:
            session.control = "stop"
            session.wake()

    def send_message(self, message: Mapping[str, Any]) -> None:
        """Write any JSON object as a stream line (unknown message types, numeric rule ids, duplicates...)."""
        with self._cond:
            for session in self._streams:
                self._queue(session, Outgoing(encode_line(dict(message)), dict(message)))
            self._changed()

    def send_raw(self, data: bytes) -> None:
        """Write raw bytes into the open streams (still split into chunks at random)."""
        with self._cond:
            for session in self._streams:
                self._queue(session, Outgoing(data))
            self._changed()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Messages published inside go out together at the end, in as few chunks as the splitter decides."""
        with self._cond:
            self._batch_depth += 1
        try:
            yield
        finally:
            with self._cond:
                self._batch_depth -= 1
                if self._batch_depth == 0:
                    batched, self._batched = self._batched, []
                    for item in batched:
                        item.session.enqueue(item.outgoing)
                self._changed()

    def drop_stream(self, mid_line: bool = True, reset: bool = False) -> None:
        """Abruptly close the open streams: no terminating chunk (FIN), or a TCP RST with ``reset``.

        With ``mid_line`` the first queued message (or a made-up one) is cut in half first. Queued messages
        are lost (their posts stay searchable)."""
        with self._cond:
            for session in self._streams:
                if session.dead:
                    continue
                held = [item for item in self._batched if item.session is session]
                self._batched = [item for item in self._batched if item.session is not session]
                session.pending += [item.outgoing for item in held]
                if mid_line and not session.pending and not session.stalled:
                    filler = {
                        "data": {
                            "id": next_snowflake(),
                            "text": "cut off \u2014 \u00e9t\u00e9 \U0001f600",
                            "edit_history_tweet_ids": [],
                        },
                        "matching_rules": [],
                    }
                    session.pending.append(Outgoing(encode_line(filler), filler))
                session.control = "reset" if reset else ("drop-mid-line" if mid_line else "drop")
                session.wake()
            self._changed()

    def operational_disconnect(self, disconnect_type: str = "OperationalDisconnect") -> None:
        """Send X's in-stream ``errors`` message (after anything already queued), then end the response."""
        message = operational_disconnect_message(disconnect_type, self.problems)
        with self._cond:
            for session in self._streams:
                if session.dead:
                    continue
                session.disconnect_message = b"".join(item.line for item in session.pending) + encode_line(message)
                session.pending = []
                session.control = f"disconnect:{disconnect_type}"
                session.wake()
            self._changed()

    def stall(self) -> None:
        """The open streams go silent: no data, no keep-alives (posts meant for them are lost) until
        ``drop_stream``/``stop``; the connection stays open and keeps counting as the app's connection.

        Returns once every stream's writer has noticed, so no byte is written after this returns."""
        with self._cond:
            for session in self._streams:
                session.stalled = True
                session.pending = []
                session.wake()
            self._changed()
            self._wait_until_stalled()

    def silence(self) -> None:
        """Every stream, open now or opened later, goes silent as with ``stall`` until ``resume()``.

        Returns once every open stream's writer has noticed."""
        super().silence()
        with self._cond:
            self._wait_until_stalled()

    def _on_silence(self, silent: bool) -> None:
        for session in self._streams:
            session.stalled = silent
            if silent:
                session.pending = []
            else:
                session.stall_seen = False
            session.wake()

    def _wait_until_stalled(self) -> None:
        self._cond.wait_for(lambda: all(s.stall_seen or s.dead for s in self._streams), timeout=5.0)

    def fail_next_connects(self, *responses: Answer) -> None:
        """Answer the next stream connects with these ``(status, body, headers)`` (see ``x_401`` & co.);
        body may be a dict (JSON), str/bytes (sent as is) or None. Rate-limit headers are added if absent."""
        with self._cond:
            self._failures.extend(responses)
            self._changed()

    def _queue(self, session: StreamSession, outgoing: Outgoing) -> None:
        if self._batch_depth:
            self._batched.append(_Batched(session, outgoing))
        else:
            session.enqueue(outgoing)

    def _stream_message(self, post: dict[str, Any], fields: Fields, matching: list[dict[str, Any]]) -> dict[str, Any]:
        message: dict[str, Any] = {"data": render_post(post, fields)}
        includes = build_includes([post], fields, self._registry)
        if includes:
            message["includes"] = includes
        message["matching_rules"] = matching
        return message

    def _on_written(self, items: list[Outgoing], keepalive: bool) -> None:
        with self._cond:
            if keepalive:
                self._counts["keepalives_sent"] += 1
            for item in items:
                if item.message is not None:
                    self._delivered.append(item.message)
                    if "data" in item.message:
                        self._counts["messages_sent"] += 1
                        self.usage.count(1)
            self._changed()

    # ---- HTTP

    def _stream(
        self, handler: FakeHandler, query: Mapping[str, list[str]], rate_headers: dict[str, str], accept_encoding: str
    ) -> None:
        fields = parse_fields(query)
        gzipped = self.gzip_stream and "gzip" in accept_encoding.lower()
        with self._cond:
            if not self._rules:
                answer: Answer | None = (
                    409,
                    connection_exception("RuleConfigurationIssue", NO_RULES_DETAIL, self.problems),
                    {},
                )
            # A stream X itself is ending (drop, disconnect) no longer counts: X knows it closed it. A client
            # that vanished still counts until noticed (see ``hold_dead_connections``).
            elif self._open_connections() >= self.max_connections:
                body = connection_exception("TooManyConnections", TOO_MANY_CONNECTIONS_DETAIL, self.problems)
                answer = (429, body, {})
            else:
                answer = None
                session = StreamSession(
                    sock=handler.connection,
                    write=handler.wfile.write,
                    fields=fields,
                    rng=random.Random(self._rng.random()),
                    lock=self._cond,
                    keepalive_interval=self.keepalive_interval,
                    on_written=self._on_written,
                    compressor=zlib.compressobj(wbits=31) if gzipped else None,
                    stalled=self.silent,
                )
                self._stream_opened(session)
                self._counts["max_concurrent_streams"] = max(
                    self._counts["max_concurrent_streams"], self._open_connections()
                )
        if answer is not None:
            send_answer(handler, answer[0], answer[1], rate_headers)
            return
        handler.close_connection = True
        try:
            handler.connection.settimeout(self.slow_reader_timeout)
            handler.send_response(200)
            handler.send_header("content-type", "application/json; charset=utf-8")
            handler.send_header("transfer-encoding", "chunked")
            if gzipped:
                handler.send_header("content-encoding", "gzip")
            handler.send_header("cache-control", "no-cache, no-store, max-age=0")
            for name, value in rate_headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            ended_by = session.run()
        except OSError:
            ended_by = "client-gone"
        finally:
            session.close()
            with self._cond:
                session.dead = True
                session.pending = []
                self._changed()
        if ended_by == "client-gone" and self.hold_dead_connections > 0:
            self._stopping.wait(self.hold_dead_connections)
        self._stream_closed(session)

    def _open_connections(self) -> int:
        """Streams that count against the connection limit (and ``max_concurrent_streams``): those X is
        ending (drop, disconnect) no longer do, even while their handler thread is still winding down."""
        return sum(1 for s in self._streams if s.control is None or s.control == "kill")

    def _kill_connections(self) -> Answer:
        with self._cond:
            live = [s for s in self._streams if not s.dead]
            for session in self._streams:
                session.control = "kill"
                session.dead = True
                session.wake()
            self._changed()
        return 200, {"data": {"successful_kills": len(live), "failed_kills": 0}}, {}


@dataclass
class _Batched:
    session: StreamSession
    outgoing: Outgoing
