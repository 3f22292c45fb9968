"""The JSON API and the live stream (Server-Sent Events)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from twitterstream.models import Post, format_time
from twitterstream.query import Query, QueryError
from twitterstream.store import Event, EventKind, Store, UnknownPost, cursor_order
from twitterstream.web.client_limits import client_address
from twitterstream.web.connection import client_fd
from twitterstream.web.context import (
    PAGE_VIEW_HOLDER,
    get_hub,
    get_limits,
    get_settings,
    get_store,
    running_source,
    running_sources,
    source_status,
    this_app,
    wake_ingester,
)
from twitterstream.web.merged_stream import open_merged_stream
from twitterstream.web.moderated import get_query_feed, get_screen
from twitterstream.web.params import post_id, whole_number
from twitterstream.web.queries import QueryListError, read_queries, read_query
from twitterstream.web.query_status import StatusScope
from twitterstream.web.sse import format_event_or_skip
from twitterstream.web.streaming import event_stream

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_LIMIT = 100


class BadRequest(Exception):
    """A request the API answers with 400 and ``{"error": {"message", "position"}}`` (and ``q_index``, which
    of several ``q`` is wrong)."""

    def __init__(self, message: str, position: int | None = None, q_index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.q_index = q_index


@bp.errorhandler(BadRequest)
def bad_request(error: BadRequest) -> tuple[Response, int]:
    body: dict[str, Any] = {"message": error.message, "position": error.position}
    if error.q_index is not None:
        body["q_index"] = error.q_index
    return jsonify(error=body), 400


def _query() -> Query:
    if "q" not in request.args:
        raise BadRequest("the q parameter is required: /api/v1/results?q=QUERY")
    try:
        return read_query(request.args["q"], running_sources(this_app()))
    except QueryError as exc:
        raise BadRequest(exc.message, exc.position) from None


def _queries() -> list[Query]:
    """Every ``q`` of the request (at most ``MAX_STREAM_QUERIES``; the same query twice counts once)."""
    texts = request.args.getlist("q")
    if len(texts) <= 1:
        return [_query()]  # as every other route says it
    try:
        return read_queries(texts, running_sources(this_app()))
    except QueryListError as exc:
        raise BadRequest(exc.message, exc.position, exc.index) from None


def _limit(default: int = 10) -> int:
    return whole_number(request.args.get("limit"), "limit", 1, MAX_LIMIT, default)


@bp.get("/results")
def results() -> Any:
    """The latest matches of a query, newest first. Asking also starts watching it."""
    query = _query()
    limit = _limit()
    store = get_store()
    get_limits().admit_query(query.key, client_address())  # 429 or 503 for a new query over the limits
    store.watch(query.key, query.text, PAGE_VIEW_HOLDER, 0, get_settings().watch_grace_seconds)
    wake_ingester(this_app())
    posts = _page(store, query, limit)
    since = store.watched_since(query.key)
    since = time.time() if since is None else since
    return jsonify(
        query=query.key,
        source=running_source(this_app()),
        # when watching began: an empty page of a query watched for a second means "wait, or open the stream"
        watching_since=format_time(datetime.fromtimestamp(since, UTC)),
        posts=[p.to_json() for p in posts],
    )


def _page(store: Store, query: Query, limit: int) -> list[Post]:
    """The latest posts, or with ``before=<post id>`` the page just older than that post (paging)."""
    before = request.args.get("before")
    if before is None:
        return get_screen().latest(query.key, limit)  # what an audience may see (moderation)
    try:
        return get_screen().visible(store.posts_before(query.key, post_id(before), limit))
    except UnknownPost:
        raise BadRequest(
            f"before={before!r} is not a stored post of {query.key!r}: page with the id of the last post of a page"
        ) from None


@bp.get("/pace")
def pace() -> Any:
    """Arrivals per minute over the last 30 minutes (oldest first) and in the last minute."""
    query = _query()
    store = get_store()
    per_minute = store.pace(query.key, 30, 60.0)
    return jsonify(query=query.key, per_minute=per_minute, last_minute=per_minute[-1])


@bp.get("/stream")
def stream() -> Response:
    """Live events of a query: ``post`` (id = post id), ``embed``, ``delete``, ``status``; keep-alives.

    Without ``Last-Event-ID`` the stream starts with the latest ``limit`` posts (oldest first); with it,
    with exactly what came after that post. Either way nothing is missed and nothing sent twice. With several
    ``q``, one stream of them all (``merged_stream``): each post once, its ``id`` a resume token.
    """
    queries = _queries()
    limit = _limit()
    last_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if len(queries) > 1:
        return open_merged_stream(queries, limit, last_id)
    [query] = queries
    store = get_store()
    hub = get_hub()
    limits = get_limits()
    client = client_address()
    limits.admit_query(query.key, client)  # 429 or 503 for a new query over the limits
    place = limits.take_stream_place(client)  # 429 when the client has all its streams open

    try:
        subscription = hub.subscribe(query.key, query.text, client_fd(request.environ))
    except BaseException:
        limits.release_stream_place(place)
        raise

    def close() -> None:  # idempotent: the generator ends, or the server closes a response never started
        hub.unsubscribe(subscription)
        limits.release_stream_place(place)

    try:
        backlog, boundary = _backlog(store, query.key, last_id, limit)
    except BaseException:
        close()
        raise
    status = hub.status or {k: v for k, v in source_status(this_app()).items() if k != "counters"}

    return event_stream(subscription, backlog, boundary, status, close, scope=StatusScope([query]))


def _backlog(store: Store, key: str, last_id: str | None, limit: int) -> tuple[list[bytes], tuple[int, int]]:
    """What to send before live events, and the order of the newest event it covers."""
    if last_id:
        cursor = store.find_post_event(key, last_id.strip())
        if cursor is not None:
            events = store.events_after(key, cursor)
            texts = get_query_feed().backlog(events)  # what an audience may see (moderation)
            boundary = events[-1].order if events else cursor_order(cursor)
            return texts, boundary
    boundary = cursor_order(store.head_cursor(key))
    posts = get_screen().latest(key, limit)
    texts = []
    for post in reversed(posts):
        texts.append(format_event_or_skip(Event("0", key, EventKind.POST, post.key, post)) or b"")
    return texts, boundary
