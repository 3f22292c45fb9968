"""Rich-text facets as the Bluesky app makes them: #tags, @mentions and links found in a post's text, with
UTF-8 *byte* offsets."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from .atproto_ids import fake_did

__all__ = ["detect_facets"]

_MENTION = re.compile(
    r"(?:^|(?<=[\s(]))@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)
_TAG = re.compile(r"(?:^|(?<=\s))[#\uff03](\S+)")
_URL = re.compile(
    r"(?:^|(?<=[\s(]))((?:https?://\S+)|(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}(?:/\S*)?))"
)
_TRAILING_URL_PUNCT = ".,;:!?\"'"


def _byte_range(text: str, start: int, end: int) -> dict[str, int]:
    return {"byteEnd": len(text[:end].encode()), "byteStart": len(text[:start].encode())}


def _strip_trailing_punctuation(value: str) -> str:
    while value and unicodedata.category(value[-1]).startswith("P"):
        value = value[:-1]
    return value


def detect_facets(text: str, mention_dids: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Facets for the #tags, @mentions and links in ``text`` (UTF-8 byte offsets), as the Bluesky app makes.

    Tags lose trailing punctuation and cannot be all digits or longer than 64 characters; mentions need a
    handle with a dot (their DID comes from ``mention_dids`` or :func:`fake_did`); links are ``http(s)://``
    URLs or bare domains (``example.com/x`` becomes ``https://example.com/x``), trailing punctuation and an
    unbalanced ``)`` excluded. Facets are returned in text order.
    """
    found: list[tuple[int, dict[str, Any]]] = []
    for match in _MENTION.finditer(text):
        handle = match.group(1)
        did = (mention_dids or {}).get(handle) or fake_did(handle)
        found.append(
            (
                match.start(),
                {
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                    "index": _byte_range(text, match.start(), match.end()),
                },
            )
        )
    for match in _URL.finditer(text):
        url = match.group(1)
        while url and (url[-1] in _TRAILING_URL_PUNCT or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        if not url or "@" in url.split("/", 1)[0]:
            continue
        start = match.start(1)
        uri = url if url.startswith(("http://", "https://")) else f"https://{url}"
        found.append(
            (
                start,
                {
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
                    "index": _byte_range(text, start, start + len(url)),
                },
            )
        )
    for match in _TAG.finditer(text):
        tag = _strip_trailing_punctuation(match.group(1))
        if not tag or tag.isdigit() or len(tag) > 64:
            continue
        start = match.start()
        found.append(
            (
                start,
                {
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
                    "index": _byte_range(text, start, start + 1 + len(tag)),
                },
            )
        )
    found.sort(key=lambda pair: pair[0])
    return [facet for _, facet in found]
