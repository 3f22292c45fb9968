"""Decode Bluesky Jetstream events into :class:`Post` objects (and deletes).

Hashtags, mentions and links come from the record's facets (ranges of the text in UTF-8 *byte* offsets)
and its ``tags`` and embed, never from guessing at the text. Everything that is not a post create, update
or delete (likes, follows, identity and account events, other collections) is skipped cheaply: most of it by
:func:`could_be_post` on the raw text, before any JSON decoding, the rest after one dict look-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from twitterstream.models import Author, Media, Post, parse_time
from twitterstream.sources.decoding import decoder
from twitterstream.sources.identifiers import did as valid_did
from twitterstream.sources.identifiers import is_http_url, record_key
from twitterstream.sources.media import make_media

POST_COLLECTION = "app.bsky.feed.post"
#: Self-labels that mark adult content (hidden unless the operator shows it).
ADULT_LABELS = frozenset({"porn", "sexual", "nudity", "graphic-media", "gore"})
_MEDIA_TYPES = {
    "app.bsky.embed.images": "photo",
    "app.bsky.embed.video": "video",
}
#: How Bluesky's CDN serves a record's image blobs (what its AppView answers for ``app.bsky.embed.images``).
CDN_IMAGE = "https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}@jpeg"
CDN_THUMBNAIL = "https://cdn.bsky.app/img/feed_thumbnail/plain/{did}/{cid}@jpeg"
#: Bluesky's video service: an HLS playlist and a poster frame per video blob (the DID percent-encoded).
VIDEO_PLAYLIST = "https://video.bsky.app/watch/{did}/{cid}/playlist.m3u8"
VIDEO_THUMBNAIL = "https://video.bsky.app/watch/{did}/{cid}/thumbnail.jpg"
#: A profile on Bluesky's web app, by DID (handles change).
PROFILE_URL = "https://bsky.app/profile/{}"


@dataclass(slots=True)
class JetstreamEvent:
    """What one Jetstream event means to us."""

    time_us: int
    post: Post | None = None  # a post was created (or updated)
    deleted_key: str | None = None  # a post was deleted (its Post.key)
    seq: int | None = None  # a v2 host's ``cursor``: its own sequence number of the event (v1 hosts: None)


_COLLECTION_KEY, _POST_VALUE, _STRING_VALUE, _RECORD_KEY = '"collection"', ':"app.bsky.feed.post"', ':"', '"record"'


def could_be_post(raw: str | bytes) -> bool:
    """False when the event's text is certainly not a post commit, so that it can be skipped unparsed.

    Jetstream writes compact JSON with the commit's ``collection`` before its ``record``, so the first
    ``"collection"`` key names the event's collection; identity and account events have none. Anything
    unusual (bytes, spaces, another key order) answers True and the full decode decides.
    """
    if not isinstance(raw, str):
        return True
    at = raw.find(_COLLECTION_KEY)
    if at < 0:
        return False
    after = at + len(_COLLECTION_KEY)
    if raw.startswith(_POST_VALUE, after) or not raw.startswith(_STRING_VALUE, after):
        return True
    return raw.find(_RECORD_KEY, 0, at) >= 0  # a record before it: decode to be sure


def post_key(did: str, rkey: str) -> str:
    return f"bluesky:{did}/{rkey}"


@decoder("a Jetstream event")
def decode_event(event: dict[str, Any]) -> JetstreamEvent | None:
    """A post create, update or delete; None for anything else (cheaply).

    An ``update`` (a record rewritten in place) carries the whole new record, like a create: it is decoded
    the same way, and the source's (did, rkey) de-duplication keeps the version already delivered.
    Raises :class:`InvalidPost` when the DID or the record key breaks the atproto syntax.
    """
    commit = event.get("commit")
    if commit is None or event.get("kind") != "commit" or commit.get("collection") != POST_COLLECTION:
        return None
    did = valid_did(event.get("did"))
    rkey = record_key(commit.get("rkey"))
    time_us = int(event.get("time_us") or 0)
    seq = event_seq(event)
    operation = commit.get("operation")
    if operation == "delete":
        return JetstreamEvent(time_us, deleted_key=post_key(did, rkey), seq=seq)
    record = commit.get("record")
    if operation not in ("create", "update") or not isinstance(record, dict):
        return None
    post = post_from_record(did, rkey, str(commit.get("cid") or ""), record, time_us)
    return JetstreamEvent(time_us, post=post, seq=seq)


def event_seq(event: dict[str, Any]) -> int | None:
    """The v2 sequence number an event carries in ``cursor`` (a positive integer), or None (a v1 host)."""
    seq = event.get("cursor")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 else None


def post_from_record(did: str, rkey: str, cid: str, record: dict[str, Any], time_us: int = 0) -> Post:
    """Build a Post from an ``app.bsky.feed.post`` record (``did`` and ``rkey`` already checked)."""
    text = str(record.get("text") or "")
    hashtags: list[str] = []
    mentions: list[str] = []
    urls: list[str] = []
    links: list[dict[str, str]] = []
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
                    _add_link(links, _slice(text_bytes, facet.get("index") or {}), str(feature["uri"]), "link")
                elif kind == "app.bsky.richtext.facet#mention" and feature.get("did"):
                    mentions.append(str(feature["did"]))
                    shown = _slice(text_bytes, facet.get("index") or {})
                    handle = shown.strip().lstrip("@")
                    if handle:
                        mentions.append(handle)
                    _add_link(links, shown, PROFILE_URL.format(feature["did"]), "mention")
    tags = record.get("tags")
    if tags:  # extra hashtags that are not in the text
        hashtags.extend(str(tag).lstrip("#") for tag in tags if tag)

    media_types: list[str] = []
    media_urls: list[str] = []
    media: tuple[Media, ...] = ()
    is_quote = False
    raw_embed = record.get("embed")
    embed: dict[str, Any] = raw_embed if isinstance(raw_embed, dict) else {}
    if embed:
        embed_type = embed.get("$type")
        if embed_type == "app.bsky.embed.recordWithMedia":
            is_quote = True
            inner = embed.get("media")
            embed = inner if isinstance(inner, dict) else {}
            embed_type = embed.get("$type")
        elif embed_type == "app.bsky.embed.record":
            is_quote = True
        if embed_type in _MEDIA_TYPES:
            media_types.append(_MEDIA_TYPES[embed_type])
            media = _media(did, embed)
        if embed_type == "app.bsky.embed.images":
            media_urls = _image_urls(did, embed.get("images"))
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

    raw_langs = record.get("langs")
    langs = [str(lang) for lang in raw_langs if lang] if raw_langs else []
    labels = record.get("labels")
    adult = bool(labels) and _adult(labels)
    created_at = _created_at(record.get("createdAt"), time_us)
    extra: dict[str, Any] = {"uri": f"at://{did}/{POST_COLLECTION}/{rkey}", "cid": cid}
    if len(langs) > 1:
        extra["langs"] = langs
    warning = ""
    if adult:
        extra["adult"] = True
        warning = "Labelled by the author: " + ", ".join(_adult_labels(labels))
    if links:
        extra["links"] = links
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
        hashtags=tuple(dict.fromkeys(hashtags)) if hashtags else (),
        mentions=tuple(dict.fromkeys(mentions)) if mentions else (),
        urls=tuple(urls) if urls else (),
        media_types=tuple(media_types) if media_types else (),
        media_urls=tuple(media_urls),
        media=media,
        reply_to=reply_to,
        sensitive=adult,
        content_warning=warning,
        extra=extra,
    )


def _image_urls(did: str, images: Any) -> list[str]:
    """The public CDN's full-size URL of each image blob of an images embed."""
    urls = []
    for image in images if isinstance(images, list) else ():
        blob = image.get("image") if isinstance(image, dict) else None
        ref = blob.get("ref") if isinstance(blob, dict) else None
        cid = ref.get("$link") if isinstance(ref, dict) else None
        if isinstance(cid, str) and cid.isalnum():
            urls.append(f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}@jpeg")
    return urls


