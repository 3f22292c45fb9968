"""Server-Sent Events framing: a store event or a status as the bytes an ``EventSource`` reads."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from twitterstream.models import Post
from twitterstream.store import Event, EventKind

log = logging.getLogger(__name__)

_FORBIDDEN_IN_FIELDS = ("\r", "\n", "\0")


def sse_message(event: str, data: bytes, event_id: str | None = None) -> bytes:
    """One SSE message. Raises ``ValueError`` when a field would break the framing, whatever the caller
    passes: a CR, LF or NUL in ``event`` or ``event_id`` (or a line break in ``data``) would let the value
    end its line and inject fields or whole events into every viewer's stream."""
    for value in (event, event_id or ""):
        if any(c in value for c in _FORBIDDEN_IN_FIELDS):
            raise ValueError(f"SSE event {event[:40]!r} id {(event_id or '')[:40]!r}: CR, LF or NUL in a field")
    if b"\r" in data or b"\n" in data:  # orjson escapes both inside strings: this never happens with JSON
        raise ValueError(f"SSE event {event[:40]!r}: a line break in the data")
    id_line = b"id: %s\n" % event_id.encode() if event_id is not None else b""
    return b"event: %s\n%sdata: %s\n\n" % (event.encode(), id_line, data)


def format_event(event: Event) -> bytes | None:
    """The SSE message of a store event of a query, encoded (None when there is nothing to send): a post's
    data is its Post JSON with ``queries``, the query's key (as in a stream of several queries).

    Raises ``ValueError`` when the post id cannot be framed (see :func:`sse_message`).
    """
    if event.kind == EventKind.POST:
        if event.post is None:  # deleted or expired before we read it
            return None
        return sse_message("post", post_data(event.post, [event.query_key]), event.post.id)
    post_id = event.post_key.partition(":")[2]
    if event.kind == EventKind.EMBED:
        if event.post is None or not event.post.embed_html:
            return None
        return sse_message("embed", orjson.dumps({"id": post_id, "embed_html": event.post.embed_html}))
    if event.kind == EventKind.DELETE:
        return sse_message("delete", orjson.dumps({"id": post_id}))
    return None


def post_data(post: Post, query_keys: list[str]) -> bytes:
    """A ``post`` event's data: the Post JSON and ``queries``, the keys of the stream's queries it matched."""
    return with_queries(post_body(post), query_keys)


def post_body(post: Post) -> bytes:
    """The Post JSON, encoded (a stream of several queries adds ``queries`` with :func:`with_queries`)."""
    return orjson.dumps(post.to_json())


def with_queries(body: bytes, query_keys: list[str]) -> bytes:
    """``body`` (a JSON object from :func:`post_body`) with ``queries`` added as its last member: the bytes
    ``orjson.dumps`` gives for the Post JSON with it, made without encoding the post again."""
    return b'%s,"queries":%s}' % (body[:-1], orjson.dumps(query_keys))


def format_event_or_skip(event: Event) -> bytes | None:
    """:func:`format_event`, or None (logged) for an event that cannot be framed: the stream goes on."""
    try:
        return format_event(event)
    except ValueError as exc:
        log.warning("live stream: skipping %s event of %.80r: %s", event.kind, event.post_key, exc)
        return None


def format_status(status: dict[str, Any]) -> bytes:
    """The SSE message of the source's status, encoded."""
    return sse_message("status", orjson.dumps(status))
