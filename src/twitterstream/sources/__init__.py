"""Clients for the services posts come from. Each yields Posts to a Sink (the ingester)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twitterstream.sources.base import Sink, Source, SourceStatus

if TYPE_CHECKING:
    from twitterstream.config import Settings

__all__ = ["Sink", "Source", "SourceStatus", "make_source", "source_class"]


def source_class(name: str) -> type[Source]:
    """The Source class for a ``TWITTERSTREAM_SOURCE`` name (imported lazily: each pulls its own client)."""
    if name == "x":
        from twitterstream.sources.x import XSource

        return XSource
    if name == "replay":
        from twitterstream.sources.replay import ReplaySource

        return ReplaySource
    if name == "bluesky":
        from twitterstream.sources.bluesky import BlueskySource

        return BlueskySource
    if name == "mastodon":
        from twitterstream.sources.mastodon import MastodonSource

        return MastodonSource
    raise ValueError(f"unknown source {name!r}")


def make_source(settings: Settings, sink: Sink) -> Source:
    """The configured source, reporting to ``sink``."""
    return source_class(settings.source)(settings, sink)
