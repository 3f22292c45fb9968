"""Pictures of a post and of its author, as every decoder builds them: URLs checked, sizes whole numbers.

A URL that is not ``http(s)`` (or a bundled ``/static/`` path) is dropped; a media item left with no URL at
all is dropped; the post itself is kept. Alt texts are plain text (the pages escape them) of bounded length.
"""

from __future__ import annotations

from typing import Any

from twitterstream.models import MEDIA_KINDS, Media
from twitterstream.sources.identifiers import media_url

#: Alt text longer than this is cut (Mastodon allows 1,500 characters, Bluesky 10,000, X 1,000).
ALT_MAX = 2000
_SIZE_MAX = 100_000


def make_media(
    kind: Any, url: Any = None, preview_url: Any = None, alt: Any = None, width: Any = None, height: Any = None
) -> Media | None:
    """One checked media item, or None when it has no usable URL or an unknown kind."""
    if kind not in MEDIA_KINDS:
        return None
    full, preview = media_url(url), media_url(preview_url)
    if full is None and preview is None:
        return None
    text = alt.strip()[:ALT_MAX] if isinstance(alt, str) and alt.strip() else None
    return Media(str(kind), full, preview, text, _size(width), _size(height))


def avatar_url(value: Any) -> str | None:
    """An author's picture URL, or None."""
    return media_url(value)


def _size(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 < value <= _SIZE_MAX else None
