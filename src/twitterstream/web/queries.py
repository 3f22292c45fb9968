"""Reading a query from a person: parse it, and check the running source can evaluate it."""

from __future__ import annotations

from flask import has_app_context

from twitterstream.config import MAX_QUERY_LENGTH
from twitterstream.query import Query, QueryError, parse
from twitterstream.query.capabilities import unsupported_on
from twitterstream.web.context import get_settings, unsupported_reason

EMPTY_QUERY = 'Type something to watch: a word, a #hashtag, an @name or an "exact phrase".'


def read_query(text: str | None, source: str | tuple[str, ...]) -> Query:
    """The parsed query, or :class:`QueryError` saying what is wrong and where.

    ``source`` is the source the ingester runs (``context.running_source``), or all of them
    (``context.running_sources``): a query is refused only when none of them can evaluate it. A query over
    ``TWITTERSTREAM_MAX_QUERY_LENGTH`` is refused with the position where it passes the limit (outside a
    request, as ``twitterstream check`` reads it: X's 1,024 characters).
    """
    text = (text or "").strip()
    if not text:
        raise QueryError(EMPTY_QUERY, None)
    max_length = get_settings().max_query_length if has_app_context() else MAX_QUERY_LENGTH
    query = parse(text, max_length=max_length)
    sources = (source,) if isinstance(source, str) else source
    if len(sources) == 1:
        problem = unsupported_reason(query, sources[0])
        if problem:
            raise QueryError(problem, None)
    elif all(unsupported_on(query, name) for name in sources):
        lacking = sorted({op for name in sources for op in unsupported_on(query, name)})
        names = " or ".join(sources)
        raise QueryError(f"{', '.join(lacking)} cannot be evaluated on {names} posts: remove them", None)
    return query
