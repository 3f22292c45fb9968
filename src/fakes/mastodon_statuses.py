"""Mastodon entities for tests: Status (with its Account, media attachments, mentions and tags) in the key order
the API sends, status ids as Mastodon makes them (snowflakes), and hashtags as Mastodon renders them."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

__all__ = ["hashtag_link", "make_status", "snowflake_id"]


_snowflake_lock = threading.Lock()
_snowflake_last = 0


def snowflake_id(when: datetime | None = None) -> str:
    """A Mastodon-style status id: milliseconds since the epoch shifted left 16 bits plus a sequence.

    Ids made without ``when`` strictly increase, so newer statuses sort after older ones.
    """
    global _snowflake_last
    moment = when or datetime.now(UTC)
    value = int(moment.timestamp() * 1000) << 16
    with _snowflake_lock:
        if when is None:
            value = max(value, _snowflake_last + 1)
            _snowflake_last = value
    return str(value)


def _created_at_for(status_id: str) -> str:
    if status_id.isdigit() and int(status_id) > 1 << 40:
        moment = datetime.fromtimestamp((int(status_id) >> 16) / 1000, tz=UTC)
    else:
        moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def hashtag_link(tag: str, base_url: str) -> str:
    """A hashtag as Mastodon renders it in ``content``."""
    return f'<a href="{base_url}/tags/{quote(tag)}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>'


_MEDIA_EXTENSIONS = {"image": "png", "video": "mp4", "gifv": "mp4", "audio": "mp3"}


def _attachment(index: int, kind: str, base_url: str, status_id: str, description: str | None = None) -> dict[str, Any]:
    media_id = f"{status_id[:12] or '1'}{index:04d}"
    ext = _MEDIA_EXTENSIONS.get(kind, "bin")
    meta: dict[str, Any] = {
        "original": {"width": 640, "height": 480, "size": "640x480", "aspect": 1.3333333333333333},
        "small": {"width": 400, "height": 300, "size": "400x300", "aspect": 1.3333333333333333},
    }
    return {
        "id": media_id,
        "type": kind,
        "url": f"{base_url}/system/media_attachments/files/{media_id}/original/file.{ext}",
        "preview_url": f"{base_url}/system/media_attachments/files/{media_id}/small/file.png",
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": description,
        "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
    }


def make_status(
    id: str,
    content_html: str,
    *,
    acct: str = "alice",
    tags: Sequence[str] = (),
    language: str | None = "en",
    in_reply_to_id: str | None = None,
    in_reply_to_account_id: str | None = None,
    reblog: Mapping[str, Any] | None = None,
    sensitive: bool = False,
    spoiler_text: str = "",
    url: str | None = None,
    media: Sequence[str] = (),
    descriptions: Sequence[str | None] = (),
    mentions: Sequence[str] = (),
    visibility: str = "public",
    base_url: str | None = None,
    created_at: str | None = None,
    display_name: str | None = None,
    account_id: str | None = None,
    card: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A full Status entity, keys in the order the API sends them (see the docs' examples).

    ``acct`` is ``user`` (local to ``base_url``) or ``user@domain`` (remote: its ``url``/``uri`` are on that
    domain). ``tags`` are names; ``media`` attachment types (``image``, ``video``, ``gifv``, ``audio``) with their
    ``descriptions`` (alt texts; None: none written);
    ``mentions`` accts. ``in_reply_to_account_id`` defaults to another account (a reply to someone
    else); pass the author's ``account_id`` for a self-reply. ``created_at`` defaults to the snowflake's time.
    """
    base = (base_url or "https://mastodon.example").rstrip("/")
    username, _, domain = acct.partition("@")
    home = f"https://{domain}" if domain else base
    account_key = account_id or str(100_000 + sum(map(ord, acct)) * 7)
    status_url = url if url is not None else f"{home}/@{username}/{id}"
    reply_account = None
    if in_reply_to_id is not None:
        reply_account = in_reply_to_account_id or "109999999999999999"
    status: dict[str, Any] = {
        "id": id,
        "created_at": created_at or _created_at_for(id),
        "in_reply_to_id": in_reply_to_id,
        "in_reply_to_account_id": reply_account,
        "sensitive": sensitive,
        "spoiler_text": spoiler_text,
        "visibility": visibility,
        "language": language,
        "uri": f"{home}/users/{username}/statuses/{id}",
        "url": status_url,
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": "" if reblog is not None else content_html,
        "reblog": dict(reblog) if reblog is not None else None,
        "application": {"name": "Web", "website": None} if not domain else None,
        "account": {
            "id": account_key,
            "username": username,
            "acct": acct,
            "display_name": display_name if display_name is not None else username.capitalize(),
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": "2022-11-01T00:00:00.000Z",
            "note": "<p>A test account.</p>",
            "url": f"{home}/@{username}",
            "avatar": f"{base}/avatars/original/missing.png",
            "avatar_static": f"{base}/avatars/original/missing.png",
            "header": f"{base}/headers/original/missing.png",
            "header_static": f"{base}/headers/original/missing.png",
            "followers_count": 10,
            "following_count": 10,
            "statuses_count": 100,
            "last_status_at": (created_at or _created_at_for(id))[:10],
            "emojis": [],
            "fields": [],
        },
        "media_attachments": [
            _attachment(i, kind, base, id, descriptions[i] if i < len(descriptions) else None)
            for i, kind in enumerate(media)
        ],
        "mentions": [
            {
                "id": str(200_000 + sum(map(ord, m))),
                "username": m.partition("@")[0],
                "url": f"https://{m.partition('@')[2]}/@{m.partition('@')[0]}" if "@" in m else f"{base}/@{m}",
                "acct": m,
            }
            for m in mentions
        ],
        "tags": [{"name": name, "url": f"{base}/tags/{quote(name.lower())}"} for name in tags],
        "emojis": [],
        "card": dict(card) if card is not None else None,
        "poll": None,
    }
    if status["application"] is None:
        del status["application"]
    return status
