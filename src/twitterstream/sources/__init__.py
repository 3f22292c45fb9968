"""Clients for the services posts come from. Each hands Posts to a Sink (the ingester).

Modules: ``base`` (the Source and Sink interfaces), one module per service (``x`` with ``x_client`` and
``x_payload``, ``bluesky``, ``mastodon``, ``replay``, each ``*_payload`` decoding that service's JSON), and
what they share: ``errors`` (the SourceError tree), ``reconnect`` (backoff policy), ``framing`` (lines out of
a byte stream), ``dedupe`` (replays dropped), ``network`` (failures in words).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from twitterstream.sources.base import Sink, Source
from twitterstream.status import SourceStatus

if TYPE_CHECKING:
    from twitterstream.config import Settings

__all__ = ["Sink", "Source", "SourceStatus", "make_source", "source_class", "source_factories"]


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


def make_source(settings: Settings, sink: Sink, name: str | None = None) -> Source:
    """The source ``name`` (default: the configured one, ``settings.source``), reporting to ``sink``."""
    return source_class(name or settings.source)(settings, sink)


def source_factories(settings: Settings) -> dict[str, Callable[[Sink], Source]]:
    """One factory per configured source (``settings.source_names``), for the ingester."""
    return {name: partial(make_source, settings, name=name) for name in settings.source_names}
