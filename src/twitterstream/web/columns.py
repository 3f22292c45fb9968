"""The columns page: several queries side by side, each live, on one stream (``/columns?q=A&q=B``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template, request

from twitterstream.query import Query, QueryError
from twitterstream.web.context import running_sources, this_app
from twitterstream.web.params import limit_choice
from twitterstream.web.queries import MAX_STREAM_QUERIES, read_query
from twitterstream.web.query_status import page_status

bp = Blueprint("columns", __name__)

#: The most of a refused query the page shows back.
ECHO_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Refused:
    """A ``q`` of the address the page cannot show: which one, what was asked, and what is wrong (where)."""

    index: int
    text: str
    message: str
    position: int | None


@bp.get("/columns")
def page() -> tuple[str, int]:
    """The columns of the address's ``q`` (in order, each query once, at most ``MAX_STREAM_QUERIES``); the
    ones that cannot be shown are named with what is wrong. The posts come over the page's one live stream."""
    sources = running_sources(this_app())
    columns: list[Query] = []
    refused: list[Refused] = []
    for index, text in enumerate(request.args.getlist("q"), 1):
        echo = text.strip()[:ECHO_LIMIT]
        try:
            query = read_query(text, sources)
        except QueryError as exc:
            refused.append(Refused(index, echo, exc.message, exc.position))
            continue
        if any(column.key == query.key for column in columns):
            continue  # the same query twice is one column
        if len(columns) == MAX_STREAM_QUERIES:
            message = f"{MAX_STREAM_QUERIES} columns at most: remove one to add another"
            refused.append(Refused(index, echo, message, None))
            continue
        columns.append(query)
    return (
        render_template(
            "columns.html",
            columns=columns,
            refused=refused,
            limit=limit_choice(request.args.get("limit")),
            most=MAX_STREAM_QUERIES,
            status=page_status(columns),
        ),
        400 if refused and not columns else 200,
    )
