"""Public walls: the list, the live page /wall/<slug>, its posts (pinned first) and its live stream."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for

from twitterstream.models import Post
from twitterstream.moderation import Wall
from twitterstream.moderation.walls import PINNED
from twitterstream.query import parse
from twitterstream.store import UnknownPost, cursor_order
from twitterstream.web.client_limits import client_address
from twitterstream.web.context import get_limits, get_store, public_url_for, query_problem, source_status, this_app
from twitterstream.web.moderated import find_wall, get_screen, get_wall_feed, get_wall_hub
from twitterstream.web.params import limit_choice, post_id, whole_number
from twitterstream.web.query_status import StatusScope, page_status
from twitterstream.web.screen_view import SCREEN_POSTS, render_screen, screen_options
from twitterstream.web.screened import format_wall_post
from twitterstream.web.streaming import event_stream

bp = Blueprint("walls", __name__)

MAX_LIMIT = 100


def _wall(slug: str) -> Wall:
    wall = find_wall(slug)
    if wall is None:
        abort(404, description=f"no wall named {slug!r}")
    return wall


def _limit(default: int = 10) -> int:
    return whole_number(request.args.get("limit"), "limit", 1, MAX_LIMIT, default)


def _post_json(post: Post, pinned: bool) -> dict[str, Any]:
    return {**post.to_json(), "pinned": pinned}


@bp.get("/api/v1/walls")
def walls() -> Any:
    """Every wall: slug, title, query (what an audience may know of it)."""
    listed = [Wall.from_record(r) for r in get_store().walls()]
    return jsonify(walls=[{"slug": w.slug, "title": w.title, "query": w.query} for w in listed])


@bp.get("/api/v1/walls/<slug>/posts")
def posts(slug: str) -> Any:
    """The wall's posts: pinned first, then newest first. With ``before=<post id>`` (the last unpinned post of
    a page), the next older page of its unpinned posts: walking so visits every post the wall shows once."""
    wall = _wall(slug)
    limit = _limit()
    before = request.args.get("before")
    if before is None:
        shown = get_screen().wall_latest(wall, limit)
    else:
        shown = [(p, False) for p in _older_unpinned(wall, post_id(before), limit)]
    return jsonify(wall=wall.slug, title=wall.title, posts=[_post_json(p, pinned) for p, pinned in shown])


def _older_unpinned(wall: Wall, before: str, limit: int) -> list[Post]:
    """Up to ``limit`` of the wall's shown, unpinned posts older than ``before``, newest first; reads on while
    the moderation withholds what it read, so that a page is only short when nothing older is left."""
    store, screen = get_store(), get_screen()
    pinned = set(store.marks(wall.slug, PINNED))
    kept: list[Post] = []
    cursor = before
    while len(kept) < limit:
        try:
            older = store.posts_before(wall.query_key, cursor, limit)
        except UnknownPost:
            abort(400, description=f"before={before!r} is not a stored post of this wall")
        withheld = screen.withheld_on_wall(wall, older)
        kept += [p for p in older if p.key not in withheld and p.key not in pinned]
        if len(older) < limit:
            break
        cursor = older[-1].id
    return kept[:limit]


@bp.get("/wall/<slug>")
def page(slug: str) -> Any:
    """The live wall page (results.js, on the wall's own posts and stream); ``?view=screen``: for a big screen."""
    wall = _wall(slug)
    screen_mode = screen_options(request.args, wall=True)  # 400 for a view or option that is not one
    limit = SCREEN_POSTS if screen_mode else limit_choice(request.args.get("limit"))
    shown = get_screen().wall_latest(wall, limit)
    query = parse(wall.query)
    if screen_mode:
        return render_screen(
            options=screen_mode,
            wall=wall,
            title=wall.title,
            page_url=public_url_for("walls.page", slug=wall.slug),
            stream_url=url_for("walls.stream", slug=wall.slug, limit=SCREEN_POSTS),
            posts=[p for p, _ in shown],
            pinned={p.key for p, pinned in shown if pinned},
            status=page_status([query]),
        )
    return render_template(
        "results.html",
        query=query,
        heading=wall.title,
        wall=wall,
        posts=[p for p, _ in shown],
        pinned={p.key for p, pinned in shown if pinned},
        limit=limit,
        watch_since=None,
        problem=query_problem(this_app(), wall.query_key),
        status=page_status([query]),
    )


@bp.get("/api/v1/walls/<slug>/stream")
def stream(slug: str) -> Response:
    """The wall's live events, as /api/v1/stream: ``post`` (with ``pinned``), ``embed``, ``delete``, ``status``.

    Without ``Last-Event-ID`` it starts with the wall's ``limit`` posts (oldest first, pinned last so that
    they lead); with it, with what came after that post.
    """
    wall = _wall(slug)
    limit = _limit()
    last_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    store = get_store()
    hub = get_wall_hub()
    limits = get_limits()
    place = limits.take_stream_place(client_address())  # 429 when the client has all its streams open
    try:
        subscription = hub.subscribe(wall.channel, wall.query)
    except BaseException:
        limits.release_stream_place(place)
        raise

    def close() -> None:  # idempotent
        hub.unsubscribe(subscription)
        limits.release_stream_place(place)

    try:
        backlog: list[bytes] = []
        cursor = store.find_post_event(wall.query_key, last_id.strip()) if last_id else None
        if cursor is not None:
            events = store.events_after(wall.query_key, cursor)
            backlog = get_wall_feed().backlog(wall, events)
            boundary = events[-1].order if events else cursor_order(cursor)
        else:
            boundary = cursor_order(store.head_cursor(wall.query_key))
            shown = reversed(get_screen().wall_latest(wall, limit))
            backlog = [t for p, pinned in shown if (t := format_wall_post(p, pinned))]
    except BaseException:
        close()
        raise
    status = hub.status or {k: v for k, v in source_status(this_app()).items() if k != "counters"}

    return event_stream(subscription, backlog, boundary, status, close, scope=StatusScope([parse(wall.query)]))
