"""A wall: an operator's named, saved query with its own rules (approval, replies, reposts, languages)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twitterstream.models import Post
from twitterstream.query import Query, QueryError

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}$")
MAX_TITLE = 200
#: The lease holder under which a wall keeps its query watched, and how long (renewed on every change).
WALL_LEASE_SECONDS = 10 * 365 * 24 * 3600.0

#: Marks a wall keeps on posts (store scope: the wall's slug). Hidden posts are global (scope "").
APPROVED, REJECTED, PINNED, HIDDEN = "approved", "rejected", "pinned", "hidden"


class WallError(ValueError):
    """A wall body that cannot be used; ``position`` is the 1-based column of a query error."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def check_slug(slug: str) -> None:
    if not SLUG.match(slug):
        raise WallError(f"{slug!r} is not a wall name: use 1 to 64 lower-case letters, digits and '-' (like my-talk)")


@dataclass(frozen=True)
class Wall:
    """A wall as stored (``to_record``) and as the API shows it (``to_json``)."""

    slug: str
    title: str
    query: str
    query_key: str
    approval: bool = False
    hide_replies: bool = False
    hide_reposts: bool = False
    languages: tuple[str, ...] = ()

    @property
    def channel(self) -> str:
        """The wall's live channel name in the web's wall hub."""
        return f"wall:{self.slug}"

    @property
    def holder(self) -> str:
        """The lease holder that keeps the wall's query watched."""
        return f"wall:{self.slug}"

    def shows(self, post: Post) -> bool:
        """The wall's own rules (approval aside): replies, reposts, languages."""
        if self.hide_replies and post.is_reply:
            return False
        if self.hide_reposts and post.is_retweet:
            return False
        if self.languages:
            lang = (post.lang or "").split("-", 1)[0].lower()
            return lang in self.languages
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "query": self.query,
            "approval": self.approval,
            "hide_replies": self.hide_replies,
            "hide_reposts": self.hide_reposts,
            "languages": list(self.languages),
        }

    def to_record(self) -> dict[str, Any]:
        return {**self.to_json(), "query_key": self.query_key}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Wall:
        return cls(
            slug=record["slug"],
            title=record["title"],
            query=record["query"],
            query_key=record["query_key"],
            approval=bool(record.get("approval")),
            hide_replies=bool(record.get("hide_replies")),
            hide_reposts=bool(record.get("hide_reposts")),
            languages=tuple(record.get("languages") or ()),
        )

    @classmethod
    def from_json(cls, slug: str, body: Any, read_query: Callable[[str], Query]) -> Wall:
        """Read a PUT body; :class:`WallError` says what is wrong (with the position of a query error)."""
        check_slug(slug)
        if not isinstance(body, Mapping):
            raise WallError('a wall must be a JSON object: {"title": "...", "query": "...", "approval": false}')
        allowed = {"title", "query", "approval", "hide_replies", "hide_reposts", "languages"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise WallError(f"unknown field {unknown[0]!r}: a wall has {', '.join(sorted(allowed))}")
        title = body.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            raise WallError(f"title must be a non-empty string of at most {MAX_TITLE} characters")
        text = body.get("query")
        if not isinstance(text, str):
            raise WallError("query must be a string (a search, like #mytalk OR @me)")
        try:
            query = read_query(text)
        except QueryError as exc:
            raise WallError(f"query: {exc.message}", exc.position) from None
        flags = {}
        for name in ("approval", "hide_replies", "hide_reposts"):
            value = body.get(name, False)
            if not isinstance(value, bool):
                raise WallError(f"{name} must be true or false")
            flags[name] = value
        languages = body.get("languages", [])
        if not isinstance(languages, list) or not all(
            isinstance(x, str) and _LANGUAGE.match(x.lower()) for x in languages
        ):
            raise WallError('languages must be a list of two- or three-letter language codes, like ["en", "fr"]')
        return cls(
            slug=slug,
            title=title.strip(),
            query=query.text,
            query_key=query.key,
            languages=tuple(dict.fromkeys(x.lower() for x in languages)),
            **flags,
        )
