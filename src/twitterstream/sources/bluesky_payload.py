"""Decode Bluesky Jetstream events into :class:`Post` objects (and deletes).

Hashtags, mentions and links come from the record's facets (ranges of the text in UTF-8 *byte* offsets)
and its ``tags`` and embed, never from guessing at the text. Everything that is not a post create or
delete (likes, follows, identity and account events, other collections) is skipped after one dict look-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twitterstream.models import Author, Post, parse_time

POST_COLLECTION = "app.bsky.feed.post"
#: Self-labels that mark adult content (hidden unless the operator shows it).
ADULT_LABELS = frozenset({"porn", "sexual", "nudity", "graphic-media", "gore"})
_MEDIA_TYPES = {
    "app.bsky.embed.images": "photo",
    "app.bsky.embed.video": "video",
}


@dataclass(slots=True)
class JetstreamEvent:
    """What one Jetstream event means to us."""

    time_us: int
    post: Post | None = None  # a post was created
    deleted_key: str | None = None  # a post was deleted (its Post.key)


def post_key(did: str, rkey: str) -> str:
    return f"bluesky:{did}/{rkey}"


def decode_event(event: dict[str, Any]) -> JetstreamEvent | None:
    """A post create or delete; None for anything else (cheaply)."""
    commit = event.get("commit")
    if commit is None or event.get("kind") != "commit" or commit.get("collection") != POST_COLLECTION:
        return None
    did = event.get("did")
    rkey = commit.get("rkey")
    if not isinstance(did, str) or not isinstance(rkey, str):
        return None
    time_us = int(event.get("time_us") or 0)
    operation = commit.get("operation")
    if operation == "delete":
        return JetstreamEvent(time_us, deleted_key=post_key(did, rkey))
    record = commit.get("record")
    if operation != "create" or not isinstance(record, dict):
        return None  # edits (update) are rare on Bluesky; the stored version stays
    return JetstreamEvent(time_us, post=post_from_record(did, rkey, str(commit.get("cid") or ""), record, time_us))


def post_from_record(did: str, rkey: str, cid: str, record: dict[str, Any], time_us: int = 0) -> Post:
    """Build a Post from an ``app.bsky.feed.post`` record."""
    text = str(record.get("text") or "")
    hashtags: list[str] = []
    mentions: list[str] = []
    urls: list[str] = []
    facets = record.get("facets")
    if facets:
        text_bytes = text.encode()
        for facet in facets:
            if not isinstance(facet, dict):
                continue
            for feature in facet.get("features") or ():
                kind = feature.get("$type")
                if kind == "app.bsky.richtext.facet#tag" and feature.get("tag"):
                    hashtags.append(str(feature["tag"]).lstrip("#"))
                elif kind == "app.bsky.richtext.facet#link" and feature.get("uri"):
                    urls.append(str(feature["uri"]))
                elif kind == "app.bsky.richtext.facet#mention" and feature.get("did"):
                    mentions.append(str(feature["did"]))
                    handle = _slice(text_bytes, facet.get("index") or {}).strip().lstrip("@")
                    if handle:
                        mentions.append(handle)
    hashtags.extend(str(tag).lstrip("#") for tag in record.get("tags") or () if tag)

    media_types: list[str] = []
    is_quote = False
    raw_embed = record.get("embed")
    embed: dict[str, Any] = raw_embed if isinstance(raw_embed, dict) else {}
    if embed:
        embed_type = embed.get("$type")
        if embed_type == "app.bsky.embed.recordWithMedia":
            is_quote = True
            media = embed.get("media")
            embed = media if isinstance(media, dict) else {}
            embed_type = embed.get("$type")
        elif embed_type == "app.bsky.embed.record":
            is_quote = True
        if embed_type in _MEDIA_TYPES:
            media_types.append(_MEDIA_TYPES[embed_type])
        elif embed_type == "app.bsky.embed.external":
            uri = (embed.get("external") or {}).get("uri")
            if uri and uri not in urls:
                urls.append(str(uri))

    reply = record.get("reply")
    reply_to: tuple[str, ...] = ()
    if isinstance(reply, dict):
        parent = str((reply.get("parent") or {}).get("uri") or "")
        if parent.startswith("at://"):
            reply_to = (parent[5:].split("/", 1)[0],)

    langs = [str(lang) for lang in record.get("langs") or () if lang]
    labels = {
        str(v.get("val"))
        for v in ((record.get("labels") or {}).get("values") or ())
        if isinstance(v, dict)
    }
    adult = bool(labels & ADULT_LABELS)
    created = record.get("createdAt")
    try:
        created_at = parse_time(created) if isinstance(created, str) else _from_us(time_us)
    except ValueError:
        created_at = _from_us(time_us)
    extra: dict[str, Any] = {"uri": f"at://{did}/{POST_COLLECTION}/{rkey}", "cid": cid}
    if len(langs) > 1:
        extra["langs"] = langs
    if adult:
        extra["adult"] = True
    return Post(
        id=f"{did}/{rkey}",
        source="bluesky",
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        text=text,
        created_at=created_at,
        author=Author(id=did),
        lang=langs[0] if langs else None,
        is_reply=bool(reply),
        is_quote=is_quote,
        hashtags=tuple(dict.fromkeys(hashtags)),
        mentions=tuple(dict.fromkeys(mentions)),
        urls=tuple(urls),
        media_types=tuple(media_types),
        reply_to=reply_to,
        sensitive=adult,
        extra=extra,
    )


def _slice(text_bytes: bytes, index: dict[str, Any]) -> str:
    try:
        start, end = int(index["byteStart"]), int(index["byteEnd"])
    except (KeyError, TypeError, ValueError):
        return ""
    return text_bytes[start:end].decode("utf-8", errors="ignore")


def _from_us(time_us: int) -> datetime:
    return datetime.fromtimestamp(time_us / 1_000_000, tz=UTC)