def _media(did: str, embed: dict[str, Any]) -> tuple[Media, ...]:
    """The pictures of an images embed (up to 4) or the poster frame of a video, as Bluesky's CDN serves them."""
    found: list[Media | None] = []
    if embed.get("$type") == "app.bsky.embed.images":
        for image in embed.get("images") or ():
            cid = _blob_cid(image.get("image")) if isinstance(image, dict) else None
            if cid is not None:
                width, height = _aspect(image)
                full, thumb = CDN_IMAGE.format(did=did, cid=cid), CDN_THUMBNAIL.format(did=did, cid=cid)
                found.append(make_media("photo", full, thumb, image.get("alt"), width, height))
    else:
        cid = _blob_cid(embed.get("video"))
        if cid is not None:
            width, height = _aspect(embed)
            encoded = quote(did, safe="")
            playlist = VIDEO_PLAYLIST.format(did=encoded, cid=cid)
            poster = VIDEO_THUMBNAIL.format(did=encoded, cid=cid)
            found.append(make_media("video", playlist, poster, embed.get("alt"), width, height))
    return tuple(m for m in found if m is not None)


def _blob_cid(blob: Any) -> str | None:
    """The CID of a blob reference (``{"ref": {"$link": cid}}``; legacy blobs have a bare ``cid``)."""
    if not isinstance(blob, dict):
        return None
    ref = blob.get("ref")
    cid = ref.get("$link") if isinstance(ref, dict) else blob.get("cid")
    # a CID is base32/base58 letters and digits: anything else would change the CDN URL's path
    return cid if isinstance(cid, str) and 0 < len(cid) <= 128 and cid.isalnum() and cid.isascii() else None


