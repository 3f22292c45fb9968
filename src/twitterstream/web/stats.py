"""``GET /api/v1/stats``: what arrived for a query in the last minutes, counted exactly by the store."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, jsonify, request

from twitterstream.moderation.blocklist import author_entry, words_of
from twitterstream.query import QueryError
from twitterstream.store.stats import KEEP_MINUTES
from twitterstream.web.api import BadRequest, bad_request
from twitterstream.web.context import get_store, running_sources, this_app
from twitterstream.web.moderated import get_screen
from twitterstream.web.params import whole_number
from twitterstream.web.queries import read_query

bp = Blueprint("stats", __name__, url_prefix="/api/v1")
bp.register_error_handler(BadRequest, bad_request)

DEFAULT_MINUTES = 60
MAX_MINUTES = KEEP_MINUTES
#: Entries in each top list.
TOP = 10


@bp.get("/stats")
def stats() -> Any:
    """Posts of a query that arrived in the last ``minutes`` minutes (the current one included): per minute,
    top hashtags (case-insensitive), top authors, languages and the share with media."""
    if "q" not in request.args:
        raise BadRequest("the q parameter is required: /api/v1/stats?q=QUERY&minutes=60")
    try:
        query = read_query(request.args["q"], running_sources(this_app()))
    except QueryError as exc:
        raise BadRequest(exc.message, exc.position) from None
    minutes = whole_number(request.args.get("minutes"), "minutes", 1, MAX_MINUTES, DEFAULT_MINUTES)
    counts = get_store().stats(query.key, minutes)
    # An author or a word the operator blocked is never named on a page (the posts still count).
    blocklist = get_screen().blocklist()
    blocked_authors = {author_entry(a) for a in blocklist.authors}
    blocked_words = {words_of(w) for w in blocklist.words}
    return jsonify(
        query=query.key,
        minutes=minutes,
        posts=counts.posts,
        per_minute=counts.per_minute,
        top_hashtags=[
            {"tag": tag, "count": n} for tag, n in _top(counts.hashtags) if words_of(tag) not in blocked_words
        ][:TOP],
        top_authors=[
            {"username": name, "count": n}
            for name, n in _top(counts.authors)
            if author_entry(name) not in blocked_authors
        ][:TOP],
        languages=[{"lang": lang, "count": n} for lang, n in _top(counts.languages)],
        media_share=round(counts.media / counts.posts, 4) if counts.posts else 0.0,
    )


def _top(counter: Counter[str]) -> list[tuple[str, int]]:
    """Most counted first; equal counts by name, so that the order is stable between reads."""
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))
