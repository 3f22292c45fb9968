"""A fake Mastodon instance: a real HTTP/1.1 server on 127.0.0.1 with the streaming and timeline APIs.

What it copies from the real thing (mastodon/mastodon ``streaming/index.js``, ``errors.js``, ``utils.js``,
``FanOutOnWriteService``, the timeline controllers and ``OEmbedSerializer``; docs.joinmastodon.org):

- Streaming (``GET /api/v1/streaming/public[/local|/remote]``, ``/hashtag[/local]?tag=``): ``200`` with
  ``Content-Type: text/event-stream``, ``Cache-Control: no-store``, ``Transfer-Encoding: chunked``. The
  first chunk is ``:)\\n``; a ``:thump\\n`` heartbeat chunk follows every ``heartbeat_interval`` seconds
  (15 on real servers). Each event is two writes, hence two chunks, exactly as Node writes them:
  ``event: update\\n`` then ``data: <JSON.stringify(status)>\\n\\n`` (``delete`` carries the bare id,
  ``status.update`` an edited status). With ``split_chunks`` some data writes are further cut into
  several chunks at arbitrary byte offsets (inside the JSON, inside a UTF-8 character, between the two
  final newlines), which is what TCP and proxies do to a real stream. ``sse_style="generic"`` frames the
  same events as another server may while still following the SSE specification: CRLF line endings,
  ``data:`` without the space, a status spread over several ``data:`` lines (indented JSON; the lines
  join with ``\n``), an ``id:`` line, ``: ping`` heartbeats.
- Authentication as in 4.2+: no ``Authorization: Bearer`` (nor ``access_token`` parameter) answers
  ``401 {"error":"Missing access token"}``, a wrong one ``401 {"error":"Invalid access token"}``; an
  unknown stream ``400 {"error":"Unknown channel requested"}`` (checked before the token), a hashtag
  stream without ``tag`` ``400 {"error":"Missing tag name parameter"}``.
- Who gets what, as ``FanOutOnWriteService`` decides: only ``public`` statuses that are not reblogs are
  streamed; replies to *another* account are left out of the public streams (but reach hashtag
  streams); hashtag streams match on the normalised tag (NFKC, lower case, ASCII folding, letters,
  digits and ``_`` only). Deletes go where the status went.
- ``GET /api/v1/timelines/public`` and ``/api/v1/timelines/tag/:hashtag``: ``limit`` (default 20, at
  most 40), ``max_id``, ``since_id`` (the *newest* ``limit`` statuses above it), ``min_id`` (the
  *oldest* ``limit`` statuses above it), ``local``, ``remote``, ``only_media``; newest first; a
  ``Link`` header (``rel="next"``/``rel="prev"``) unless empty; an unknown tag is an empty list. Bodies
  are Rails JSON: ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as ``\\u003c`` and so on. No token is
  needed unless ``timelines_require_auth`` (then 401, as on servers that require sign-in).
- Rate limits as for unauthenticated clients: ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (ISO 8601,
  the end of the window) on every REST answer, ``rate_limit`` requests per ``rate_window`` seconds (300 per
  5 minutes), then ``429 {"error":"Too many requests"}`` with the same headers until the reset.
  :meth:`federate` stores another server's status under a local id (same ``uri``), as federation does.
- ``GET /api/oembed?url=``: the documented rich answer with an ``<iframe ... class="mastodon-embed">``
  and the ``embed.js`` script (``oembed_style="blockquote"`` gives the 4.3+ blockquote instead); only
  this server's own public or unlisted statuses, otherwise ``404 {"error":"Record not found"}``.

Knobs for unkind tests: :attr:`silent` (headers, then nothing, not even heartbeats), :meth:`drop_all`
(cut streams without the terminating chunk, or end them cleanly), :meth:`drop_every`,
:meth:`fail_requests` (the next N requests answer an HTTP error).

Not modelled: the WebSocket transport, user/list/direct streams (accepted, never fed), OAuth scopes,
keyword filters (``filtered``), ``any[]``/``all[]``/``none[]`` tag parameters, Rails' per-user fields.

The pieces, each in a module of its own (their public names are re-exported here): the streaming endpoint in
``mastodon_streaming``, the timelines, statuses and oEmbed endpoints with the rate limit in ``mastodon_rest``,
who gets which status in ``mastodon_fan_out``, the Status builder and ids in ``mastodon_statuses``, the JSON
dialects in ``mastodon_http``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from .mastodon_fan_out import KnownStatus, StatusStream, normalize_hashtag
from .mastodon_http import js_dumps, rails_dumps, send_body, send_json
from .mastodon_rest import DEFAULT_LIMIT, MAX_LIMIT, MastodonREST
from .mastodon_statuses import hashtag_link, make_status, snowflake_id
from .mastodon_streaming import HEARTBEAT_INTERVAL, STREAM_CHANNELS, MastodonStreaming
from .server import FakeHandler

__all__ = [
    "DEFAULT_LIMIT",
    "HEARTBEAT_INTERVAL",
    "MAX_LIMIT",
    "STREAM_CHANNELS",
    "FakeMastodon",
    "KnownStatus",
    "RecordedRequest",
    "StatusStream",
    "hashtag_link",
    "js_dumps",
    "make_status",
    "normalize_hashtag",
    "rails_dumps",
    "snowflake_id",
]

_REASONS = {
    400: "Bad request",
    401: "The access token is invalid",
    403: "This action is not allowed",
    404: "Record not found",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


class RecordedRequest(NamedTuple):
    """One request the fake received (``method, path, params, headers = request`` works too)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class _Handler(FakeHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Mastodon"
    sys_version = ""
    timeout = 60

    def version_string(self) -> str:
        return self.server_version


class FakeMastodon(MastodonStreaming, MastodonREST):
    """A Mastodon instance on ``http://127.0.0.1:PORT``, serving from background threads.

    Statuses' ``url``/``uri`` and oEmbed answers use ``public_url`` (default: ``base_url``), so a test can
    present the server as e.g. ``https://mastodon.social`` while talking to 127.0.0.1. The endpoints come from
    :class:`mastodon_streaming.MastodonStreaming` and :class:`mastodon_rest.MastodonREST`.
    """

    handler_class = _Handler

    def __init__(
        self,
        *,
        access_token: str = "test-token",
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        silent: bool = False,
        public_url: str | None = None,
        split_chunks: float = 0.3,
        seed: int = 0,
        timelines_require_auth: bool = False,
        rate_limit: int = 300,
        rate_window: float = 300.0,
        oembed_style: Literal["iframe", "blockquote"] = "iframe",
        sse_style: Literal["mastodon", "generic"] = "mastodon",
    ) -> None:
        super().__init__(silent=silent)
        self.access_token = access_token
        self.heartbeat_interval = heartbeat_interval
        self.split_chunks = split_chunks
        self.sse_style = sse_style
        self.timelines_require_auth = timelines_require_auth
        self.rate_limit = rate_limit
        #: Seconds of one rate limit window (Mastodon: 5 minutes); shorter makes tests of spacing fast.
        self.rate_window = rate_window
        self.oembed_style = oembed_style
        self._public_url = public_url.rstrip("/") if public_url else None
        self._seed = seed
        self._statuses: dict[str, KnownStatus] = {}
        self._drop_every: int | None = None
        self._failures: list[tuple[str, int, dict[str, Any]]] = []
        self._window_start = time.time()
        self._window_used = 0
        #: Every request, in arrival order.
        self.requests: list[RecordedRequest] = []
        #: Events (update, delete, status.update) written to streams, over all streams.
        self.events_sent = 0

    # -- lifecycle (start, stop, ``with``, ``base_url``, silence: FakeHTTPService) ---------------------
    @property
    def public_url(self) -> str:
        """The URL the server calls itself in statuses and oEmbed answers."""
        return self._public_url or self.base_url

    def _end_streams(self) -> None:
        for stream in self._streams:
            stream.items.put(("drop", False))

    def drop_every(self, n: int | None) -> None:
        """Cut each stream (without the terminating chunk) right after it has been sent ``n`` events."""
        with self._cond:
            self._drop_every = n

    def drop_all(self, *, graceful: bool = False) -> None:
        """Cut every open stream: abruptly (socket shut down mid-body, the default), or ``graceful``ly
        (the terminating ``0`` chunk, as when the server process ends the response). Returns once gone."""
        with self._cond:
            streams = list(self._streams)
            for stream in streams:
                stream.items.put(("drop", graceful))
        self.wait_for(lambda: all(s not in self._streams for s in streams), 10)

    def fail_requests(self, status: int, *, count: int = 1, path_prefix: str = "/", error: str | None = None) -> None:
        """Answer the next ``count`` requests under ``path_prefix`` with ``status`` and
        ``{"error": error}`` (a generic message by default)."""
        body = {"error": error or _REASONS.get(status, "Something went wrong")}
        with self._cond:
            self._failures.extend([(path_prefix, status, body)] * count)

    def reset_rate_limit(self) -> None:
        """Start a new rate limit window now (as if its reset time had come)."""
        with self._cond:
            self._window_start, self._window_used = time.time(), 0

    # -- content ------------------------------------------------------------------------------------
    def make_status(self, content_html: str, *, id: str | None = None, **fields: Any) -> dict[str, Any]:
        """:func:`make_status` on this server (``base_url`` = :attr:`public_url`), with a fresh id."""
        fields.setdefault("base_url", self.public_url)
        return make_status(id or snowflake_id(), content_html, **fields)

    def publish(self, status: Mapping[str, Any]) -> None:
        """Store ``status`` (timelines, oEmbed) and stream ``event: update`` where Mastodon would."""
        self._publish(dict(status), js_dumps(status), "update")

    def federate(self, status: Mapping[str, Any]) -> dict[str, Any]:
        """Publish a copy of another server's ``status`` as this server knows it: its own local ``id``, the
        same ``uri`` and ``url`` (what a status looks like on every server it federated to). Returns the copy."""
        copy = {**status, "id": snowflake_id()}
        self.publish(copy)
        return copy

    def post(self, content_html: str, **fields: Any) -> str:
        """Publish a fresh status of this server (:meth:`make_status`'s ``fields``); returns its id."""
        status = self.make_status(content_html, **fields)
        self.publish(status)
        return str(status["id"])

    def publish_raw(self, text: str) -> None:
        """Like :meth:`publish`, streaming ``text`` byte for byte (for captured samples)."""
        self._publish(json.loads(text), text, "update")

    def edit(self, status: Mapping[str, Any]) -> None:
        """Replace a stored status and stream ``event: status.update``."""
        self._publish(dict(status), js_dumps(status), "status.update")

    def delete(self, status_id: str) -> None:
        """Forget a status and stream ``event: delete`` / ``data: <id>`` where it had gone (every public
        stream when the status is unknown)."""
        with self._cond:
            known = self._statuses.pop(str(status_id), None)
            for stream in self._streams:
                if stream.gets_delete_of(known) and not self._silent:
                    stream.items.put(("event", ("delete", str(status_id).encode())))

    def _publish(self, status: dict[str, Any], text: str, event: str) -> None:
        known = KnownStatus(status, text)
        with self._cond:
            self._statuses[str(status["id"])] = known
            if self._silent:
                return
            for stream in self._streams:
                if stream.wants(known):
                    stream.items.put(("event", (event, text.encode())))

    @property
    def statuses(self) -> list[dict[str, Any]]:
        """The stored statuses, newest first."""
        with self._cond:
            return [k.status for k in sorted(self._statuses.values(), key=lambda k: k.id, reverse=True)]

    def _state(self) -> dict[str, object]:
        return {**super()._state(), "requests": len(self.requests), "events_sent": self.events_sent}

    # -- HTTP ---------------------------------------------------------------------------------------
    def _dispatch(self, h: FakeHandler) -> None:
        if h.command != "GET":
            h.send_error(501, f"Unsupported method ({h.command!r})")
            return
        parts = urlsplit(h.path)
        path = parts.path
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self._cond:
            self.requests.append(RecordedRequest("GET", path, params, headers))
            failure = next((f for f in self._failures if path.startswith(f[0])), None)
            if failure is not None:
                self._failures.remove(failure)
            self._changed()
        if failure is not None:
            send_json(h, failure[1], failure[2], rails=False)
            return
        if path == "/api/v1/streaming/health":
            send_body(h, 200, b"OK", "text/plain")
        elif path.startswith("/api/v1/streaming"):
            self._stream(h, path, params, headers)
        elif path == "/api/v1/timelines/public":
            self._timeline(h, path, params, headers, None)
        elif path.startswith("/api/v1/timelines/tag/"):
            self._timeline(h, path, params, headers, unquote(path[len("/api/v1/timelines/tag/") :]))
        elif path == "/api/oembed":
            self._oembed(h, params, headers)
        elif re.fullmatch(r"/api/v1/statuses/\d+", path):
            self._status(h, path, params, headers)
        else:
            send_json(h, 404, {"error": "Record not found"})
