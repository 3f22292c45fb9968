"""Which operators each source can evaluate: one table that the sources, the ingester and the web read.

X evaluates every operator itself (its rules run at X); the other sources are matched locally, so they can
evaluate only what the local matcher does, less what their posts never carry.
"""

from __future__ import annotations

from twitterstream.query.operators import LOCAL_OPERATORS
from twitterstream.query.query import Query

#: Per source: the operators it evaluates, or None when the service evaluates every operator itself.
SOURCE_CAPABILITIES: dict[str, frozenset[str] | None] = {
    "x": None,
    "bluesky": LOCAL_OPERATORS - {"is:verified", "cashtag", "has:cashtags"},
    "mastodon": LOCAL_OPERATORS - {"is:verified", "is:quote", "cashtag", "has:cashtags"},
    "replay": LOCAL_OPERATORS,
}

SOURCE_LABELS = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon", "replay": "replay"}


def unsupported_on(query: Query, source: str) -> list[str]:
    """The operators of ``query`` that ``source`` cannot evaluate, sorted (none for X or an unknown source)."""
    capabilities = SOURCE_CAPABILITIES.get(source)
    return [] if capabilities is None else query.unsupported(capabilities)
