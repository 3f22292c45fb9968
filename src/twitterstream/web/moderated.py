"""What blueprints share for moderation: the screen, the operator's actions, the walls' live hub, and
reading posts as an audience may see them."""

from __future__ import annotations

from flask import Flask, current_app

from twitterstream.config import Settings
from twitterstream.moderation import Screen, Wall
from twitterstream.moderation.actions import Moderator
from twitterstream.store import Store
from twitterstream.web.context import source_status, wake_ingester
from twitterstream.web.live import LiveHub
from twitterstream.web.screened import QueryFeed, WallFeed


def init_moderation(app: Flask, store: Store, settings: Settings) -> QueryFeed:
    """Put the screen, the moderator and the walls' hub in ``app.extensions``; return the feed the
    search results' hub reads (so that it shows only what may be seen)."""
    # BLUESKY_SHOW_ADULT decides what is stored; this decides whether any labelled post is shown at all.
    screen = Screen(store, show_sensitive=settings.show_sensitive)
    app.extensions["screen"] = screen
    app.extensions["moderator"] = Moderator(store, screen)
    wall_feed = WallFeed(store, screen)
    app.extensions["wall_feed"] = wall_feed
    app.extensions["wall_hub"] = LiveHub(
        wall_feed,
        grace_seconds=settings.watch_grace_seconds,
        read_status=lambda: source_status(app),
        on_new_query=lambda: wake_ingester(app),
        heartbeat_seconds=settings.sse_keepalive_seconds,
        formatter=wall_feed.format,
    )
    query_feed = QueryFeed(store, screen)
    app.extensions["query_feed"] = query_feed
    return query_feed


def get_screen() -> Screen:
    screen: Screen = current_app.extensions["screen"]
    return screen


def get_moderator() -> Moderator:
    moderator: Moderator = current_app.extensions["moderator"]
    return moderator


def get_wall_hub() -> LiveHub:
    hub: LiveHub = current_app.extensions["wall_hub"]
    return hub


def get_wall_feed() -> WallFeed:
    feed: WallFeed = current_app.extensions["wall_feed"]
    return feed


def get_query_feed() -> QueryFeed:
    feed: QueryFeed = current_app.extensions["query_feed"]
    return feed


def find_wall(slug: str) -> Wall | None:
    """The wall named ``slug``, or None."""
    record = current_app.extensions["store"].get_wall(slug)
    return Wall.from_record(record) if record else None
