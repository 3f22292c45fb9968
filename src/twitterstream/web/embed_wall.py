"""The embeddable wall: a compact live wall for an ``<iframe>`` on other sites (``/embed?q=QUERY``).

Only this page may be framed, and only by the origins in ``TWITTERSTREAM_FRAME_ANCESTORS`` (none by default):
its Content-Security-Policy carries them in ``frame-ancestors``; every other page keeps refusing to be framed.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, make_response, render_template, request, url_for

from twitterstream.config import Settings
from twitterstream.models import Post
from twitterstream.query import QueryError
from twitterstream.web.client_limits import client_address
from twitterstream.web.context import (
    PAGE_VIEW_HOLDER,
    get_limits,
    get_settings,
    get_store,
    public_url_for,
    running_sources,
    this_app,
    wake_ingester,
)
from twitterstream.web.moderated import find_wall, get_screen
from twitterstream.web.queries import read_query

bp = Blueprint("embed", __name__)

#: Posts the embedded wall shows (newest first; older ones drop off as new ones arrive).
EMBED_POSTS = 10


def embed_csp(settings: Settings) -> str:
    """The wall's policy: its own script and styles only, framed by the configured origins alone."""
    ancestors = " ".join(settings.frame_ancestors) or "'none'"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",  # text cards only: no image of anyone's
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )


@bp.get("/embed")
def wall() -> Response:
    """The latest posts of a query as compact text cards, then live updates (embed.js, over SSE)."""
    settings = get_settings()
    try:
        query = read_query(request.args.get("q"), running_sources(this_app()))
    except QueryError as exc:
        where = f" (at position {exc.position})" if exc.position else ""
        message = f"{exc.message}{where}. The embedded wall's address is /embed?q=QUERY"
        return make_response(render_template("error.html", message=message), 400)
    store = get_store()
    get_limits().admit_query(query.key, client_address())  # 429 or 503 for a new query over the limits
    store.watch(query.key, query.text, PAGE_VIEW_HOLDER, 0, settings.watch_grace_seconds)
    wake_ingester(this_app())
    posts = get_screen().latest(query.key, EMBED_POSTS)  # what an audience may see (moderation)
    return _embed_page(
        title=query.key,
        title_href=public_url_for("main.results", query=query.text),
        stream_url=url_for("api.stream", q=query.text, limit=EMBED_POSTS),
        posts=posts,
    )


@bp.get("/embed/wall/<slug>")
def wall_page(slug: str) -> Response:
    """An operator's wall as the compact embeddable wall: its title, its shown posts, its live stream."""
    wall = find_wall(slug)
    if wall is None:
        abort(404)
    shown = get_screen().wall_latest(wall, EMBED_POSTS)  # pinned first, approved only on an approval wall
    return _embed_page(
        title=wall.title,
        title_href=public_url_for("walls.page", slug=wall.slug),
        stream_url=url_for("walls.stream", slug=wall.slug, limit=EMBED_POSTS),
        posts=[post for post, _ in shown],
    )


def _embed_page(*, title: str, title_href: str, stream_url: str, posts: list[Post]) -> Response:
    page = render_template(
        "embed.html", title=title, title_href=title_href, stream_url=stream_url, posts=posts, limit=EMBED_POSTS
    )
    response = make_response(page)
    response.headers["Content-Security-Policy"] = embed_csp(get_settings())
    return response


@bp.after_app_request
def allow_framing(response: Response) -> Response:
    """Drop ``X-Frame-Options: DENY`` from the wall when origins may frame it: it would overrule them in
    browsers that do not know ``frame-ancestors``. Registered with the blueprint, before the app's own
    security headers, so this runs after them (Flask runs after-request functions last-registered first)."""
    if (
        request.endpoint in ("embed.wall", "embed.wall_page")
        and response.status_code == 200
        and get_settings().frame_ancestors
    ):
        response.headers.pop("X-Frame-Options", None)
    return response
