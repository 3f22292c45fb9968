"""One live stream of several queries (``/api/v1/stream?q=A&q=B``, the columns page): each post once.

The stream reads each query's channel of the live hub and merges what the hub settled in one round (the
matches a writer stored together): a post that matched several of the asked queries goes out as one ``post``
event whose ``queries`` lists their keys, in the order asked; ``embed`` and ``delete`` go out once per post.

Resuming: the queries' event logs have different histories, so no single post id says where a client
stopped. A ``post`` event's ``id:`` is a *resume token* instead: for each query, ``<tag>:<cursor>``, the
position in that query's event log up to which everything has been sent, comma-separated (``tag`` is a short
hash of the query's canonical form, so a token outlives a change of the asked set). Sent back as
``Last-Event-ID`` (or ``last_event_id``), each query it names resumes exactly after its position; a query it
does not name (a column added since), names at a position the log does not hold, or names more than
``RESUME_EVENTS`` events behind starts again with its latest ``limit`` posts. A post event's token covers only
events that were sent before it: a post merged from parts spread over a round goes out at its last part,
and positions stop short of parts still waiting for their post.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Response, request

from twitterstream.models import Post
from twitterstream.query import Query
from twitterstream.store import Event, EventKind, Store, cursor_order
from twitterstream.web.channel import CLOSE, KEEPALIVE, Message, Subscription
from twitterstream.web.client_limits import client_address
from twitterstream.web.connection import client_fd
from twitterstream.web.context import get_hub, get_limits, get_store, source_status, this_app
from twitterstream.web.live import LiveHub
from twitterstream.web.moderated import get_query_feed, get_screen
from twitterstream.web.query_status import StatusScope
from twitterstream.web.sse import format_event, post_body, post_data, sse_message, with_queries
from twitterstream.web.streaming import sse_response

log = logging.getLogger(__name__)

#: A resume token further behind than this many events of a query restarts that query from its latest posts.
RESUME_EVENTS = 500
_TOKEN_ENTRY = re.compile(r"([0-9a-f]{8}):([0-9]{1,20}(?:-[0-9]{1,20})?)")
_TOKEN_MAX = 64 * 8  # far more than 6 entries: anything longer is not ours


def query_tag(key: str) -> str:
    """The short name of a query in a resume token."""
    return hashlib.blake2s(key.encode(), digest_size=4).hexdigest()


def encode_token(tags: list[str], positions: list[str | None]) -> str:
    """A resume token: ``tag:cursor`` of each query whose position is known, comma-separated."""
    return ",".join(f"{tag}:{cursor}" for tag, cursor in zip(tags, positions, strict=True) if cursor is not None)


def decode_token(raw: str | None) -> dict[str, str]:
    """The positions a resume token names, by tag; nothing for anything that is not a token."""
    if not raw or len(raw) > _TOKEN_MAX:
        return {}
    found = {}
    for entry in raw.strip().split(","):
        match = _TOKEN_ENTRY.fullmatch(entry)
        if match is None:
            return {}
        found[match[1]] = match[2]
    return found


@dataclass(slots=True)
class Part:
    """One query's event, as a stream of several queries reads it: ``sent`` False when it only moves the
    position (already in the backlog, or withheld from the audience)."""

    index: int  # which of the stream's queries
    event: Event
    sent: bool = True
    body: bytes | None = None  # the post's JSON, when the hub encoded it (once for every such stream)


@dataclass(slots=True)
class _Run:
    """Events of one kind about one post, next to each other in a round: they go out as one message."""

    kind: EventKind
    post_key: str
    parts: list[int] = field(default_factory=list)  # their places in the round
    indices: list[int] = field(default_factory=list)  # their queries
    post: Post | None = None
    body: bytes | None = None


class Merger:
    """Turns a stream's parts into its messages, keeping the position reached in each query's log."""

    def __init__(self, keys: list[str], positions: list[str | None]) -> None:
        self.keys = keys
        self.tags = [query_tag(key) for key in keys]
        self.positions = positions  # a query's cursor up to which everything is sent (None: unknown yet)

    def token(self) -> str:
        return encode_token(self.tags, self.positions)

    def messages(self, parts: list[Part]) -> list[bytes]:
        """The messages of ``parts`` (any order; per query in log order), each post event's token exact."""
        parts = sorted(parts, key=lambda p: (p.event.order, p.index))
        runs: list[_Run] = []
        open_runs: dict[tuple[str, EventKind], _Run] = {}
        for place, part in enumerate(parts):
            if not part.sent:
                continue
            event = part.event
            run = open_runs.get((event.post_key, event.kind))
            if run is None:
                run = _Run(event.kind, event.post_key)
                runs.append(run)
                for kind in EventKind:  # another kind of event about the post ends its runs of other kinds
                    open_runs.pop((event.post_key, kind), None)
                open_runs[(event.post_key, event.kind)] = run
            run.parts.append(place)
            run.indices.append(part.index)
            if event.post is not None:  # the newest version read
                run.post, run.body = event.post, part.body
        lanes: list[list[int]] = [[] for _ in self.keys]  # each query's places, in order
        for place, part in enumerate(parts):
            lanes[part.index].append(place)
        done = [not part.sent for part in parts]
        reached = [0] * len(self.keys)  # how many places of each lane are behind the stream
        out: list[bytes] = []
        for run in sorted(runs, key=lambda r: r.parts[-1]):
            for place in run.parts:
                done[place] = True
            self._advance(parts, lanes, done, reached, run.parts[-1])
            message = self._message(run)
            if message is not None:
                out.append(message)
        self._advance(parts, lanes, done, reached, len(parts))
        return out

    def _advance(
        self, parts: list[Part], lanes: list[list[int]], done: list[bool], reached: list[int], upto: int
    ) -> None:
        """Move each query's position over its places that are done, up to ``upto`` (a part not yet sent
        stops its query's position: a token past it would skip it on resume)."""
        for index, lane in enumerate(lanes):
            while reached[index] < len(lane) and lane[reached[index]] <= upto and done[lane[reached[index]]]:
                self.positions[index] = parts[lane[reached[index]]].event.cursor
                reached[index] += 1

    def _message(self, run: _Run) -> bytes | None:
        try:
            if run.kind != EventKind.POST:  # embed, delete: as on a stream of one query
                return format_event(Event("0", self.keys[run.indices[0]], run.kind, run.post_key, run.post))
            if run.post is None:  # gone before it was read
                return None
            queries = [self.keys[i] for i in sorted(set(run.indices))]
            data = with_queries(run.body or post_body(run.post), queries)
            return sse_message("post", data, self.token())
        except ValueError as exc:  # an id that cannot be framed: skipped, as on a stream of one query
            log.warning("live stream: skipping %s event of %.80r: %s", run.kind, run.post_key, exc)
            return None

    def fresh(self, posts: list[tuple[Post, list[int]]], fresh: list[int], heads: list[str]) -> list[bytes]:
        """The first posts of queries that start afresh (oldest first, each once with its queries). Their
        positions are given only with the last one: a client cut off before it starts them afresh again."""
        out: list[bytes] = []
        for number, (post, indices) in enumerate(posts, 1):
            if number == len(posts):
                self._start(fresh, heads)
            try:
                queries = [self.keys[i] for i in sorted(set(indices))]
                out.append(sse_message("post", post_data(post, queries), self.token()))
            except ValueError as exc:
                log.warning("live stream: skipping post %.80r: %s", post.key, exc)
        self._start(fresh, heads)
        return out

    def _start(self, fresh: list[int], heads: list[str]) -> None:
        for index in fresh:
            self.positions[index] = heads[index]


