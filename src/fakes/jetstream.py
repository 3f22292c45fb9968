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

Helpers build realistic events: :func:`make_post_event` (facets with UTF-8 *byte* offsets for #tags,
@mentions and links found in the text, record keys in the order Jetstream writes them),
:func:`make_delete_event`, :func:`make_like_event`, :func:`make_identity_event`, :func:`make_account_event`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .server import FakeService

__all__ = [
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
]

POST_COLLECTION = "app.bsky.feed.post"
LIKE_COLLECTION = "app.bsky.feed.like"
#: Cursors below this are v2 sequence numbers, at or above it v1 microsecond timestamps (v2 hosts only).
CURSOR_SEQ_MAX = 1_000_000_000_000_000
MAX_WANTED_COLLECTIONS = 100
MAX_WANTED_DIDS = 10_000
#: The real server pings every 30 s.
PING_INTERVAL = 30.0

_NSID = re.compile(
    r"^[a-zA-Z](?:[a-zA-Z0-9-]{0,62})?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,62})?)+\.[a-zA-Z](?:[a-zA-Z0-9]{0,62})?$"
)
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


# ---------------------------------------------------------------------------------------------------------
# Encoding and event builders
# ---------------------------------------------------------------------------------------------------------
def encode_event(event: Mapping[str, Any]) -> str:
    """One event as Jetstream writes it: compact JSON, keys in the given order, Go's HTML-safe escaping."""
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return _GO_ESCAPE_RE.sub(lambda m: _GO_ESCAPES[m.group(0)], text)


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_tid_lock = threading.Lock()
_tid_last = 0


