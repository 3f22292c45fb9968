"""Reading a query from a person: parse it, and check the running source can evaluate it."""

from __future__ import annotations

from flask import has_app_context

from twitterstream.config import MAX_QUERY_LENGTH
from twitterstream.query import Query, QueryError, parse
from twitterstream.query.capabilities import not_followed
from twitterstream.query.networks import covers, only_on
from twitterstream.web.context import get_settings, unsupported_reason

EMPTY_QUERY = 'Type something to watch: a word, a #hashtag, an @name or an "exact phrase".'
#: The most queries one live stream (and one columns page) follows.
MAX_STREAM_QUERIES = 6


class QueryListError(QueryError):
    """One query of several is wrong: ``index`` (1-based) says which, ``position`` where in it."""

    def __init__(self, message: str, position: int | None, index: int | None) -> None:
        super().__init__(message, position)
        self.index = index


def read_query(text: str | None, source: str | tuple[str, ...]) -> Query:
    """The parsed query, or :class:`QueryError` saying what is wrong and where.

    ``source`` is the source the ingester runs (``context.running_source``), or all of them
    (``context.running_sources``): a query is refused only when none of them can follow it (its ``source:``
    filter leaves them all out, or none can evaluate what it asks for). A query over
    ``TWITTERSTREAM_MAX_QUERY_LENGTH`` is refused with the position where it passes the limit (outside a
    request, as ``twitterstream check`` reads it: X's 1,024 characters).
    """
    text = (text or "").strip()
    if not text:
        raise QueryError(EMPTY_QUERY, None)
    max_length = get_settings().max_query_length if has_app_context() else MAX_QUERY_LENGTH
    query = parse(text, max_length=max_length)
    sources = (source,) if isinstance(source, str) else source
    if len(sources) == 1 and covers(query, sources[0]):
        problem = unsupported_reason(query, sources[0])
        if problem:
            raise QueryError(problem, None)
    error = not_followed(query, sources)
    if error is not None:
        raise error
    return query


NO_NETWORK = "Choose at least one network to watch."
NO_COMMON_NETWORK = "The networks chosen and the query's own source: have no network in common."


def narrow_to_networks(query: Query, checked: list[str], running: tuple[str, ...], max_length: int) -> Query:
    """``query`` narrowed to the ``checked`` networks of the form (``#nyc (source:x OR source:bluesky)``); the
    query itself when every running network is checked. Raises :class:`QueryError` (without a position: the
    person typed no such text) when none is checked, or when the narrowed query is too long or followed by none.
    """
    chosen = [name for name in running if name in checked]
    if not chosen:
        raise QueryError(NO_NETWORK, None)
    if len(chosen) == len(running):
        return query
    try:
        narrowed = only_on(query, chosen, max_length)
    except QueryError as exc:
        raise QueryError(f"{exc.message} with the networks chosen", None) from None
    if not any(covers(narrowed, name) for name in running):
        raise QueryError(NO_COMMON_NETWORK, None)
    error = not_followed(narrowed, running)
    if error is not None:
        raise QueryError(error.message, None)
    return narrowed


def read_queries(texts: list[str], source: str | tuple[str, ...]) -> list[Query]:
    """Several queries (``q`` given several times), each read as :func:`read_query`, duplicates (the same
    canonical form) once, in the order given; :class:`QueryListError` naming the first that is wrong, or
    when there are more than ``MAX_STREAM_QUERIES``."""
    if len(texts) > MAX_STREAM_QUERIES:
        raise QueryListError(f"at most {MAX_STREAM_QUERIES} queries at once: q is given {len(texts)} times", None, None)
    queries: dict[str, Query] = {}
    for index, text in enumerate(texts, 1):
        try:
            query = read_query(text, source)
        except QueryError as exc:
            shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:40] + "…"
            raise QueryListError(f"query {index} ({shown!r}): {exc.message}", exc.position, index) from None
        queries.setdefault(query.key, query)
    return list(queries.values())