def open_merged_stream(queries: list[Query], limit: int, last_id: str | None) -> Response:
    """The live events of several queries (see the module's docstring). Each new query is admitted as on a
    stream of one (429, 503), and each is watched with one more viewer; the stream takes one stream place."""
    store = get_store()
    hub = get_hub()
    limits = get_limits()
    client = client_address()
    keys = [query.key for query in queries]
    limits.admit_queries(keys, client)
    place = limits.take_stream_place(client)  # 429 when the client has all its streams open
    subscriptions: list[Subscription] = []

    def close() -> None:  # idempotent: the generator ends, or the server closes a response never started
        for subscription in subscriptions:
            hub.unsubscribe(subscription)
        limits.release_stream_place(place)

    try:
        group, viewer = object(), client_fd(request.environ)
        for query in queries:
            subscriptions.append(hub.subscribe(query.key, query.text, viewer, group=group))
        merger, backlog, boundaries = _backlog(store, keys, decode_token(last_id), limit)
    except BaseException:
        close()
        raise
    status = hub.status or {k: v for k, v in source_status(this_app()).items() if k != "counters"}
    scope = StatusScope(queries)  # the networks of any of them: the page has one status line
    return sse_response(_follow(hub, subscriptions, merger, backlog, boundaries, status, scope, close), close)


