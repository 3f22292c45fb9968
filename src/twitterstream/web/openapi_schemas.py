"""The schemas of the OpenAPI description (``openapi_doc.py``): Post, errors, and each JSON answer."""

from __future__ import annotations

from typing import Any

from twitterstream.web.queries import MAX_STREAM_QUERIES
from twitterstream.web.stats import MAX_MINUTES


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_NULLABLE_STRING = {"type": ["string", "null"]}


def _top(name: str, meaning: str) -> dict[str, Any]:
    return {
        "type": "array",
        "description": "Most counted first (equal counts by name).",
        "items": {
            "type": "object",
            "required": [name, "count"],
            "properties": {
                name: {"type": "string", "description": meaning},
                "count": {"type": "integer", "minimum": 1},
            },
        },
    }


#: One source's status, in words (``SourceStatus``).
_SOURCE_STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["source", "state", "reason", "retry_at", "warning", "since"],
    "properties": {
        "source": {**_NULLABLE_STRING, "examples": ["x", "bluesky", "mastodon", "replay"]},
        "state": {
            "type": ["string", "null"],
            "examples": ["starting", "connected", "idle", "reconnecting", "standby", "stopped", "paused", "unknown"],
        },
        "reason": {"type": "string", "description": "Why it is not connected, in words (empty when it is)."},
        "retry_at": {"type": ["number", "null"], "description": "When it tries again (Unix time), if it waits."},
        "warning": {"type": "string", "description": "What a person should know while it works (or empty)."},
        "since": {"type": ["number", "null"], "description": "Since when it is in this state (Unix time)."},
    },
}

SCHEMAS: dict[str, Any] = {
    "Post": {
        "type": "object",
        "description": "One public post, normalised, whatever service it came from.",
        "required": ["id", "source", "url", "text", "created_at", "author", "lang", "embed_html"],
        "properties": {
            "id": {"type": "string", "description": "The service's id of the post (paging cursor for `before`)."},
            "source": {"type": "string", "examples": ["x", "bluesky", "mastodon"]},
            "url": {"type": "string", "description": "The post on its service."},
            "text": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC, milliseconds."},
            "author": {
                "type": "object",
                "required": ["id", "username", "name"],
                "properties": {"id": {"type": "string"}, "username": _NULLABLE_STRING, "name": _NULLABLE_STRING},
            },
            "lang": _NULLABLE_STRING,
            "embed_html": {**_NULLABLE_STRING, "description": "Sanitised embed HTML, or null until fetched."},
        },
    },
    "StreamPost": {
        "type": "object",
        "description": "The data of an `event: post` of `/api/v1/stream`: Post JSON with `queries`.",
        "allOf": [ref("Post")],
        "required": ["queries"],
        "properties": {
            "queries": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "maxItems": MAX_STREAM_QUERIES,
                "description": "The canonical keys of the asked queries the post matched, in the order asked "
                "(with one `q`, that query's key).",
            }
        },
    },
    "StreamStatus": {
        "type": "object",
        "description": "The data of an `event: status` of a live stream: sent first, then whenever a source's "
        "state changes. `source`, `state`, `reason`... are the first running source's; `sources` has each "
        "running source by name (what the pages' header shows); `networks` names those the stream's queries "
        "run on, whose states alone concern its posts.",
        "allOf": [_SOURCE_STATUS],
        "required": ["ingester", "sources", "networks"],
        "properties": {
            "ingester": {
                "type": "string",
                "examples": ["running", "standby", "absent", "stopped", "silent", "unknown"],
                "description": "Whether an ingester runs (`absent`, `stopped`, `silent`: no posts can arrive).",
            },
            "sources": {"type": "object", "additionalProperties": _SOURCE_STATUS},
            "networks": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The running sources (keys of `sources`, in their order) that follow the stream's "
                "query (any of its queries, with several `q`): its `source:` filter keeps them and they can "
                "evaluate it. `#a source:bluesky` with X down: only Bluesky, whose state alone concerns it.",
            },
        },
    },
    "Walls": {
        "type": "object",
        "required": ["walls"],
        "properties": {
            "walls": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["slug", "title", "query"],
                    "properties": {
                        "slug": {"type": "string"},
                        "title": {"type": "string"},
                        "query": {"type": "string"},
                    },
                },
            }
        },
    },
    "WallPosts": {
        "type": "object",
        "required": ["wall", "title", "posts"],
        "properties": {
            "wall": {"type": "string"},
            "title": {"type": "string"},
            "posts": {
                "type": "array",
                "items": {"allOf": [ref("Post"), {"type": "object", "properties": {"pinned": {"type": "boolean"}}}]},
            },
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "position"],
                "properties": {
                    "message": {"type": "string", "description": "What is wrong, in words."},
                    "position": {
                        "type": ["integer", "null"],
                        "description": "1-based position of the problem in the query, when there is one.",
                    },
                    "q_index": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_STREAM_QUERIES,
                        "description": "With several `q`: which of them (1-based, in the order given) is wrong.",
                    },
                },
            }
        },
    },
    "Results": {
        "type": "object",
        "required": ["query", "source", "watching_since", "posts"],
        "properties": {
            "query": {"type": "string", "description": "The query in canonical form."},
            "source": {"type": "string", "description": "The source the ingester runs."},
            "watching_since": {
                "type": "string",
                "format": "date-time",
                "description": "When the query began to be watched (RFC 3339, UTC): an empty page of a query "
                "watched for a moment means wait, or open the stream.",
            },
            "posts": {"type": "array", "items": ref("Post"), "description": "Newest first."},
        },
    },
    "Pace": {
        "type": "object",
        "required": ["query", "per_minute", "last_minute"],
        "properties": {
            "query": {"type": "string"},
            "per_minute": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 30},
            "last_minute": {"type": "integer", "minimum": 0},
        },
    },
    "Stats": {
        "type": "object",
        "required": [
            "query",
            "minutes",
            "posts",
            "per_minute",
            "top_hashtags",
            "top_authors",
            "languages",
            "media_share",
        ],
        "properties": {
            "query": {"type": "string", "description": "The query in canonical form."},
            "minutes": {"type": "integer", "minimum": 1, "maximum": MAX_MINUTES},
            "posts": {"type": "integer", "minimum": 0, "description": "Posts that arrived in the window."},
            "per_minute": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0},
                "minItems": 1,
                "maxItems": MAX_MINUTES,
                "description": "Arrivals per minute, oldest first; the last is the current minute.",
            },
            "top_hashtags": _top("tag", "A hashtag in lower case, without '#'."),
            "top_authors": _top("username", "The author's username (or id when the service gives none)."),
            "languages": _top("lang", "The post's language as the service says it; `und` when it says none."),
            "media_share": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "The share of the posts with pictures or videos (0 when there are none).",
            },
        },
    },
}
