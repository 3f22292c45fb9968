"""The product's data: one normalised public post, whatever service it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(slots=True)
class Author:
    """Who wrote a post. ``id`` is stable (X user id, Bluesky DID, Mastodon account URI)."""

    id: str
    username: str | None = None  # X username, Bluesky handle, Mastodon acct (user@domain)
    name: str | None = None
    verified: bool | None = None  # None: the service says nothing about it
    avatar_url: str | None = None  # http(s), or a path under /static/ (the bundled demo)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "name": self.name, "avatar_url": self.avatar_url}


#: The kinds of media a post may carry (X's names; Bluesky and Mastodon kinds are mapped onto them).
MEDIA_KINDS = ("photo", "video", "animated_gif")


@dataclass(frozen=True, slots=True)
class Media:
    """One picture, video or GIF of a post, as its service serves it; None where the service says nothing.

    ``url`` is the full-size image (photos) or the video itself when the service names one; ``preview_url`` a
    still to show in its place (a thumbnail, or a video's poster frame).
    """

    type: str
    url: str | None = None
    preview_url: str | None = None
    alt: str | None = None
    width: int | None = None
    height: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "url": self.url,
            "preview_url": self.preview_url,
            "alt": self.alt,
            "width": self.width,
            "height": self.height,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Media:
        return cls(
            type=str(value["type"]),
            url=value.get("url"),
            preview_url=value.get("preview_url"),
            alt=value.get("alt"),
            width=value.get("width"),
            height=value.get("height"),
        )


@dataclass(slots=True)
class Post:
    """One public post, normalised.

    Entity fields (``hashtags``, ``mentions``, ...) come from the service's own entities or facets,
    never from guessing at ``text``; the query matcher relies on that.
    """

    id: str
    source: str
    url: str
    text: str
    created_at: datetime
    author: Author
    lang: str | None = None
    is_retweet: bool = False
    is_reply: bool = False
    is_quote: bool = False
    hashtags: tuple[str, ...] = ()  # without '#', as written
    mentions: tuple[str, ...] = ()  # usernames/handles without '@'
    cashtags: tuple[str, ...] = ()  # without '$'
    urls: tuple[str, ...] = ()  # every form of every link: t.co and expanded, facet and card URIs
    media_types: tuple[str, ...] = ()  # subset of MEDIA_KINDS
    media_urls: tuple[str, ...] = ()  # the attached pictures and videos (or their previews), where known
    media: tuple[Media, ...] = ()  # what the service told of them (may be fewer than media_types say)
    reply_to: tuple[str, ...] = ()  # ids and usernames of the users replied to (for ``to:``)
    quoted_text: str = ""  # X stream rules also match the text of a quoted post
    sensitive: bool = False  # adult-content label / possibly_sensitive / Mastodon sensitive
    #: The author's own warning (Mastodon ``spoiler_text``): shown instead of the post until opened.
    #: ``text`` starts with it (followed by a blank line), so that queries match its words too.
    content_warning: str = ""
    embed_html: str | None = None  # sanitised HTML, or None until fetched
    #: Source-specific facts (Bluesky ``cid``/``uri``/``langs``, Mastodon ``uri``, ``via``); JSON-serialisable.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Globally unique key: the same post from the same service always has the same key."""
        return f"{self.source}:{self.id}"

    @property
    def delivered_by(self) -> str:
        """The source that delivered the post (what ``source:`` matches): ``source``, its network, unless a
        source of another name read it (``extra["via"]``: ``replay`` for the posts of the replay file)."""
        via = self.extra.get("via") if self.extra else None
        return via if isinstance(via, str) else self.source

    def to_json(self) -> dict[str, Any]:
        """The Post JSON of the API and the live stream (the README's HTTP section)."""
        return self._json(with_parts=True)

    def _json(self, *, with_parts: bool) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "url": self.url,
            "text": self.text,
            "created_at": format_time(self.created_at),
            "author": self.author.to_json(),
            "lang": self.lang,
            "media": [m.to_json() for m in self.media],
            "sensitive": self.sensitive,
            # what a sensitive post is shown behind: its author's warning or label, or a plain one
            "content_warning": self.content_warning or ("Possibly sensitive" if self.sensitive else None),
        }
        if with_parts:
            from twitterstream.richtext import text_parts  # it checks URLs with the sources' rules (they use Post)

            record["text_parts"] = text_parts(self)
        record["embed_html"] = self.embed_html
        return record

    def to_record(self) -> dict[str, Any]:
        """Everything, for the store; :meth:`from_record` reverses it."""
        record = self._json(with_parts=False)  # text_parts: derived from the fields below when read
        record["author"]["verified"] = self.author.verified
        record.update(
            is_retweet=self.is_retweet,
            is_reply=self.is_reply,
            is_quote=self.is_quote,
            hashtags=list(self.hashtags),
            mentions=list(self.mentions),
            cashtags=list(self.cashtags),
            urls=list(self.urls),
            media_types=list(self.media_types),
            media_urls=list(self.media_urls),
            reply_to=list(self.reply_to),
            quoted_text=self.quoted_text,
            sensitive=self.sensitive,
            extra=self.extra,
        )
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Post:
        """The post of a stored record; records written before a field existed load with its default."""
        author = record["author"]
        return cls(
            id=record["id"],
            source=record["source"],
            url=record["url"],
            text=record["text"],
            created_at=parse_time(record["created_at"]),
            author=Author(
                author["id"],
                author.get("username"),
                author.get("name"),
                author.get("verified"),
                author.get("avatar_url"),
            ),
            lang=record.get("lang"),
            is_retweet=record.get("is_retweet", False),
            is_reply=record.get("is_reply", False),
            is_quote=record.get("is_quote", False),
            hashtags=tuple(record.get("hashtags", ())),
            mentions=tuple(record.get("mentions", ())),
            cashtags=tuple(record.get("cashtags", ())),
            urls=tuple(record.get("urls", ())),
            media_types=tuple(record.get("media_types", ())),
            media_urls=tuple(record.get("media_urls", ())),
            media=tuple(Media.from_json(m) for m in record.get("media") or ()),
            reply_to=tuple(record.get("reply_to", ())),
            quoted_text=record.get("quoted_text", ""),
            sensitive=record.get("sensitive", False),
            content_warning=record.get("content_warning") or "",
            embed_html=record.get("embed_html"),
            extra=record.get("extra") or {},
        )


def parse_time(value: str) -> datetime:
    """Parse the RFC 3339 forms the services send ("...Z", "+00:00", with or without fractions)."""
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision and a ``Z``, as the API promises."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
