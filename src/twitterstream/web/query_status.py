"""The source status as a query's page and stream show it: only the networks the query runs on.

``context.source_status`` speaks of every running source (the header shows each network). A query runs on
some of them: its ``source:`` filter leaves some out, and some cannot evaluate what it asks for. X being down
is no news on the page of ``#a source:bluesky``. So a query's page and its stream's ``status`` events carry
``networks``, the running sources that follow the query (any of them, for a stream of several queries), and
the page's status line reads only their states. The other keys keep their meaning (``source`` and ``state``
are still the first running source's), so that a reader that knows no ``networks`` reads what it always did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from twitterstream.query import Query
from twitterstream.query.capabilities import follows
from twitterstream.web.channel import Message
from twitterstream.web.context import source_status, this_app
from twitterstream.web.sse import format_status

#: The keys of one source's status (``SourceStatus.to_json``) that a page reads.
_SOURCE_KEYS = ("source", "state", "reason", "retry_at", "warning", "since")


def query_networks(queries: Sequence[Query], sources: Iterable[str]) -> list[str]:
    """The ``sources`` (in their order) that follow at least one of ``queries``."""
    return [name for name in sources if any(follows(query, name) for query in queries)]


def status_sources(status: dict[str, Any]) -> list[str]:
    """The running sources a status speaks of: the names in its ``sources``, else its one ``source``."""
    sources = status.get("sources")
    if isinstance(sources, dict) and sources:
        return [str(name) for name in sources]
    return [str(status["source"])] if status.get("source") else []


def with_networks(status: dict[str, Any], queries: Sequence[Query]) -> dict[str, Any]:
    """``status`` with ``networks``: the running sources that follow at least one of ``queries``."""
    return {**status, "networks": query_networks(queries, status_sources(status))}


def page_status(queries: Sequence[Query]) -> dict[str, Any]:
    """The source's status for the page of ``queries`` (:func:`context.source_status` with ``networks``)."""
    return with_networks(source_status(this_app()), queries)


def own_status(status: dict[str, Any]) -> dict[str, Any]:
    """What a query's status line says, from a status with ``networks``: the status keys of its first network
    (the first source's own when that is one of them), ``ingester``, and ``sources`` only its networks.
    ``status`` itself when it names no network it has (static/status.js reads it the same way)."""
    sources = status.get("sources")
    networks = status.get("networks")
    if not isinstance(sources, dict) or not isinstance(networks, list):
        return status
    kept = {name: sources[name] for name in networks if isinstance(sources.get(name), dict)}
    if not kept:
        return status
    lead = status if status.get("source") in kept else next(iter(kept.values()))
    return {
        **{key: lead.get(key) for key in _SOURCE_KEYS},
        "ingester": status.get("ingester"),
        "sources": kept,
        "networks": networks,
    }


class StatusScope:
    """The ``status`` events of one stream: the source's status with the networks of the stream's queries."""

    __slots__ = ("_networks", "_sources", "queries")

    def __init__(self, queries: Sequence[Query]) -> None:
        self.queries = tuple(queries)
        self._sources: tuple[str, ...] | None = None
        self._networks: list[str] = []

    def apply(self, status: dict[str, Any]) -> dict[str, Any]:
        """``status`` with ``networks`` (worked out again only when the running sources change)."""
        sources = tuple(status_sources(status))
        if sources != self._sources:
            self._sources, self._networks = sources, query_networks(self.queries, sources)
        return {**status, "networks": self._networks}

    def first(self, status: dict[str, Any]) -> bytes:
        """The stream's first ``status`` event."""
        return format_status(self.apply(status))

    def message(self, message: Message) -> bytes:
        """The SSE bytes of a hub's status message for this stream (as published, when it has no status)."""
        if message.status is None:
            return message.text
        return format_status(self.apply(message.status))