def new_tid(time_us: int | None = None, clock_id: int = 0) -> str:
    """A fresh atproto TID (13 sortable base32 characters: microseconds, clock id), as rkeys and revs are."""
    global _tid_last
    with _tid_lock:
        if time_us is None:
            time_us = max(time.time_ns() // 1000, _tid_last + 1)
            _tid_last = time_us
    value = ((time_us & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def fake_cid(content: Any) -> str:
    """A well-formed CIDv1 (dag-cbor, sha2-256, base32) derived from ``content``: ``bafyrei...``, 59 chars."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).digest()
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def fake_did(handle: str) -> str:
    """A stable ``did:plc:`` (24 base32 characters) for a handle, for mention facets and test authors."""
    digest = hashlib.sha256(handle.lower().encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


def _iso_from_us(time_us: int) -> str:
    moment = datetime.fromtimestamp(time_us / 1_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sorted_keys(value: Any) -> Any:
    """Jetstream renders records from CBOR through Go maps: object keys come out sorted."""
    if isinstance(value, Mapping):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted_keys(item) for item in value]
    return value


_MENTION = re.compile(
    r"(?:^|(?<=[\s(]))@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)
_TAG = re.compile(r"(?:^|(?<=\s))[#\uff03](\S+)")
_URL = re.compile(
    r"(?:^|(?<=[\s(]))((?:https?://\S+)|(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}(?:/\S*)?))"
)
_TRAILING_URL_PUNCT = ".,;:!?\"'"


def _byte_range(text: str, start: int, end: int) -> dict[str, int]:
    return {"byteEnd": len(text[:end].encode()), "byteStart": len(text[:start].encode())}


def _strip_trailing_punctuation(value: str) -> str:
    while value and unicodedata.category(value[-1]).startswith("P"):
        value = value[:-1]
    return value


def detect_facets(text: str, mention_dids: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Facets for the #tags, @mentions and links in ``text`` (UTF-8 byte offsets), as the Bluesky app makes.

    Tags lose trailing punctuation and cannot be all digits or longer than 64 characters; mentions need a
    handle with a dot (their DID comes from ``mention_dids`` or :func:`fake_did`); links are ``http(s)://``
    URLs or bare domains (``example.com/x`` becomes ``https://example.com/x``), trailing punctuation and an
    unbalanced ``)`` excluded. Facets are returned in text order.
    """
    found: list[tuple[int, dict[str, Any]]] = []
    for match in _MENTION.finditer(text):
        handle = match.group(1)
        did = (mention_dids or {}).get(handle) or fake_did(handle)
        found.append(
            (
                match.start(),
                {
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                    "index": _byte_range(text, match.start(), match.end()),
                },
            )
        )
    for match in _URL.finditer(text):
        url = match.group(1)
        while url and (url[-1] in _TRAILING_URL_PUNCT or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        if not url or "@" in url.split("/", 1)[0]:
            continue
        start = match.start(1)
        uri = url if url.startswith(("http://", "https://")) else f"https://{url}"
        found.append(
            (
                start,
                {
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
                    "index": _byte_range(text, start, start + len(url)),
                },
            )
        )
    for match in _TAG.finditer(text):
        tag = _strip_trailing_punctuation(match.group(1))
        if not tag or tag.isdigit() or len(tag) > 64:
            continue
        start = match.start()
        found.append(
            (
                start,
                {
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
                    "index": _byte_range(text, start, start + 1 + len(tag)),
                },
            )
        )
    found.sort(key=lambda pair: pair[0])
    return [facet for _, facet in found]


def external_embed(uri: str, title: str = "", description: str = "", *, thumb: bool = True) -> dict[str, Any]:
    """An ``app.bsky.embed.external`` link card."""
    external: dict[str, Any] = {"description": description, "title": title, "uri": uri}
    if thumb:
        external["thumb"] = {
            "$type": "blob",
            "mimeType": "image/jpeg",
            "ref": {"$link": fake_cid(uri)},
            "size": 104_857,
        }
    return {"$type": "app.bsky.embed.external", "external": external}


def images_embed(count: int = 1, alt: str = "") -> dict[str, Any]:
    """An ``app.bsky.embed.images`` embed with ``count`` (1 to 4) images."""
    images = [
        {
            "alt": alt,
            "aspectRatio": {"height": 1000, "width": 1000},
            "image": {
                "$type": "blob",
                "mimeType": "image/jpeg",
                "ref": {"$link": fake_cid(i)},
                "size": 187_484,
            },
        }
        for i in range(count)
    ]
    return {"$type": "app.bsky.embed.images", "images": images}


def video_embed(alt: str = "", *, width: int = 1920, height: int = 1080) -> dict[str, Any]:
    """An ``app.bsky.embed.video`` embed: one ``video/mp4`` blob (Bluesky's video service serves it as HLS)."""
    return {
        "$type": "app.bsky.embed.video",
        "alt": alt,
        "aspectRatio": {"height": height, "width": width},
        "video": {
            "$type": "blob",
            "mimeType": "video/mp4",
            "ref": {"$link": fake_cid(("video", alt))},
            "size": 5_000_000,
        },
    }


def quote_embed(uri: str, cid: str | None = None, *, media: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A quote post: ``app.bsky.embed.record``, or ``recordWithMedia`` when ``media`` is given."""
    record = {"cid": cid or fake_cid(uri), "uri": uri}
    if media is None:
        return {"$type": "app.bsky.embed.record", "record": record}
    return {"$type": "app.bsky.embed.recordWithMedia", "media": dict(media), "record": {"record": record}}


def _envelope(did: str, time_us: int | None, kind: str, body_key: str, body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {"did": did}
    if time_us is not None:
        event["time_us"] = time_us
    event["kind"] = kind
    event[body_key] = body
    return event


_DEFAULT = object()


def make_post_event(
    did: str,
    rkey: str,
    text: str,
    *,
    time_us: int | None = None,
    langs: Sequence[str] = ("en",),
    tags: Sequence[str] = (),
    facets: Any = _DEFAULT,
    reply: bool | Mapping[str, Any] = False,
    labels: Sequence[str] = (),
    embed: Mapping[str, Any] | None = None,
    created_at: str | None = None,
    mention_dids: Mapping[str, str] | None = None,
    operation: str = "create",
) -> dict[str, Any]:
    """A post ``create`` commit event shaped like production Jetstream's.

    ``facets`` defaults to :func:`detect_facets` over ``text`` (pass a list, or ``None`` for no facets);
    ``tags`` are the record's extra hashtags that are not in the text; ``reply=True`` replies to a made-up
    parent (or pass the ``{"root", "parent"}`` mapping); ``labels`` are self-labels such as ``"porn"``.
    ``time_us`` left out is assigned by :meth:`FakeJetstream.publish`.
    """
    record: dict[str, Any] = {"$type": POST_COLLECTION}
    stamp = time_us if time_us is not None else time.time_ns() // 1000
    record["createdAt"] = created_at or _iso_from_us(stamp)
    if embed is not None:
        record["embed"] = dict(embed)
    chosen_facets = detect_facets(text, mention_dids) if facets is _DEFAULT else facets
    if chosen_facets:
        record["facets"] = list(chosen_facets)
    if labels:
        record["labels"] = {
            "$type": "com.atproto.label.defs#selfLabels",
            "values": [{"val": value} for value in labels],
        }
    if langs:
        record["langs"] = list(langs)
    if reply:
        if isinstance(reply, Mapping):
            record["reply"] = dict(reply)
        else:
            parent_uri = f"at://{fake_did('parent.bsky.social')}/{POST_COLLECTION}/{new_tid(1_700_000_000_000_000)}"
            ref = {"cid": fake_cid(parent_uri), "uri": parent_uri}
            record["reply"] = {"parent": dict(ref), "root": dict(ref)}
    if tags:
        record["tags"] = list(tags)
    record["text"] = text
    record = _sorted_keys(record)
    commit = {
        "rev": new_tid(),
        "operation": operation,
        "collection": POST_COLLECTION,
        "rkey": rkey,
        "record": record,
        "cid": fake_cid(record),
    }
    return _envelope(did, time_us, "commit", "commit", commit)


def make_delete_event(
    did: str, rkey: str, *, time_us: int | None = None, collection: str = POST_COLLECTION
) -> dict[str, Any]:
    """A ``delete`` commit: no ``record`` and no ``cid``."""
    commit = {"rev": new_tid(), "operation": "delete", "collection": collection, "rkey": rkey}
    return _envelope(did, time_us, "commit", "commit", commit)


def make_like_event(
    did: str,
    subject_uri: str,
    subject_cid: str | None = None,
    *,
    rkey: str | None = None,
    time_us: int | None = None,
) -> dict[str, Any]:
    """A like (an ``app.bsky.feed.like`` create), the commonest event that is not a post."""
    record = _sorted_keys(
        {
            "$type": LIKE_COLLECTION,
            "createdAt": _iso_from_us(time_us if time_us is not None else time.time_ns() // 1000),
            "subject": {"cid": subject_cid or fake_cid(subject_uri), "uri": subject_uri},
        }
    )
    commit = {
        "rev": new_tid(),
        "operation": "create",
        "collection": LIKE_COLLECTION,
        "rkey": rkey or new_tid(),
        "record": record,
        "cid": fake_cid(record),
    }
    return _envelope(did, time_us, "commit", "commit", commit)


_seq_lock = threading.Lock()
_seq = 30_340_180_350


def _next_repo_seq() -> int:
    global _seq
    with _seq_lock:
        _seq += 1
        return _seq


def make_identity_event(did: str, *, handle: str | None = None, time_us: int | None = None) -> dict[str, Any]:
    """An identity event (sent to every subscriber, whatever ``wantedCollections`` says)."""
    body: dict[str, Any] = {"did": did}
    if handle is not None:
        body["handle"] = handle
    body["seq"] = _next_repo_seq()
    body["time"] = _iso_from_us(time_us if time_us is not None else time.time_ns() // 1000)
    return _envelope(did, time_us, "identity", "identity", body)


def make_account_event(
    did: str, *, active: bool = True, status: str | None = None, time_us: int | None = None
) -> dict[str, Any]:
    """An account event (``status`` e.g. ``"deactivated"`` when not active); sent to every subscriber."""
    body: dict[str, Any] = {"active": active, "did": did, "seq": _next_repo_seq()}
    if status is not None:
        body["status"] = status
    body["time"] = _iso_from_us(time_us if time_us is not None else time.time_ns() // 1000)
    return _envelope(did, time_us, "account", "account", body)


# ---------------------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Stored:
    """One event in the fake's history, with what the filters look at."""

    time_us: int
    seq: int
    did: str
    kind: str
    collection: str
    text: str
    size: int


@dataclass(slots=True)
class _Filter:
    collections: frozenset[str] | None = None  # None = every collection
    prefixes: tuple[str, ...] = ()
    dids: frozenset[str] | None = None
    max_size: int = 0

    def wants(self, event: _Stored) -> bool:
        if self.dids is not None and event.did not in self.dids:
            return False
        if self.max_size and event.size > self.max_size:
            return False
        if event.kind != "commit" or not event.collection or self.collections is None:
            return True  # identity and account events bypass the collection filter
        return event.collection in self.collections or event.collection.startswith(self.prefixes)


class _InvalidOptions(ValueError):
    pass


def _parse_collections(values: Sequence[str]) -> tuple[frozenset[str] | None, tuple[str, ...]]:
    if not values:
        return None, ()
    full: set[str] = set()
    prefixes: list[str] = []
    for raw in values:
        if raw.endswith(".*"):
            head = raw[:-1]
            if head not in prefixes:
                prefixes.append(head)
        elif _NSID.match(raw) and len(raw) <= 317:
            full.add(raw)
        else:
            raise _InvalidOptions(f"subscribe: invalid options: invalid collection: {raw}")
        if len(full) + len(prefixes) > MAX_WANTED_COLLECTIONS:
            raise _InvalidOptions(
                f"subscribe: invalid options: too many wanted collections: > {MAX_WANTED_COLLECTIONS}"
            )
    return frozenset(full), tuple(prefixes)


def _parse_dids(values: Sequence[str]) -> frozenset[str] | None:
    if not values:
        return None
    for raw in values:
        if not _DID.match(raw):
            raise _InvalidOptions(f"subscribe: invalid options: invalid DID: {raw}")
    dids = frozenset(values)
    if len(dids) > MAX_WANTED_DIDS:
        raise _InvalidOptions(f"subscribe: invalid options: too many wanted DIDs: {len(dids)} > {MAX_WANTED_DIDS}")
    return dids


def _parse_max_size(raw: Any) -> int:
    """v1 parity: empty, malformed, negative or overflowing values mean "no limit"."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return 0
    return value if 0 <= value <= 0xFFFFFFFF else 0


def _build_filter(collections: Sequence[str], dids: Sequence[str], max_size: Any) -> _Filter:
    full, prefixes = _parse_collections(collections)
    return _Filter(full, prefixes, _parse_dids(dids), _parse_max_size(max_size))


def _go_quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


_CLOSED = object()


@dataclass(eq=False)
class _Subscriber:
    """One open subscription."""

    ws: ServerConnection
    filter: _Filter
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    hello: asyncio.Event = field(default_factory=asyncio.Event)
    sent: int = 0


class FakeJetstream(FakeService):
    """A Jetstream host on ``ws://127.0.0.1:PORT/subscribe``, running in a background thread.

    Use it as a context manager (``with FakeJetstream() as js: ...``) or call :meth:`start` and :meth:`stop`;
    lifecycle, silence and waits come from :class:`server.FakeService`.
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
        super().__init__(silent=silent)
        self._history: list[_Stored] = []
        self._pending: dict[int, dict[str, Any]] = {}
        self._v2_cursor = v2_cursor
        self._ping_interval = ping_interval
        self._drop_every: int | None = None
        self._refusal: tuple[int, str] | None = None
        self._last_time_us = 0
        self._seq = first_seq - 1  # each v2 instance numbers its events independently
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        #: Every handshake attempt: path, query, wantedCollections, wantedDids, cursor, status, headers ...
        self.requests: list[dict[str, Any]] = []
        #: Events sent, over all connections.
        self.sent = 0
        for item in history:
            if isinstance(item, str):
                self._store_raw(item)
            else:
                self._store(item)

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

        self._thread = threading.Thread(target=run, name="FakeJetstream", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure or self._server is None:
            raise RuntimeError("FakeJetstream did not start") from (failure[0] if failure else None)
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
            max_size=10_000_000,
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
                future.result(10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._loop = self._thread = None

    async def _shut_down(self) -> None:
        with self._cond:
            subscribers = list(self._streams)
        for sub in subscribers:
            sub.ws.transport.abort()
        if self._server is not None:
            self._server.close(close_connections=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- knobs --------------------------------------------------------------------------------------
    @property
    def history(self) -> list[str]:
        """The stored events' exact text, in publish order."""
        with self._cond:
            return [event.text for event in self._history]

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
            stored, final = self._store(event)
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
            stored = self._store_raw(text)
            self._fan_out(stored)

    def _next_time_us(self) -> int:
        self._last_time_us = max(time.time_ns() // 1000, self._last_time_us + 1)
        return self._last_time_us

    def _store(self, event: Mapping[str, Any]) -> tuple[_Stored, dict[str, Any]]:
        with self._cond:
            final: dict[str, Any] = {}
            self._seq += 1
            time_us = event.get("time_us")
            if not isinstance(time_us, int):
                time_us = self._next_time_us()
            else:
                self._last_time_us = max(self._last_time_us, time_us)
            for key, value in event.items():
                if key == "time_us":
                    continue
                final[key] = value
                if key == "did":
                    final["time_us"] = time_us
                    if self._v2_cursor and "cursor" not in event:
                        final["cursor"] = self._seq
            if "time_us" not in final:
                final = {"time_us": time_us, **final}
            stored = self._record(final, encode_event(final))
            return stored, final

    def _store_raw(self, text: str) -> _Stored:
        with self._cond:
            self._seq += 1
            parsed = json.loads(text)
            if not isinstance(parsed, dict):
                raise ValueError("a Jetstream event is a JSON object")
            time_us = parsed.get("time_us")
            if isinstance(time_us, int):
                self._last_time_us = max(self._last_time_us, time_us)
            return self._record(parsed, text)

    def _record(self, event: Mapping[str, Any], text: str) -> _Stored:
        raw_commit = event.get("commit")
        commit: Mapping[str, Any] = raw_commit if isinstance(raw_commit, dict) else {}
        raw_cursor = event.get("cursor")
        raw_time = event.get("time_us")
        stored = _Stored(
            time_us=raw_time if isinstance(raw_time, int) else 0,
            seq=raw_cursor if isinstance(raw_cursor, int) else self._seq,
            did=str(event.get("did") or ""),
            kind=str(event.get("kind") or ""),
            collection=str(commit.get("collection") or ""),
            text=text,
            size=len(text.encode()),
        )
        self._history.append(stored)
        return stored

    def _fan_out(self, stored: _Stored) -> None:
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
        wants_zstd = record["compress"] or "zstd" in (request.headers.get("Socket-Encoding") or "")
        if wants_zstd and "permessage-deflate" in (request.headers.get("Sec-WebSocket-Extensions") or ""):
            return refuse(
                400,
                "choose one compression scheme: custom zstd (compress=true / Socket-Encoding: zstd) or "
                "RFC 7692 permessage-deflate, not both\n",
            )
        if wants_zstd:
            return refuse(400, "FakeJetstream does not implement compress=true (zstd)\n")
        try:
            flt = _build_filter(
                record["wantedCollections"],
                record["wantedDids"],
                (query.get("maxMessageSizeBytes") or [""])[0],
            )
        except _InvalidOptions as exc:
            return refuse(400, f"{exc}\n")
        cursor: int | None = None
        if cursor_raw:
            if not re.fullmatch(r"-?\d+", cursor_raw) or abs(int(cursor_raw)) >= 2**63:
                return refuse(400, f"subscribe: invalid cursor: {_go_quote(cursor_raw)}\n")
            cursor = int(cursor_raw)
            if cursor < 0:
                return refuse(400, f"subscribe: invalid cursor: negative value {cursor}\n")
        self._pending[id(connection)] = {"filter": flt, "cursor": cursor, "hello": not record["requireHello"]}
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        options = self._pending.pop(id(ws))
        sub = _Subscriber(ws=ws, filter=options["filter"])
        if options["hello"]:
            sub.hello.set()
        with self._cond:
            cursor = options["cursor"]
            if cursor is not None and not self._silent:
                for stored in self._replay(cursor):
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

    def _replay(self, cursor: int) -> list[_Stored]:
        if self._v2_cursor and cursor < CURSOR_SEQ_MAX:
            return sorted((e for e in self._history if e.seq >= cursor), key=lambda e: e.seq)
        return sorted((e for e in self._history if e.time_us >= cursor), key=lambda e: e.time_us)

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
                    new_filter = _build_filter(
                        list(payload.get("wantedCollections") or ()),
                        list(payload.get("wantedDids") or ()),
                        payload.get("maxMessageSizeBytes"),
                    )
                except (_InvalidOptions, AttributeError, TypeError) as exc:
                    await sub.ws.close(1000, f"failed to parse subscriber options: {exc}")
                    return
                with self._cond:
                    sub.filter = new_filter
                sub.hello.set()
        except ConnectionClosed:
            pass
        finally:
            sub.queue.put_nowait(_CLOSED)