def _backlog(
    store: Store, keys: list[str], token: dict[str, str], limit: int
) -> tuple[Merger, list[bytes], list[tuple[int, int]]]:
    """What to send before live events, the merger that goes on from there, and the order of the newest event
    of each query that the backlog covers (live events at or before it are skipped)."""
    heads = [store.head_cursor(key) for key in keys]
    boundaries = [cursor_order(head) for head in heads]
    positions: list[str | None] = [None] * len(keys)
    fresh: list[int] = []
    parts: list[Part] = []
    for index, key in enumerate(keys):
        cursor = token.get(query_tag(key))
        events = _resume(store, key, cursor, heads[index])
        if cursor is None or events is None:
            fresh.append(index)
            continue
        positions[index] = cursor
        verdicts = get_query_feed().screened(events)  # what an audience may see (moderation)
        parts += [Part(index, event, ok) for event, ok in zip(events, verdicts, strict=True)]
        boundaries[index] = events[-1].order if events else cursor_order(cursor)
    posts: dict[str, tuple[Post, list[int]]] = {}
    for index in fresh:
        for post in get_screen().latest(keys[index], limit):
            posts.setdefault(post.key, (post, []))[1].append(index)
    first = sorted(posts.values(), key=lambda item: (item[0].created_at, item[0].key))  # oldest first
    merger = Merger(keys, positions)
    backlog = merger.fresh(first, fresh, heads) + merger.messages(parts)
    return merger, backlog, boundaries


def _resume(store: Store, key: str, cursor: str | None, head: str) -> list[Event] | None:
    """The events of a query after a token's cursor, or None when it must start afresh: no cursor, one the
    log does not hold (past its head, or of another store's form), or too far behind."""
    if cursor is None:
        return None
    if cursor != "0" and (("-" in cursor) != ("-" in head) or cursor_order(cursor) > cursor_order(head)):
        return None
    events = store.events_after(key, cursor, RESUME_EVENTS)
    return None if len(events) >= RESUME_EVENTS else events


def _follow(
    hub: LiveHub,
    subscriptions: list[Subscription],
    merger: Merger,
    backlog: list[bytes],
    boundaries: list[tuple[int, int]],
    status: dict[str, Any],
    scope: StatusScope,
    close: Callable[[], None],
) -> Iterator[bytes]:
    """The stream's bytes: status, backlog, then each round the hub settled, merged."""
    try:
        yield b"retry: 2000\n" + scope.first(status)
        yield b"".join(backlog)
        backlog.clear()
        while True:
            ready = hub.round_ready  # before reading: a round ending after the reads sets this one
            parts: list[Part] = []
            statuses: dict[bytes, Message] = {}
            keepalive = False
            for index, subscription in enumerate(subscriptions):
                while (message := subscription.take(settled_only=True)) is not None:
                    if message is CLOSE:  # shut down, overtaken (the client resumes by its token), or gone
                        return
                    if message.event is not None:
                        sent = message.order > boundaries[index]
                        parts.append(Part(index, message.event, sent, message.body))
                    elif message.order == KEEPALIVE.order:
                        keepalive = True
                    else:  # a status, published to every channel: sent once
                        statuses.setdefault(message.text, message)
            out = [scope.message(message) for message in statuses.values()] + merger.messages(parts)
            if out:
                yield b"".join(out)
            elif keepalive:
                yield KEEPALIVE.text
            elif not parts:
                ready.wait()
    finally:
        close()
