"""Which operators each source can evaluate: one table that the sources, the ingester and the web read.

X evaluates every operator itself (its rules run at X); the other sources are matched locally, so they can
evaluate only what the local matcher does, less what their posts never carry. A query is judged as the source
sees it (``networks.on_source``): ``(source:x is:verified #a) OR #b`` is ``#b`` on Bluesky, which it can follow.
"""

from __future__ import annotations

from twitterstream.query.ast import Operator, terms
from twitterstream.query.errors import QueryError
from twitterstream.query.networks import SOURCE, covers, on_source
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
    """The operators of ``query`` that ``source`` cannot evaluate, sorted (none for X or an unknown source,
    and none when the query's ``source:`` filter leaves ``source`` out: see ``networks.covers``)."""
    capabilities = SOURCE_CAPABILITIES.get(source)
    seen = on_source(query, source)
    return [] if capabilities is None or seen is None else seen.unsupported(capabilities)


def follows(query: Query, source: str) -> bool:
    """Whether ``source`` follows ``query``: its ``source:`` filter keeps it, and it can evaluate the rest."""
    return covers(query, source) and not unsupported_on(query, source)


def names(sources: list[str] | tuple[str, ...]) -> str:
    """Sources as people write them, joined: "X", "X and Bluesky", "X, Bluesky and Mastodon"."""
    labels = [SOURCE_LABELS.get(name, name) for name in sources]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def not_followed(query: Query, sources: list[str] | tuple[str, ...]) -> QueryError | None:
    """Why none of the running ``sources`` can follow ``query``, or None when one can: its ``source:`` filter
    leaves every one out (the position of its first ``source:``), or none can evaluate what it asks for."""
    covered = [name for name in sources if covers(query, name)]
    if not covered:
        first = next(term for term in terms(query.tree) if isinstance(term, Operator) and term.name == SOURCE)
        return QueryError(f"source: leaves out every network running here ({names(sources)})", first.pos)
    lacking = {name: unsupported_on(query, name) for name in covered}
    if all(lacking.values()):
        operators = sorted({op for ops in lacking.values() for op in ops})
        return QueryError(
            f"{', '.join(operators)} cannot be evaluated on {' or '.join(covered)} posts: remove "
            f"{'it' if len(operators) == 1 else 'them'}",
            None,
        )
    return None
