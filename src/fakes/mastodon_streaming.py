"""The fake Mastodon's streaming endpoint (``GET /api/v1/streaming/...``): server-sent events over HTTP/1.1,
written in chunks exactly as Mastodon's Node streaming server writes them.

``200`` with ``Content-Type: text/event-stream``, ``Cache-Control: no-store``, ``Transfer-Encoding: chunked``.
The first chunk is ``:)\\n``; a ``:thump\\n`` heartbeat chunk follows every ``heartbeat_interval`` seconds (15
on real servers). Each event is two writes, hence two chunks: ``event: update\\n`` then
``data: <JSON.stringify(status)>\\n\\n``. With ``split_chunks`` some data writes are further cut into several
chunks at arbitrary byte offsets, which is what TCP and proxies do to a real stream. ``sse_style="generic"``
frames the same events as another server may while still following the SSE specification (CRLF line ends,
``data:`` without the space, a status over several ``data:`` lines, an ``id:`` line, ``: ping`` heartbeats).

Errors are the streaming server's (``errors.js``): an unknown stream ``400 Unknown channel requested`` (checked
before the token), no token ``401 Missing access token``, a wrong one ``401 Invalid access token``, a hashtag
stream without ``tag`` ``400 Missing tag name parameter``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import random
import re
import select
import socket
import time

from .mastodon_fan_out import StatusStream, normalize_hashtag
from .mastodon_http import send_json, truthy
from .server import FakeHandler, FakeHTTPService

HEARTBEAT_INTERVAL = 15.0
STREAM_CHANNELS = {
    "/api/v1/streaming/public": "public",
    "/api/v1/streaming/public/local": "public:local",
    "/api/v1/streaming/public/remote": "public:remote",
    "/api/v1/streaming/hashtag": "hashtag",
    "/api/v1/streaming/hashtag/local": "hashtag:local",
    "/api/v1/streaming/user": "user",
    "/api/v1/streaming/user/notification": "user:notification",
    "/api/v1/streaming/direct": "direct",
    "/api/v1/streaming/list": "list",
}


class MastodonStreaming(FakeHTTPService):
    """The streaming endpoint of ``FakeMastodon`` (its settings and counters live there)."""

    access_token: str
    heartbeat_interval: float
    split_chunks: float
    sse_style: str
    events_sent: int
    _seed: int
    _drop_every: int | None

    def _stream(self, h: FakeHandler, path: str, params: dict[str, str], headers: dict[str, str]) -> None:
        channel = STREAM_CHANNELS.get(path)
        if channel is None:
            send_json(h, 400, {"error": "Unknown channel requested"}, rails=False)
            return
        authorization = headers.get("authorization")
        access_token = params.get("access_token") or headers.get("sec-websocket-protocol")
        if not authorization and not access_token:
            send_json(h, 401, {"error": "Missing access token"}, rails=False)
            return
        token = re.sub(r"^Bearer ", "", authorization) if authorization else access_token
        if token != self.access_token:
            send_json(h, 401, {"error": "Invalid access token"}, rails=False)
            return
        if channel.startswith("hashtag") and not params.get("tag"):
            send_json(h, 400, {"error": "Missing tag name parameter"}, rails=False)
            return
        if channel == "list" and not params.get("list"):
            send_json(h, 400, {"error": "Missing list name parameter"}, rails=False)
            return
        with self._cond:
            stream = StatusStream(
                channel=channel,
                only_media=truthy(params.get("only_media")) and channel.startswith("public"),
                tag=normalize_hashtag(params.get("tag", "")),
                rng=random.Random(self._seed * 1_000_003 + self._streams_opened),
            )
            self._stream_opened(stream)
        try:
            self._serve_stream(h, stream)
        except OSError:
            h.close_connection = True
        finally:
            self._stream_closed(stream)

    def _serve_stream(self, h: FakeHandler, stream: StatusStream) -> None:
        sock = h.connection
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-store")
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Access-Control-Allow-Origin", "*")
        h.send_header("Connection", "keep-alive")
        h.end_headers()

        def chunk(data: bytes) -> None:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        generic = self.sse_style == "generic"
        newline = b"\r\n" if generic else b"\n"
        if not self._silent:
            chunk(b":)" + newline)
        next_beat = time.monotonic() + self.heartbeat_interval
        while True:
            if _peer_closed(sock):
                h.close_connection = True
                return
            wait = min(0.02, max(next_beat - time.monotonic(), 0.0))
            try:
                kind, payload = stream.items.get(timeout=wait)
            except queue.Empty:
                if time.monotonic() >= next_beat:
                    if not self._silent:
                        chunk(b": ping\r\n" if generic else b":thump\n")
                    next_beat = time.monotonic() + self.heartbeat_interval
                continue
            if kind == "drop":
                if payload:  # graceful: end the chunked body like res.end()
                    h.wfile.write(b"0\r\n\r\n")
                else:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                h.close_connection = True
                return
            if self._silent:
                continue
            event, data = payload
            if generic:
                chunk(b"id: %d\r\nevent:%s\r\n" % (self.events_sent + 1, event.encode()))
                lines = [data]  # delete: the bare id
                if event != "delete":
                    lines = json.dumps(json.loads(data), ensure_ascii=False, indent=1).encode().split(b"\n")
                body = b"".join(b"data:%s\r\n" % line for line in lines) + b"\r\n"
            else:
                chunk(b"event: %s\n" % event.encode())
                body = b"data: %s\n\n" % data
            for piece in self._pieces(body, stream.rng):
                chunk(piece)
            with self._cond:
                stream.sent += 1
                self.events_sent += 1
                limit = self._drop_every
                self._changed()
            if limit is not None and stream.sent >= limit:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                h.close_connection = True
                return

    def _pieces(self, data: bytes, rng: random.Random) -> list[bytes]:
        """One write, or (with probability ``split_chunks``) two to four pieces cut anywhere."""
        if len(data) < 4 or rng.random() >= self.split_chunks:
            return [data]
        cuts = set(rng.sample(range(1, len(data)), rng.randint(1, 3)))
        if rng.random() < 0.5:
            cuts.add(len(data) - 1)  # between the two final newlines: the nastiest place
        bounds = [0, *sorted(cuts), len(data)]
        return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def _peer_closed(sock: socket.socket) -> bool:
    """True when the client has closed its side (a readable socket with nothing to read)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
