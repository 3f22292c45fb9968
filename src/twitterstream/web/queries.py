"""Reading a query from a person: parse it, and check the configured source can evaluate it."""

from __future__ import annotations

from twitterstream.config import Settings
from twitterstream.query import Query, QueryError, parse
from twitterstream.sources import source_class

EMPTY_QUERY = 'Type something to watch: a word, a #hashtag, an @name or an "exact phrase".'


def read_query(text: str | None, settings: Settings) -> Query:
    """The parsed query, or :class:`QueryError` saying what is wrong and where."""
    text = (text or "").strip()
    if not text:
        raise QueryError(EMPTY_QUERY, None)
    query = parse(text)
    source = source_class(settings.source)
    if source.routes_locally:
        unsupported = query.unsupported(source.capabilities)
        if unsupported:
            raise QueryError(
                f"{', '.join(unsupported)} cannot be evaluated on {source.name} posts: "
                f"remove {'it' if len(unsupported) == 1 else 'them'} or use the X source",
                None,
            )
    return query
