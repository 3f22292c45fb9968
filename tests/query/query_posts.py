"""A small Post builder for the query tests: every field a query can look at, with plain defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twitterstream.models import Author, Post

CREATED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def post(
    text: str = "",
    *,
    username: str = "someone",
    author_id: str = "42",
    verified: bool | None = None,
    **fields: Any,
) -> Post:
    """A post from X with ``text``; ``fields`` are any other Post fields (hashtags=("nyc",), lang="en" ...)."""
    return Post(
        id=str(fields.pop("id", "1")),
        source=fields.pop("source", "x"),
        url="https://x.com/i/web/status/1",
        text=text,
        created_at=CREATED,
        author=Author(id=author_id, username=username, name="Some One", verified=verified),
        **fields,
    )
