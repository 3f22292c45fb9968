"""Fake services for the tests and benchmarks: real servers on 127.0.0.1 that answer as X, Jetstream, Mastodon
and Bluesky's profile API do (``server.py`` is what they share, ``websocket_server.py`` what a WebSocket fake
adds, ``waiting.py`` the one ``eventually``). Each fake is split into modules by job; ``jetstream``, ``mastodon``
and ``x_api`` hold the servers and re-export their builders. The fake X API v2 and its payload builders are
re-exported here; other fakes are imported from their own modules."""

from .x_api import FakeX
from .x_http import RecordedRequest
from .x_posts import make_media, make_post, make_user, media_for, next_snowflake
from .x_render import (
    x_401,
    x_409_no_rules,
    x_429_too_many_connections,
    x_429_too_many_requests,
    x_500,
    x_502_html,
    x_503,
)

__all__ = [
    "FakeX",
    "RecordedRequest",
    "make_media",
    "make_post",
    "make_user",
    "media_for",
    "next_snowflake",
    "x_401",
    "x_409_no_rules",
    "x_429_too_many_connections",
    "x_429_too_many_requests",
    "x_500",
    "x_502_html",
    "x_503",
]
