"""Embeds a Bluesky post record can carry: link cards, images, a video, quoted posts (with or without media)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .atproto_ids import fake_cid

__all__ = ["external_embed", "images_embed", "quote_embed", "video_embed"]


def external_embed(uri: str, title: str = "", description: str = "", *, thumb: bool = True) -> dict[str, Any]:
    """An ``app.bsky.embed.external`` link card."""
    external: dict[str, Any] = {"description": description, "title": title, "uri": uri}
    if thumb:
        external["thumb"] = {
            "$type": "blob",
            "mimeType": "image/jpeg",
            "ref": {"$link": fake_cid(uri)},
            "size": 104_857,
        }
    return {"$type": "app.bsky.embed.external", "external": external}


def images_embed(count: int = 1, alt: str = "") -> dict[str, Any]:
    """An ``app.bsky.embed.images`` embed with ``count`` (1 to 4) images."""
    images = [
        {
            "alt": alt,
            "aspectRatio": {"height": 1000, "width": 1000},
            "image": {
                "$type": "blob",
                "mimeType": "image/jpeg",
                "ref": {"$link": fake_cid(i)},
                "size": 187_484,
            },
        }
        for i in range(count)
    ]
    return {"$type": "app.bsky.embed.images", "images": images}


def video_embed(alt: str = "", *, width: int = 1920, height: int = 1080) -> dict[str, Any]:
    """An ``app.bsky.embed.video`` embed: one ``video/mp4`` blob (Bluesky's video service serves it as HLS)."""
    return {
        "$type": "app.bsky.embed.video",
        "alt": alt,
        "aspectRatio": {"height": height, "width": width},
        "video": {
            "$type": "blob",
            "mimeType": "video/mp4",
            "ref": {"$link": fake_cid(("video", alt))},
            "size": 5_000_000,
        },
    }


def quote_embed(uri: str, cid: str | None = None, *, media: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A quote post: ``app.bsky.embed.record``, or ``recordWithMedia`` when ``media`` is given."""
    record = {"cid": cid or fake_cid(uri), "uri": uri}
    if media is None:
        return {"$type": "app.bsky.embed.record", "record": record}
    return {"$type": "app.bsky.embed.recordWithMedia", "media": dict(media), "record": {"record": record}}
