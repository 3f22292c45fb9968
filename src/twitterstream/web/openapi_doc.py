"""The OpenAPI 3.1 description of the public ``/api/v1`` routes (served at ``/api/v1/openapi.json``).

Kept true by the tests: they validate it, check real answers against its schemas and fuzz every route it
describes. A route added to the public API is added here, with its parameters and answers.
"""

from __future__ import annotations

import copy
from typing import Any

from twitterstream.web.api import MAX_LIMIT
from twitterstream.web.openapi_schemas import SCHEMAS, ref
from twitterstream.web.params import MAX_POST_ID
from twitterstream.web.queries import MAX_STREAM_QUERIES
from twitterstream.web.stats import DEFAULT_MINUTES, MAX_MINUTES


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_QUERY = {
    "name": "q",
    "in": "query",
    "required": True,
    "description": 'The query, in X\'s filtered-stream rule syntax (a word, #tag, @name, "phrase", operators), plus '
    "`source:` (`#nyc source:bluesky`: the networks a post may come from).",
    "schema": {"type": "string"},
    "example": "#nyc -is:retweet",
}
_QUERIES = {
    "name": "q",
    "in": "query",
    "required": True,
    "description": f"The query, as on the other routes; up to {MAX_STREAM_QUERIES} times for one stream of "
    "several queries (`?q=%23nyc&q=%23paris`; the same query twice counts once). More, or an invalid one, "
    "answers 400 (`q_index` says which).",
    "schema": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_STREAM_QUERIES},
    "style": "form",
    "explode": True,
}
_LIMIT = {
    "name": "limit",
    "in": "query",
    "description": f"How many posts (1 to {MAX_LIMIT}).",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
}


def _format(choices: list[str]) -> dict[str, Any]:
    return {
        "name": "format",
        "in": "query",
        "description": f"One of {', '.join(choices)}; an unknown format answers 400.",
        "schema": {"type": "string", "enum": choices, "default": choices[0]},
    }


def _moment(name: str, meaning: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": f"ISO 8601 date or time (UTC when no offset is given): {meaning}.",
        "schema": {"type": "string", "format": "date-time"},
        "example": "2026-01-31T12:00:00Z",
    }


_SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The wall's name.",
}
_BAD_REQUEST = _json(ref("Error"), "Bad input: a missing or invalid query or parameter, with the reason.")
_UNAVAILABLE = _json(ref("Error"), "The store does not answer right now; retry in a moment.")
_ERRORS = {"400": _BAD_REQUEST, "503": _UNAVAILABLE}

