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
import threading
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .server import FakeHandler, FakeHTTPService

__all__ = [
    "FakeMastodon",
    "RecordedRequest",
    "hashtag_link",
    "js_dumps",
    "make_status",
    "normalize_hashtag",
    "rails_dumps",
    "snowflake_id",
]

HEARTBEAT_INTERVAL = 15.0
DEFAULT_LIMIT = 20
MAX_LIMIT = 40
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
_FALSE_VALUES = {"0", "f", "F", "false", "FALSE", "off", "OFF"}


# ---------------------------------------------------------------------------------------------------------
# Encodings and helpers
# ---------------------------------------------------------------------------------------------------------
def _js_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, Mapping):
        return {key: _js_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_js_value(item) for item in value]
    return value


def js_dumps(value: Any) -> str:
    """``JSON.stringify``: compact, non-ASCII raw (U+2028 too), integral floats without ``.0``."""
    return json.dumps(_js_value(value), ensure_ascii=False, separators=(",", ":"))


_RAILS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_RAILS_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def rails_dumps(value: Any) -> str:
    """Rails' JSON for API answers: compact, with ``<``, ``>``, ``&``, U+2028/9 escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _RAILS_ESCAPE_RE.sub(lambda m: _RAILS_ESCAPES[m.group(0)], text)


_FOLD_SPECIAL = str.maketrans(
    {
        "Ð": "D",
        "ð": "d",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "\u0131": "i",  # dotless i
        "ĸ": "k",
        "Ŀ": "L",
        "ŀ": "l",
        "Ł": "L",
        "ł": "l",
        "ŉ": "n",
        "Ŋ": "N",
        "ŋ": "n",
        "Ø": "O",
        "ø": "o",
        "\u017f": "s",  # long s
        "Ŧ": "T",
        "ŧ": "t",
    }
)


def _fold_to_ascii(text: str) -> str:
    """Latin-1 and Latin Extended-A letters to their ASCII base letter (Mastodon's ``foldToASCII``)."""
    out = []
    for char in text.translate(_FOLD_SPECIAL):
        if "\u00c0" <= char <= "\u017f":
            base = unicodedata.normalize("NFKD", char)[0]
            out.append(base if base.isascii() else char)
        else:
            out.append(char)
    return "".join(out)


def normalize_hashtag(name: str) -> str:
    """The streaming server's ``normalizeHashtag``: NFKC, lower case, ASCII folding, then only letters,
    digits, ``_``, U+00B7 and U+200C are kept."""
    folded = _fold_to_ascii(unicodedata.normalize("NFKC", name).lower())
    return "".join(c for c in folded if c in "_\u00b7\u200c" or unicodedata.category(c)[0] in ("L", "N"))


_snowflake_lock = threading.Lock()
_snowflake_last = 0


def snowflake_id(when: datetime | None = None) -> str:
    """A Mastodon-style status id: milliseconds since the epoch shifted left 16 bits plus a sequence.

    Ids made without ``when`` strictly increase, so newer statuses sort after older ones.
    """
    global _snowflake_last
    moment = when or datetime.now(UTC)
    value = int(moment.timestamp() * 1000) << 16
    with _snowflake_lock:
        if when is None:
            value = max(value, _snowflake_last + 1)
            _snowflake_last = value
    return str(value)


def _created_at_for(status_id: str) -> str:
    if status_id.isdigit() and int(status_id) > 1 << 40:
        moment = datetime.fromtimestamp((int(status_id) >> 16) / 1000, tz=UTC)
    else:
        moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def hashtag_link(tag: str, base_url: str) -> str:
    """A hashtag as Mastodon renders it in ``content``."""
    return f'<a href="{base_url}/tags/{quote(tag)}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>'


_MEDIA_EXTENSIONS = {"image": "png", "video": "mp4", "gifv": "mp4", "audio": "mp3"}


def _attachment(index: int, kind: str, base_url: str, status_id: str, description: str | None = None) -> dict[str, Any]:
    media_id = f"{status_id[:12] or '1'}{index:04d}"
    ext = _MEDIA_EXTENSIONS.get(kind, "bin")
    meta: dict[str, Any] = {
        "original": {"width": 640, "height": 480, "size": "640x480", "aspect": 1.3333333333333333},
        "small": {"width": 400, "height": 300, "size": "400x300", "aspect": 1.3333333333333333},
    }
    return {
        "id": media_id,
        "type": kind,
        "url": f"{base_url}/system/media_attachments/files/{media_id}/original/file.{ext}",
        "preview_url": f"{base_url}/system/media_attachments/files/{media_id}/small/file.png",
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": description,
        "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
    }


def make_status(
    id: str,
    content_html: str,
    *,
    acct: str = "alice",
    tags: Sequence[str] = (),
    language: str | None = "en",
    in_reply_to_id: str | None = None,
    in_reply_to_account_id: str | None = None,
    reblog: Mapping[str, Any] | None = None,
    sensitive: bool = False,
    spoiler_text: str = "",
    url: str | None = None,
    media: Sequence[str] = (),
    descriptions: Sequence[str | None] = (),
    mentions: Sequence[str] = (),
    visibility: str = "public",
    base_url: str | None = None,
    created_at: str | None = None,
    display_name: str | None = None,
    account_id: str | None = None,
    card: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A full Status entity, keys in the order the API sends them (see the docs' examples).

    ``acct`` is ``user`` (local to ``base_url``) or ``user@domain`` (remote: its ``url``/``uri`` are on that
    domain). ``tags`` are names; ``media`` attachment types (``image``, ``video``, ``gifv``, ``audio``) with their
    ``descriptions`` (alt texts; None: none written);
    ``mentions`` accts. ``in_reply_to_account_id`` defaults to another account (a reply to someone
    else); pass the author's ``account_id`` for a self-reply. ``created_at`` defaults to the snowflake's time.
    """
    base = (base_url or "https://mastodon.example").rstrip("/")
    username, _, domain = acct.partition("@")
    home = f"https://{domain}" if domain else base
    account_key = account_id or str(100_000 + sum(map(ord, acct)) * 7)
    status_url = url if url is not None else f"{home}/@{username}/{id}"
    reply_account = None
    if in_reply_to_id is not None:
        reply_account = in_reply_to_account_id or "109999999999999999"
    status: dict[str, Any] = {
        "id": id,
        "created_at": created_at or _created_at_for(id),
        "in_reply_to_id": in_reply_to_id,
        "in_reply_to_account_id": reply_account,
        "sensitive": sensitive,
        "spoiler_text": spoiler_text,
        "visibility": visibility,
        "language": language,
        "uri": f"{home}/users/{username}/statuses/{id}",
        "url": status_url,
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": "" if reblog is not None else content_html,
        "reblog": dict(reblog) if reblog is not None else None,
        "application": {"name": "Web", "website": None} if not domain else None,
        "account": {
            "id": account_key,
            "username": username,
            "acct": acct,
            "display_name": display_name if display_name is not None else username.capitalize(),
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": "2022-11-01T00:00:00.000Z",
            "note": "<p>A test account.</p>",
            "url": f"{home}/@{username}",
            "avatar": f"{base}/avatars/original/missing.png",
            "avatar_static": f"{base}/avatars/original/missing.png",
            "header": f"{base}/headers/original/missing.png",
            "header_static": f"{base}/headers/original/missing.png",
            "followers_count": 10,
            "following_count": 10,
            "statuses_count": 100,
            "last_status_at": (created_at or _created_at_for(id))[:10],
            "emojis": [],
            "fields": [],
        },
        "media_attachments": [
            _attachment(i, kind, base, id, descriptions[i] if i < len(descriptions) else None)
            for i, kind in enumerate(media)
        ],
        "mentions": [
            {
                "id": str(200_000 + sum(map(ord, m))),
                "username": m.partition("@")[0],
                "url": f"https://{m.partition('@')[2]}/@{m.partition('@')[0]}" if "@" in m else f"{base}/@{m}",
                "acct": m,
            }
            for m in mentions
        ],
        "tags": [{"name": name, "url": f"{base}/tags/{quote(name.lower())}"} for name in tags],
        "emojis": [],
        "card": dict(card) if card is not None else None,
        "poll": None,
    }
    if status["application"] is None:
        del status["application"]
    return status


class RecordedRequest(NamedTuple):
    """One request the fake received (``method, path, params, headers = request`` works too)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


# ---------------------------------------------------------------------------------------------------------
# Server internals
# ---------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Known:
    """A status the server knows, with what routing looks at."""

    status: dict[str, Any]
    text: str  # the exact streamed JSON

    @property
    def id(self) -> int:
        return int(self.status["id"]) if str(self.status.get("id", "")).isdigit() else 0

    @property
    def local(self) -> bool:
        return "@" not in str((self.status.get("account") or {}).get("acct") or "")

    @property
    def public(self) -> bool:
        return (self.status.get("visibility") or "public") == "public"

    @property
    def reblog(self) -> bool:
        return self.status.get("reblog") is not None

    @property
    def reply_to_other(self) -> bool:
        if self.status.get("in_reply_to_id") is None:
            return False
        author = str((self.status.get("account") or {}).get("id") or "")
        return str(self.status.get("in_reply_to_account_id") or "") != author

    @property
    def media(self) -> bool:
        return bool(self.status.get("media_attachments"))

    @property
    def tags(self) -> set[str]:
        return {normalize_hashtag(str(t.get("name") or "")) for t in self.status.get("tags") or ()}


@dataclass(eq=False)
class _Stream:
    channel: str
    only_media: bool
    tag: str
    rng: random.Random
    items: queue.Queue[tuple[str, Any]] = field(default_factory=queue.Queue)
    sent: int = 0

    def wants(self, known: _Known) -> bool:
        if not known.public or known.reblog:
            return False
        if self.channel.startswith("public"):
            if known.reply_to_other:
                return False
            if self.channel == "public:local" and not known.local:
                return False
            if self.channel == "public:remote" and known.local:
                return False
            return known.media or not self.only_media
        if self.channel.startswith("hashtag"):
            if self.channel == "hashtag:local" and not known.local:
                return False
            return self.tag in known.tags
        return False


class _Handler(FakeHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Mastodon"
    sys_version = ""
    timeout = 60

    def version_string(self) -> str:
        return self.server_version


class FakeMastodon(FakeHTTPService):
    """A Mastodon instance on ``http://127.0.0.1:PORT``, serving from background threads.

    Statuses' ``url``/``uri`` and oEmbed answers use ``public_url`` (default: ``base_url``), so a test can
    present the server as e.g. ``https://mastodon.social`` while talking to 127.0.0.1.
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
        self._statuses: dict[str, _Known] = {}
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
                if known is None:
                    reached = stream.channel.startswith("public")
                else:
                    reached = known.public and (
                        stream.channel.startswith("public")
                        or (stream.channel.startswith("hashtag") and stream.tag in known.tags)
                    )
                    if stream.channel in ("public:local", "hashtag:local") and not known.local:
                        reached = False
                    if stream.channel == "public:remote" and known.local:
                        reached = False
                if reached and not self._silent:
                    stream.items.put(("event", ("delete", str(status_id).encode())))

    def _publish(self, status: dict[str, Any], text: str, event: str) -> None:
        known = _Known(status, text)
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
            self._json(h, failure[1], failure[2], rails=False)
            return
        if path == "/api/v1/streaming/health":
            self._send(h, 200, b"OK", "text/plain")
        elif path.startswith("/api/v1/streaming"):
            self._stream(h, path, params, headers)
        elif path == "/api/v1/timelines/public":
            self._timeline(h, path, params, headers, None)
        elif path.startswith("/api/v1/timelines/tag/"):
            self._timeline(h, path, params, headers, unquote(path[len("/api/v1/timelines/tag/") :]))
        elif path == "/api/oembed":
            self._oembed(h, params, headers)
        elif re.fullmatch(r"/api/v1/statuses/\d+", path):
            extra = self._rest_auth(h, headers, params, required=False)
            if extra is not None:
                with self._cond:
                    known = self._statuses.get(path.rsplit("/", 1)[1])
                if known is None or known.status.get("visibility") == "direct":
                    self._json(h, 404, {"error": "Record not found"}, extra)
                else:
                    self._json(h, 200, known.status, extra)
        else:
            self._json(h, 404, {"error": "Record not found"})

    def _send(
        self, h: FakeHandler, status: int, body: bytes, content_type: str, extra: Iterable[tuple[str, str]] = ()
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        for name, value in extra:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _json(
        self,
        h: FakeHandler,
        status: int,
        value: Any,
        extra: Iterable[tuple[str, str]] = (),
        *,
        rails: bool = True,
    ) -> None:
        body = (rails_dumps(value) if rails else js_dumps(value)).encode()
        content_type = "application/json; charset=utf-8" if rails else "application/json"
        self._send(h, status, body, content_type, extra)

    # -- REST ---------------------------------------------------------------------------------------
    def _rate_headers(self) -> tuple[list[tuple[str, str]], bool]:
        """X-RateLimit headers for one more REST request, and whether it is over the limit."""
        with self._cond:
            now = time.time()
            if now - self._window_start >= self.rate_window:
                self._window_start, self._window_used = now, 0
            self._window_used += 1
            remaining = self.rate_limit - self._window_used
            reset = datetime.fromtimestamp(self._window_start + self.rate_window, tz=UTC)
        headers = [
            ("X-RateLimit-Limit", str(self.rate_limit)),
            ("X-RateLimit-Remaining", str(max(remaining, 0))),
            ("X-RateLimit-Reset", reset.strftime("%Y-%m-%dT%H:%M:%S.") + f"{reset.microsecond // 1000:03d}Z"),
        ]
        return headers, remaining < 0

    def _rest_auth(
        self, h: FakeHandler, headers: dict[str, str], params: dict[str, str], *, required: bool
    ) -> list[tuple[str, str]] | None:
        """Rate limit, then the token (a wrong one is always refused, a missing one when ``required``).

        Returns the headers to add to the answer, or None when the request has been answered (429, 401).
        """
        rate, exceeded = self._rate_headers()
        if exceeded:
            self._json(h, 429, {"error": "Too many requests"}, rate)
            return None
        authorization = headers.get("authorization", "")
        token = params.get("access_token")
        if authorization[:7].lower() == "bearer ":
            token = authorization[7:].strip()
        if (token is not None and token != self.access_token) or (token is None and required):
            self._json(h, 401, {"error": "The access token is invalid"}, rate)
            return None
        return rate

    def _timeline(
        self, h: FakeHandler, path: str, params: dict[str, str], headers: dict[str, str], tag: str | None
    ) -> None:
        extra = self._rest_auth(h, headers, params, required=self.timelines_require_auth)
        if extra is None:
            return
        limit = DEFAULT_LIMIT
        if "limit" in params:
            match = re.match(r"\s*[-+]?\d+", params["limit"])
            limit = min(abs(int(match.group(0))) if match else 0, MAX_LIMIT)
        local = _truthy(params.get("local"))
        remote = _truthy(params.get("remote"))
        only_media = _truthy(params.get("only_media"))
        wanted_tag = normalize_hashtag(tag) if tag is not None else None
        with self._cond:
            candidates = [
                k
                for k in self._statuses.values()
                if k.public
                and not k.reblog
                and (wanted_tag in k.tags if wanted_tag is not None else not k.reply_to_other)
                and (k.local or not local)
                and (not k.local or not remote)
                and (k.media or not only_media)
            ]
        max_id, since_id, min_id = (_int_param(params.get(n)) for n in ("max_id", "since_id", "min_id"))
        if max_id is not None:
            candidates = [k for k in candidates if k.id < max_id]
        if min_id is not None:
            page = sorted((k for k in candidates if k.id > min_id), key=lambda k: k.id)[:limit]
            page.reverse()
        else:
            if since_id is not None:
                candidates = [k for k in candidates if k.id > since_id]
            page = sorted(candidates, key=lambda k: k.id, reverse=True)[:limit]
        if page:
            keep = {k: v for k, v in params.items() if k in ("local", "remote", "limit", "only_media")}
            root = f"http://{headers.get('host') or f'127.0.0.1:{self.port}'}{quote(path)}"
            next_url = f"{root}?{urlencode({**keep, 'max_id': page[-1].status['id']})}"
            prev_url = f"{root}?{urlencode({**keep, 'min_id': page[0].status['id']})}"
            extra.append(("Link", f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'))
        self._json(h, 200, [k.status for k in page], extra)

    def _oembed(self, h: FakeHandler, params: dict[str, str], headers: dict[str, str]) -> None:
        extra = self._rest_auth(h, headers, params, required=False)
        if extra is None:
            return
        target = urlsplit(params.get("url", ""))
        own_hosts = {urlsplit(self.public_url).netloc, urlsplit(self.base_url).netloc}
        match = re.fullmatch(r"/@[^/]+/(\d+)|/users/[^/]+/statuses/(\d+)", target.path)
        with self._cond:
            known = self._statuses.get((match.group(1) or match.group(2)) if match else "")
        if (
            target.netloc not in own_hosts
            or known is None
            or not known.local
            or known.status.get("visibility") not in ("public", "unlisted", None)
        ):
            self._json(h, 404, {"error": "Record not found"}, extra)
            return
        status = known.status
        account = status.get("account") or {}
        width = int(params["maxwidth"]) if params.get("maxwidth", "").isdigit() else 400
        height = int(params["maxheight"]) if params.get("maxheight", "").isdigit() else None
        root = self.public_url
        post_url = f"{root}/@{account.get('username')}/{status['id']}"
        if self.oembed_style == "iframe":
            html = (
                f'<iframe src="{post_url}/embed" class="mastodon-embed" style="max-width: 100%; border: 0" '
                f'width="{width}" allowfullscreen="allowfullscreen"></iframe>'
                f'<script src="{root}/embed.js" async="async"></script>'
            )
        else:
            html = (
                f'<blockquote class="mastodon-embed" data-embed-url="{post_url}/embed" '
                f'style="max-width: 540px; min-width: 270px;"> <a href="{post_url}" target="_blank"> '
                f"<div>Post by @{account.get('acct')}@{urlsplit(root).netloc}</div> "
                f'<div>View on Mastodon</div> </a> </blockquote> <script data-allowed-prefixes="{root}/" '
                f'async src="{root}/embed.js"></script>'
            )
        answer: dict[str, Any] = {"type": "rich", "version": "1.0"}
        if self.oembed_style == "iframe":
            answer["title"] = f"New status by {account.get('username')}"
        answer.update(
            {
                "author_name": account.get("display_name") or account.get("username"),
                "author_url": f"{root}/@{account.get('username')}",
                "provider_name": urlsplit(root).netloc,
                "provider_url": f"{root}/",
                "cache_age": 86400,
                "html": html,
                "width": width,
                "height": height,
            }
        )
        self._json(h, 200, answer, extra)

    # -- streaming ----------------------------------------------------------------------------------
    def _stream(self, h: FakeHandler, path: str, params: dict[str, str], headers: dict[str, str]) -> None:
        channel = STREAM_CHANNELS.get(path)
        if channel is None:
            self._json(h, 400, {"error": "Unknown channel requested"}, rails=False)
            return
        authorization = headers.get("authorization")
        access_token = params.get("access_token") or headers.get("sec-websocket-protocol")
        if not authorization and not access_token:
            self._json(h, 401, {"error": "Missing access token"}, rails=False)
            return
        token = re.sub(r"^Bearer ", "", authorization) if authorization else access_token
        if token != self.access_token:
            self._json(h, 401, {"error": "Invalid access token"}, rails=False)
            return
        if channel.startswith("hashtag") and not params.get("tag"):
            self._json(h, 400, {"error": "Missing tag name parameter"}, rails=False)
            return
        if channel == "list" and not params.get("list"):
            self._json(h, 400, {"error": "Missing list name parameter"}, rails=False)
            return
        with self._cond:
            stream = _Stream(
                channel=channel,
                only_media=_truthy(params.get("only_media")) and channel.startswith("public"),
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

    def _serve_stream(self, h: FakeHandler, stream: _Stream) -> None:
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


def _truthy(value: str | None) -> bool:
    return bool(value) and value not in _FALSE_VALUES


def _int_param(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    match = re.match(r"\s*\d+", value)
    return int(match.group(0)) if match else 0


def _peer_closed(sock: socket.socket) -> bool:
    """True when the client has closed its side (a readable socket with nothing to read)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