def _aspect(item: dict[str, Any]) -> tuple[Any, Any]:
    """The ``aspectRatio`` a record gives (its picture's size in pixels as the author's client measured it)."""
    ratio = item.get("aspectRatio")
    return (ratio.get("width"), ratio.get("height")) if isinstance(ratio, dict) else (None, None)


def _add_link(links: list[dict[str, str]], shown: str, href: str, kind: str) -> None:
    if shown and is_http_url(href):
        links.append({"text": shown, "href": href, "kind": kind})


def _adult_labels(labels: Any) -> list[str]:
    """The record's self-labels (``{"values": [{"val": ...}]}``) that mark adult content, in order."""
    values = labels.get("values") if isinstance(labels, dict) else None
    found = [str(v.get("val")) for v in values or () if isinstance(v, dict) and str(v.get("val")) in ADULT_LABELS]
    return list(dict.fromkeys(found))


def _adult(labels: Any) -> bool:
    """True if the record's self-labels mark adult content."""
    return bool(_adult_labels(labels))


def _created_at(created: Any, time_us: int) -> datetime:
    """The record's ``createdAt``, but never later than Jetstream received it (``time_us``).

    ``createdAt`` is whatever the author's client wrote: a wrong clock or a post dated in the future would
    otherwise stay on top of every wall sorted by time (Bluesky's own AppView sorts by the earlier of the two).
    """
    received = _from_us(time_us) if time_us else None
    try:
        created_at = parse_time(created) if isinstance(created, str) else None
    except ValueError:
        created_at = None
    if created_at is None:
        return received or datetime.now(UTC)
    return received if received is not None and created_at > received else created_at


def _slice(text_bytes: bytes, index: dict[str, Any]) -> str:
    try:
        start, end = int(index["byteStart"]), int(index["byteEnd"])
    except (KeyError, TypeError, ValueError):
        return ""
    return text_bytes[start:end].decode("utf-8", errors="ignore")


def _from_us(time_us: int) -> datetime:
    return datetime.fromtimestamp(time_us / 1_000_000, tz=UTC)
