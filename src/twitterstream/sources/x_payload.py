"""Decode X API v2 payloads (stream messages and response pages) into :class:`Post` objects.

Tolerant by design, as X asks of clients: fields in any order, unknown fields and message types ignored,
rule ids as numbers or strings, rule tags missing, ``null`` or empty.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twitterstream.errors import DecodeError
from twitterstream.models import Author, Media, Post, parse_time
from twitterstream.sources.decoding import decoder, load_json
from twitterstream.sources.identifiers import InvalidPost, x_id, x_username
from twitterstream.sources.media import avatar_url, make_media

#: What the stream and recent search are asked for, so that every operator of the query language can be
#: evaluated and every card rendered.
TWEET_FIELDS = "created_at,author_id,lang,entities,referenced_tweets,possibly_sensitive,in_reply_to_user_id,attachments"
EXPANSIONS = "author_id,referenced_tweets.id,attachments.media_keys"
USER_FIELDS = "username,name,verified,profile_image_url"
MEDIA_FIELDS = "type,url,preview_image_url,alt_text,width,height"

_TWITTER_EPOCH_MS = 1288834974657
_MEDIA_KEY_TYPES = {"3": "photo", "7": "video", "16": "animated_gif"}
#: The expanded form of a post's link to its own attached media.
_OWN_MEDIA = re.compile(r"^https://(?:x|twitter)\.com/\w+/status/\d+/(?:photo|video)/\d+$")


@dataclass(slots=True)
class StreamMessage:
    """One line of the filtered stream: posts with the rules they matched, or in-stream errors."""

    posts: list[Post] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    rule_tags: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


@decoder("an X stream line")
def decode_stream_line(line: bytes) -> StreamMessage | None:
    """Decode one stream line; ``None`` for a keep-alive (blank line). Raises :class:`DecodeError`."""
    line = line.strip()
    if not line:
        return None
    payload = load_json(line, "an X stream line")
    if not isinstance(payload, dict):
        raise DecodeError("an X stream line is not a JSON object")
    return decode_stream_message(payload)


@decoder("an X stream message")
def decode_stream_message(payload: dict[str, Any]) -> StreamMessage:
    """Decode an already parsed stream message (also used by the replay source).

    Raises :class:`InvalidPost` when the post's ids or username break X's syntax.
    """
    message = StreamMessage()
    data = payload.get("data")
    if isinstance(data, dict):
        message.posts = [post_from_tweet(data, payload.get("includes") or {})]
        for rule in payload.get("matching_rules") or ():
            if isinstance(rule, dict) and rule.get("id") is not None:
                message.rule_ids.append(str(rule["id"]))
                message.rule_tags.append(rule.get("tag") or "")
    errors = payload.get("errors")
    if isinstance(errors, list) and not message.posts:
        message.errors = [e for e in errors if isinstance(e, dict)]
    return message


@decoder("an X response page")
def posts_from_page(payload: dict[str, Any], invalid: Callable[[InvalidPost], None] | None = None) -> list[Post]:
    """Decode a response page (recent search, or a page as twarc2 writes them); newest first as given.

    A post that breaks X's syntax is left out (its neighbours are kept) and handed to ``invalid``.
    """
    data = payload.get("data")
    if not isinstance(data, list):
        return []
    includes = payload.get("includes") or {}
    posts = []
    for tweet in data:
        if not isinstance(tweet, dict) or "id" not in tweet:
            continue
        try:
            posts.append(post_from_tweet(tweet, includes))
        except InvalidPost as exc:
            if invalid is not None:
                invalid(exc)
    return posts


def post_from_tweet(tweet: dict[str, Any], includes: dict[str, Any]) -> Post:
    """Build a Post from an X v2 tweet object and the message's ``includes``.

    Raises :class:`InvalidPost` when its id, author id or author's username breaks X's syntax.
    """
    post_id = x_id(tweet["id"])
    users = {str(u.get("id")): u for u in includes.get("users") or () if isinstance(u, dict)}
    author_id = x_id(tweet["author_id"], "X author id") if tweet.get("author_id") else ""
    user = users.get(author_id, {})
    username = x_username(user["username"]) if user.get("username") is not None else None
    author = Author(
        id=author_id,
        username=username,
        name=user.get("name"),
        verified=user.get("verified"),
        avatar_url=avatar_url(user.get("profile_image_url")),
    )

    entities = tweet.get("entities") or {}
    hashtags = tuple(e["tag"] for e in entities.get("hashtags") or () if e.get("tag"))
    cashtags = tuple(e["tag"] for e in entities.get("cashtags") or () if e.get("tag"))
    mentions = tuple(e["username"] for e in entities.get("mentions") or () if e.get("username"))
    urls: list[str] = []
    links: list[dict[str, str]] = []
    media_types: list[str] = []
    for entity in entities.get("urls") or ():
        for name in ("url", "expanded_url", "unwound_url"):
            value = entity.get(name)
            if value and value not in urls:
                urls.append(value)
        link = _shown_link(entity)
        if link:
            links.append(link)
        if entity.get("media_key"):
            _add_media_type(media_types, str(entity["media_key"]), includes)
    media_keys = [str(key) for key in (tweet.get("attachments") or {}).get("media_keys") or ()]
    for media_key in media_keys:
        _add_media_type(media_types, media_key, includes)

    is_retweet = is_reply = is_quote = False
    quoted_text = ""
    referenced = {str(t.get("id")): t for t in includes.get("tweets") or () if isinstance(t, dict)}
    for ref in tweet.get("referenced_tweets") or ():
        kind = ref.get("type")
        if kind == "retweeted":
            is_retweet = True
        elif kind == "replied_to":
            is_reply = True
        elif kind == "quoted":
            is_quote = True
            quoted_text = html.unescape(referenced.get(str(ref.get("id")), {}).get("text", ""))
    reply_to: tuple[str, ...] = ()
    reply_user_id = tweet.get("in_reply_to_user_id")
    if reply_user_id:
        is_reply = True
        reply_user = users.get(str(reply_user_id), {})
        reply_to = tuple(v for v in (str(reply_user_id), reply_user.get("username")) if v)

    created = tweet.get("created_at")
    return Post(
        id=post_id,
        source="x",
        url=f"https://x.com/{username or 'i/web'}/status/{post_id}",
        text=html.unescape(tweet.get("text", "")),
        created_at=parse_time(created) if created else snowflake_time(post_id),
        author=author,
        lang=tweet.get("lang"),
        is_retweet=is_retweet,
        is_reply=is_reply,
        is_quote=is_quote,
        hashtags=hashtags,
        mentions=mentions,
        cashtags=cashtags,
        urls=tuple(urls),
        media_types=tuple(media_types),
        reply_to=reply_to,
        quoted_text=quoted_text,
        sensitive=bool(tweet.get("possibly_sensitive")),
        media=_media(media_keys, includes),
        extra={"links": links} if links else {},
    )


def snowflake_time(post_id: str) -> datetime:
    """When a post was created, read from its id (X ids are snowflakes); the epoch for a non-snowflake."""
    try:
        millis = (int(post_id) >> 22) + _TWITTER_EPOCH_MS
    except ValueError:
        millis = 0
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _add_media_type(media_types: list[str], media_key: str, includes: dict[str, Any]) -> None:
    kind = None
    for media in includes.get("media") or ():
        if isinstance(media, dict) and media.get("media_key") == media_key:
            kind = media.get("type")
            break
    if kind is None:  # no media expansion: the key's prefix names the type
        kind = _MEDIA_KEY_TYPES.get(media_key.split("_", 1)[0])
    if kind and kind not in media_types:
        media_types.append(kind)


def _media(media_keys: list[str], includes: dict[str, Any]) -> tuple[Media, ...]:
    """The post's media from ``includes.media``, in the order of its ``attachments.media_keys``.

    X gives photos a ``url`` and videos and GIFs a ``preview_image_url`` (their poster frame) only.
    """
    if not media_keys:
        return ()
    known = {str(m.get("media_key")): m for m in includes.get("media") or () if isinstance(m, dict)}
    found = []
    for key in media_keys:
        item = known.get(key)
        if item is None:
            continue
        media = make_media(
            item.get("type"), item.get("url"), item.get("preview_image_url"), item.get("alt_text"),
            item.get("width"), item.get("height"),
        )  # fmt: skip
        if media is not None:
            found.append(media)
    return tuple(found)


def _shown_link(entity: dict[str, Any]) -> dict[str, str] | None:
    """A t.co link as X's own clients show it: its ``display_url``, leading to its ``expanded_url``.

    The link of a post to its own photo or video (``pic.x.com/...``) is marked ``media``: cards leave it out
    when they show the media themselves.
    """
    short, expanded = entity.get("url"), entity.get("expanded_url")
    if not isinstance(short, str) or not isinstance(expanded, str):
        return None
    link = {"text": short, "href": expanded}
    if isinstance(entity.get("display_url"), str):
        link["shown"] = entity["display_url"]
    if entity.get("media_key") or _OWN_MEDIA.search(expanded):
        link["kind"] = "media"
    return link
