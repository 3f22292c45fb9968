"""Reading the parameters of feeds and export (query, format, since, until) into 400s that say why.

Errors are :class:`twitterstream.web.api.BadRequest`, answered as ``{"error": {"message", "position"}}`` by
each blueprint that registers :func:`twitterstream.web.api.bad_request`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import request

from twitterstream.query import Query, QueryError
from twitterstream.web.api import BadRequest
from twitterstream.web.context import running_sources, this_app
from twitterstream.web.queries import read_query

#: A numeric UTC offset whose "+" became a space on the way (an unencoded "+" in a query string).
_SPACED_OFFSET = re.compile(r" (\d{2}(:?\d{2})?)$")


def query_param(route: str) -> Query:
    """The ``q`` parameter, parsed and checked against the running source."""
    if "q" not in request.args:
        raise BadRequest(f"the q parameter is required: {route}?q=QUERY")
    try:
        return read_query(request.args["q"], running_sources(this_app()))
    except QueryError as exc:
        raise BadRequest(exc.message, exc.position) from None


def format_param(choices: tuple[str, ...]) -> str:
    """The ``format`` parameter: one of ``choices`` (the first is the default)."""
    value = request.args.get("format", choices[0])
    if value not in choices:
        raise BadRequest(f"format must be {' or '.join(choices)} (got {value!r})")
    return value


def time_param(name: str) -> datetime | None:
    """An ISO 8601 date or time parameter (``2026-01-31``, ``2026-01-31T12:00:00Z``, ``...+02:00``), in UTC."""
    raw = request.args.get(name)
    if raw is None:
        return None
    value = _SPACED_OFFSET.sub(r"+\1", raw.strip())
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        moment.timestamp()  # years 1 and 9999 with an offset overflow here, not later
    except (ValueError, OverflowError):
        raise BadRequest(
            f"{name} must be an ISO 8601 date or time such as 2026-01-31T12:00:00Z (got {raw!r})"
        ) from None
    return moment


def window_params() -> tuple[datetime | None, datetime | None]:
    """``since`` (inclusive) and ``until`` (exclusive), the first before the second."""
    since, until = time_param("since"), time_param("until")
    if since is not None and until is not None and since >= until:
        raise BadRequest("since must be earlier than until")
    return since, until
