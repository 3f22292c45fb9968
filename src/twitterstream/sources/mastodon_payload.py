"""Decode Mastodon statuses (REST or streaming payloads) into :class:`Post` objects."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from twitterstream.models import Author, Media, Post, parse_time
from twitterstream.sources.decoding import decoder
from twitterstream.sources.identifiers import http_url, is_http_url, mastodon_acct, mastodon_id
from twitterstream.sources.media import avatar_url, make_media

_MEDIA_TYPES = {"image": "photo", "video": "video", "gifv": "animated_gif"}


class _TextAndLinks(HTMLParser):
    """Status HTML -> plain text (paragraphs and line breaks kept) plus the links that are not tags/mentions,
    and the mentions with the profile each links to (``{"text": "@bob", "href", "kind": "mention"}``).

    Mastodon wraps the scheme and the tail of long links in invisible spans; their text is kept, so the
    plain text holds the whole URL.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.mentions: list[dict[str, str]] = []
        self._mention: tuple[str, int] | None = None  # (href, index of its first part) inside a mention anchor

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")
        elif tag == "a":
            href = attributes.get("href") or ""
            rel = (attributes.get("rel") or "").split()
            if href.startswith(("http://", "https://")) and "mention" not in classes and "tag" not in rel:
                self.links.append(href)
            elif "mention" in classes and "hashtag" not in classes and "tag" not in rel and is_http_url(href):
                self._mention = (href, len(self.parts))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._mention is not None:
            href, first = self._mention
            self._mention = None
            shown = "".join(self.parts[first:]).strip()
            if shown.startswith("@"):
                self.mentions.append({"text": shown, "href": href, "kind": "mention"})

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def text(self) -> str:
        return "".join(self.parts).strip()


def html_to_text(content: str) -> tuple[str, list[str]]:
    """Plain text of a status's HTML content, and the links it holds (not hashtags or mentions).

    Character references are decoded once, by the parser: ``&amp;lt;`` is the text ``&lt;``.
    """
    text, links, _ = _read_content(content)
    return text, links


def _read_content(content: str) -> tuple[str, list[str], list[dict[str, str]]]:
    parser = _TextAndLinks()
    parser.feed(content)
    parser.close()
    return parser.text(), parser.links, parser.mentions


@decoder("a Mastodon status")
def post_from_status(status: dict[str, Any]) -> Post:
    """Build a Post from a Mastodon Status entity. A reblog is the reblogged status, flagged as a repost.

    Raises :class:`InvalidPost` when the status id, the account's id or acct, or the URL breaks the syntax.
    """
    outer = status
    status_id = mastodon_id(str(outer["id"]))
    reblog = status.get("reblog")
    is_retweet = isinstance(reblog, dict)
    inner: dict[str, Any] = reblog if isinstance(reblog, dict) else status
    text, links, mention_links = _read_content(str(inner.get("content") or ""))
    spoiler = str(inner.get("spoiler_text") or "")
    if spoiler:
        text = f"{spoiler}\n\n{text}"
    account = outer.get("account") or {}
    account_id = mastodon_id(str(account["id"]), "Mastodon account id") if account.get("id") else ""
    username = account.get("acct") or account.get("username")
    url = outer.get("url") or inner.get("url") or outer.get("uri")
    card = inner.get("card") or {}
    urls = list(dict.fromkeys([*links, *([card["url"]] if isinstance(card, dict) and card.get("url") else [])]))
    mentions: list[str] = []
    for mention in inner.get("mentions") or ():
        for name in (mention.get("acct"), mention.get("username")):
            if name and name not in mentions:
                mentions.append(str(name))
    media_types = list(
        dict.fromkeys(
            _MEDIA_TYPES[m["type"]] for m in inner.get("media_attachments") or () if m.get("type") in _MEDIA_TYPES
        )
    )
    media_urls = [
        str(m.get("url") or m.get("remote_url"))
        for m in inner.get("media_attachments") or ()
        if isinstance(m, dict) and (m.get("url") or m.get("remote_url"))
    ]
    reply_account = inner.get("in_reply_to_account_id")
    return Post(
        id=status_id,
        source="mastodon",
        url=http_url(url, "Mastodon status URL") if url else "",
        text=text,
        created_at=parse_time(str(outer["created_at"])),
        author=Author(
            id=account_id,
            username=mastodon_acct(username) if username else None,
            name=account.get("display_name") or None,
            verified=None,
            avatar_url=avatar_url(account.get("avatar_static") or account.get("avatar")),
        ),
        lang=inner.get("language") or None,
        is_retweet=is_retweet,
        is_reply=inner.get("in_reply_to_id") is not None,
        hashtags=tuple(str(t["name"]) for t in inner.get("tags") or () if t.get("name")),
        mentions=tuple(mentions),
        urls=tuple(urls),
        media_urls=tuple(media_urls),
        media_types=tuple(media_types),
        media=_media(inner.get("media_attachments")),
        reply_to=(str(reply_account),) if reply_account else (),
        sensitive=bool(inner.get("sensitive")) or bool(spoiler.strip()),
        content_warning=spoiler,
        extra={"uri": str(inner.get("uri") or ""), **({"links": mention_links} if mention_links else {})},
    )


def _media(attachments: Any) -> tuple[Media, ...]:
    """Pictures, videos and GIFs of ``media_attachments`` (audio and unknown kinds have no picture to show).

    ``url``/``preview_url`` are the copies the instance serves (a remote post's media too, once cached);
    ``remote_url`` is the origin's, used when the instance has no copy. Sizes are in ``meta.original``.
    """
    found = []
    for item in attachments if isinstance(attachments, list) else ():
        if not isinstance(item, dict) or item.get("type") not in _MEDIA_TYPES:
            continue
        meta = item.get("meta")
        original = meta.get("original") if isinstance(meta, dict) else None
        size: dict[str, Any] = original if isinstance(original, dict) else {}
        media = make_media(
            _MEDIA_TYPES[item["type"]],
            item.get("url") or item.get("remote_url"),
            item.get("preview_url") or item.get("preview_remote_url"),
            item.get("description"),
            size.get("width"),
            size.get("height"),
        )
        if media is not None:
            found.append(media)
    return tuple(found)
