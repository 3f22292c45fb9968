"""A post's text as runs of plain text and links, for the cards of the pages (server-rendered and live).

Links come from the post's own entities, never from guessing at the text: its ``hashtags`` (they open the wall
for that tag), ``mentions`` (the author's profile on the service), ``urls``, and the links its decoder saw in
the service's markup (``extra["links"]``: X's t.co links with their expanded form, Bluesky's link and mention
facets, Mastodon's mention anchors). Every ``href`` is ``http(s)`` or a path of this app: nothing else can
reach an ``<a>``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from twitterstream.sources.identifiers import is_http_url

if TYPE_CHECKING:
    from twitterstream.models import Post

#: Where a mention of a username or handle leads, per service (Mastodon's come from its own markup).
_PROFILE_URLS = {"x": "https://x.com/{}", "bluesky": "https://bsky.app/profile/{}"}
#: X recognises the fullwidth signs too (U+FF03, U+FF20); an entity never starts inside a word.
_HASH = "[#\uff03]"
_AT = "[@\uff20]"
_HASHTAG_BEFORE = r"(?<![\w#&\uff03])"
_MENTION_BEFORE = r"(?<![\w@\uff20])"
_AFTER = r"(?!\w)"

Part = dict[str, str]


def shown_text(post: Post) -> str:
    """The text a card shows under its content warning (``text`` begins with the warning, for matching)."""
    warning = post.content_warning
    if warning and post.text.startswith(warning):
        return post.text[len(warning) :].lstrip("\n")
    return post.text


def hashtag_href(tag: str) -> str:
    """The wall of a hashtag: ``/results/%23tag``."""
    return "/results/" + quote("#" + tag, safe="")


def text_parts(post: Post) -> list[Part]:
    """``[{"text"}, {"text", "href", "kind"}, ...]``: the shown text, cut where entities are linked.

    ``kind`` is ``hashtag``, ``mention`` or ``link``. Joined, the parts' texts are the shown text, except that
    a link shown shorter than it is written (X's ``t.co`` links show their ``display_url``) shows that, and
    the link of an X post to its own attached media is left out when the media are shown.
    """
    text = shown_text(post)
    if not text:
        return []
    found: list[tuple[int, int, Part]] = []
    for link in post.extra.get("links") or ():
        _add_link(found, text, link, bool(post.media))
    for url in post.urls:
        if is_http_url(url):
            found.extend((m.start(), m.end(), _link(url, url, "link")) for m in _plain(text, url))
    for tag in post.hashtags:
        pattern = _entity_pattern(_HASHTAG_BEFORE + _HASH, tag)
        found.extend(
            (m.start(), m.end(), _link(m.group(), hashtag_href(m.group()[1:]), "hashtag"))
            for m in pattern.finditer(text)
        )
    profile = _PROFILE_URLS.get(post.source)
    for name in post.mentions if profile else ():
        if name.startswith("did:"):
            continue
        pattern = _entity_pattern(_MENTION_BEFORE + _AT, name)
        href = profile.format(quote(name, safe="")) if profile else ""
        found.extend((m.start(), m.end(), _link(m.group(), href, "mention")) for m in pattern.finditer(text))
    return _cut(text, found)


@lru_cache(maxsize=2048)
def _entity_pattern(sign: str, name: str) -> re.Pattern[str]:
    """``name`` written after ``sign`` as a whole entity. Kept: tags and names recur from post to post, and
    ``re``'s own cache (512 patterns) is too small for the many of a busy stream."""
    return re.compile(sign + re.escape(name) + _AFTER, re.IGNORECASE)


def _add_link(found: list[tuple[int, int, Part]], text: str, link: Any, has_media: bool) -> None:
    if not isinstance(link, dict):
        return
    needle, href = link.get("text"), link.get("href")
    if not isinstance(needle, str) or not needle or not is_http_url(href):
        return
    kind = str(link.get("kind")) if link.get("kind") in ("link", "mention", "media") else "link"
    shown = link.get("shown")
    shown = shown if isinstance(shown, str) and shown else needle
    for match in _plain(text, needle):
        if kind == "media" and has_media:
            found.append((match.start(), match.end(), {"text": ""}))  # the media grid shows it
        else:
            found.append((match.start(), match.end(), _link(shown, str(href), "link" if kind == "media" else kind)))


def _plain(text: str, needle: str) -> list[re.Match[str]]:
    return list(re.finditer(re.escape(needle), text))


def _link(shown: str, href: str, kind: str) -> Part:
    return {"text": shown, "href": href, "kind": kind}


def _cut(text: str, found: list[tuple[int, int, Part]]) -> list[Part]:
    """Plain runs between the matches; of overlapping matches the earliest (then the longest) wins."""
    parts: list[Part] = []
    cursor = 0
    for start, end, part in sorted(found, key=lambda item: (item[0], -item[1])):
        if start < cursor:
            continue
        if start > cursor:
            parts.append({"text": text[cursor:start]})
        if part["text"]:
            parts.append(part)
        elif end == len(text) and parts and not parts[-1].get("href"):
            parts[-1]["text"] = parts[-1]["text"].rstrip()  # a media link cut from the end: no trailing space
            if not parts[-1]["text"]:
                parts.pop()
        cursor = end
    if cursor < len(text):
        parts.append({"text": text[cursor:]})
    return parts