_PATHS: dict[str, Any] = {
    "/api/v1/results": {
        "get": {
            "operationId": "results",
            "summary": "The latest posts of a query, newest first, page by page (asking starts watching it)",
            "parameters": [
                _QUERY,
                _LIMIT,
                {
                    "name": "before",
                    "in": "query",
                    "description": "A post id from the previous page (its last): answers the next older page. "
                    "Walking so visits every stored post of the query once. An id not among them answers 400.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_POST_ID},
                },
            ],
            "responses": {"200": _json(ref("Results"), "The posts, newest first."), **_ERRORS},
        }
    },
    "/api/v1/pace": {
        "get": {
            "operationId": "pace",
            "summary": "Arrivals per minute over the last 30 minutes (oldest first) and in the last minute",
            "parameters": [_QUERY],
            "responses": {"200": _json(ref("Pace"), "Counts of arrived posts."), **_ERRORS},
        }
    },
    "/api/v1/stats": {
        "get": {
            "operationId": "stats",
            "summary": "What arrived for a query in the last minutes: per minute, top hashtags and authors, "
            "languages, media share",
            "description": "Counted exactly over every post that arrived in the window (the current minute and the "
            "ones before it), however many the store keeps; hashtags case-insensitive. Asking does not start "
            "watching the query.",
            "parameters": [
                _QUERY,
                {
                    "name": "minutes",
                    "in": "query",
                    "description": f"The window in minutes (1 to {MAX_MINUTES}).",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_MINUTES, "default": DEFAULT_MINUTES},
                },
            ],
            "responses": {"200": _json(ref("Stats"), "The window's counts."), **_ERRORS},
        }
    },
    "/api/v1/stream": {
        "get": {
            "operationId": "stream",
            "summary": "Live events of one or several queries as Server-Sent Events (asking starts watching them)",
            "description": "`event: post` (`id:` the post id, `data:` StreamPost: Post JSON with `queries`), "
            "`event: embed`, `event: delete`, `event: status` (`data:` StreamStatus: the sources' state, and "
            "`networks`, the ones the queries run on); `: keep-alive` comments. The stream starts with its status, "
            "then the latest `limit` posts, oldest first; with `Last-Event-ID`, it resumes after that post. "
            "With several `q`: one stream of them all; a post that matched several is sent once, `queries` "
            "listing them; each query starts with its latest `limit` posts (one backlog, oldest first). A post "
            "event's `id:` is then a resume token (`tag:cursor`, comma-separated: where each query's event log "
            "was sent up to); with it as `Last-Event-ID` every query it names resumes exactly there, and a query "
            "it does not name starts with its latest posts. One stream takes one of the client's stream places; "
            "each query not watched yet counts as a new query.",
            "parameters": [
                _QUERIES,
                _LIMIT,
                {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
                {"name": "last_event_id", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "An endless event stream.", "content": {"text/event-stream": {}}},
                **_ERRORS,
            },
        }
    },
    "/api/v1/feed": {
        "get": {
            "operationId": "feed",
            "summary": "The newest posts of a query as an Atom 1.0 (default) or RSS 2.0 feed",
            "description": "Answers `ETag` and `Last-Modified`; a request with `If-None-Match` or "
            "`If-Modified-Since` of the current version answers 304 with no body. Polling keeps the query watched.",
            "parameters": [
                _QUERY,
                _format(["atom", "rss"]),
                {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "The feed.",
                    "headers": {
                        "ETag": {"schema": {"type": "string"}},
                        "Last-Modified": {"schema": {"type": "string"}},
                    },
                    "content": {"application/atom+xml": {}, "application/rss+xml": {}},
                },
                "304": {"description": "The reader has this version already."},
                **_ERRORS,
            },
        }
    },
    "/api/v1/export": {
        "get": {
            "operationId": "export",
            "summary": "Every stored post of a query, newest first, as a CSV or JSON-lines download",
            "description": "Streamed; watches nothing. CSV columns: id, created_at, source, author_id, "
            "author_username, author_name, text, url, lang, hashtags, media_urls (UTF-8 with a byte order mark). "
            "JSON lines: one Post per line.",
            "parameters": [
                _QUERY,
                _format(["csv", "jsonl"]),
                _moment("since", "posts at this time or later"),
                _moment("until", "posts before this time"),
            ],
            "responses": {
                "200": {
                    "description": "The download (`Content-Disposition: attachment`).",
                    "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                    "content": {"text/csv": {}, "application/x-ndjson": {}},
                },
                **_ERRORS,
            },
        }
    },
    "/api/v1/walls": {
        "get": {
            "operationId": "walls",
            "summary": "The walls: an operator's named, moderated queries",
            "responses": {"200": _json(ref("Walls"), "Every wall's slug, title and query.")},
        }
    },
    "/api/v1/walls/{slug}/posts": {
        "get": {
            "operationId": "wallPosts",
            "summary": "A wall's posts as its audience sees them: pinned first, then newest first, page by page",
            "parameters": [
                _SLUG,
                _LIMIT,
                {
                    "name": "before",
                    "in": "query",
                    "description": "The id of the last unpinned post of the previous page: answers the next older "
                    "page of unpinned posts (pinned ones lead the first page only). An id the wall does not hold "
                    "answers 400.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_POST_ID},
                },
            ],
            "responses": {
                "200": _json(ref("WallPosts"), "The wall's posts (Post JSON with `pinned`)."),
                "404": _json(ref("Error"), "No wall has that slug."),
                **_ERRORS,
            },
        }
    },
    "/api/v1/walls/{slug}/stream": {
        "get": {
            "operationId": "wallStream",
            "summary": "Live events of a wall as Server-Sent Events (as /api/v1/stream; posts carry `pinned`)",
            "description": "Moderation acts at once: a post the operator hides, blocks or rejects is sent as "
            "`event: delete`; an approved, pinned or unpinned one as `event: post`.",
            "parameters": [
                _SLUG,
                _LIMIT,
                {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
                {"name": "last_event_id", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "An endless event stream.", "content": {"text/event-stream": {}}},
                "404": _json(ref("Error"), "No wall has that slug."),
                **_ERRORS,
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This description",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
        }
    },
}


def document() -> dict[str, Any]:
    """The description, a fresh dict each call (callers may change it)."""
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "TwitterStream API",
                "version": "1",
                "description": "Read-only: the posts of watched queries, live, as feeds and as downloads. "
                "Every route answers cross-origin reads (`Access-Control-Allow-Origin: *`).",
            },
            "paths": _PATHS,
            "components": {"schemas": SCHEMAS},
        }
    )
