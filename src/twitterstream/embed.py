"""Embeds: fetch each post's oEmbed HTML once, sanitise it, and build Bluesky's blockquote locally.

Third-party HTML never reaches a page unsanitised: each provider has an allowlist that keeps exactly what
its embed script needs (X: ``blockquote.twitter-tweet``, ``p[lang,dir]``, ``a[href]``, ``br``).
"""

from __future__ import annotations

import html
import logging
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import nh3
import orjson

from twitterstream.models import Post

log = logging.getLogger(__name__)

_X_TAGS = {"blockquote", "p", "a", "br"}
# ``class`` is governed by the allowed-classes lists below (ammonia refuses it in both places).
_X_ATTRIBUTES: dict[str, set[str]] = {"p": {"lang", "dir"}, "a": {"href"}}
_X_CLASSES = {"blockquote": {"twitter-tweet"}}

_BLUESKY_ATTRIBUTES = {
    "blockquote": {"data-bluesky-uri", "data-bluesky-cid"},
    "p": {"lang"},
    "a": {"href"},
}
_BLUESKY_CLASSES = {"blockquote": {"bluesky-embed"}}


def sanitize_x_embed(raw_html: str) -> str:
    """Keep only what X's widgets.js needs to upgrade a post; drop scripts, handlers, other schemes."""
    return nh3.clean(
        raw_html,
        tags=_X_TAGS,
        attributes=_X_ATTRIBUTES,
        allowed_classes=_X_CLASSES,
        url_schemes={"https", "http"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def sanitize_bluesky_embed(raw_html: str) -> str:
    """Keep only what Bluesky's embed.js needs (the blockquote and its data attributes)."""
    return nh3.clean(
        raw_html,
        tags=_X_TAGS,
        attributes=_BLUESKY_ATTRIBUTES,
        allowed_classes=_BLUESKY_CLASSES,
        url_schemes={"https"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def sanitize_mastodon_embed(raw_html: str, home: str, width: int = 400) -> str:
    """An iframe on the post's home server, or "" when the answer holds none.

    ``home`` is the post's origin (``https://mastodon.social``, from the post's URL) or a bare host name
    (https then). Two answers are accepted: the iframe Mastodon sent before 4.3, and 4.3's
    ``<blockquote class="mastodon-embed" data-embed-url=...>``, which its embed.js turns into an iframe of
    that URL (done here instead: no third-party script). Only that origin's scheme and host pass.
    """
    scheme, netloc = _origin(home)
    finder = _MastodonEmbedFinder()
    finder.feed(raw_html)
    finder.close()
    if not finder.iframe and finder.embed_url and _same_origin(finder.embed_url, scheme, netloc):
        raw_html = (
            f'<iframe src="{html.escape(finder.embed_url)}" class="mastodon-embed" width="{int(width)}" '
            'allowfullscreen="allowfullscreen"></iframe>'
        )
    cleaned = nh3.clean(
        raw_html,
        tags={"iframe"},
        attributes={"iframe": {"src", "width", "height", "allowfullscreen", "class"}},
        url_schemes={scheme},
        strip_comments=True,
        attribute_filter=lambda tag, attr, value: (
            value if attr != "src" or _same_origin(value, scheme, netloc) else None
        ),
    ).strip()
    return cleaned if cleaned.startswith("<iframe") and "src=" in cleaned else ""


class _MastodonEmbedFinder(HTMLParser):
    """Notes whether an oEmbed answer holds an iframe, and the first ``blockquote.mastodon-embed``'s URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.iframe = False
        self.embed_url = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.iframe = True
        elif tag == "blockquote" and not self.embed_url:
            attributes = dict(attrs)
            if "mastodon-embed" in (attributes.get("class") or "").split():
                self.embed_url = (attributes.get("data-embed-url") or "").strip()


def _origin(home: str) -> tuple[str, str]:
    """(scheme, host[:port]) of ``home``: an origin URL, or a bare host meaning https."""
    if "://" not in home:
        return "https", home.lower()
    parts = urlsplit(home)
    return parts.scheme.lower(), parts.netloc.lower()


def _same_origin(url: str, scheme: str, netloc: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() == scheme and parts.netloc.lower() == netloc and scheme in ("https", "http")


def bluesky_blockquote(post: Post) -> str:
    """Bluesky's embed blockquote, built from the event itself (no request), already safe."""
    uri = post.extra.get("uri", "")
    cid = post.extra.get("cid", "")
    author = post.author.username or post.author.id
    profile = f"https://bsky.app/profile/{post.author.id}"
    text = html.escape(post.text).replace("\n", "<br>")
    lang = f' lang="{html.escape(post.lang)}"' if post.lang else ""
    when = post.created_at
    date = f"{when:%B} {when.day}, {when:%Y at %H:%M}"  # "%-d" (no leading zero) is glibc-only
    raw = (
        f'<blockquote class="bluesky-embed" data-bluesky-uri="{html.escape(uri)}" '
        f'data-bluesky-cid="{html.escape(cid)}"><p{lang}>{text}</p>&mdash; '
        f'<a href="{html.escape(profile)}">{html.escape(author)}</a> '
        f'<a href="{html.escape(post.url)}">{html.escape(date)}</a></blockquote>'
    )
    return sanitize_bluesky_embed(raw)


class EmbedFetcher:
    """Fetches oEmbed HTML for X and Mastodon posts. Thread-safe; every failure returns None.

    ``mastodon_url`` (the configured instance), when given, limits Mastodon embeds to that instance's own
    posts: the page's CSP only lets frames from it in, and other servers are then never contacted.
    """

    def __init__(self, x_oembed_url: str, timeout: float = 10.0, *, mastodon_url: str | None = None) -> None:
        self.x_oembed_url = x_oembed_url
        self.mastodon_origin = _origin(mastodon_url.rstrip("/")) if mastodon_url else None
        self._http = httpx.Client(timeout=timeout, headers={"User-Agent": "TwitterStream/0.1"})

    def close(self) -> None:
        self._http.close()

    def fetch(self, post: Post) -> str | None:
        """Sanitised embed HTML for ``post``, or None when there is none (404, error, unknown source)."""
        try:
            if post.source == "x":
                return self._fetch_x(post)
            if post.source == "mastodon":
                return self._fetch_mastodon(post)
        except (httpx.HTTPError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
            log.info("no embed for %s: %s", post.key, type(exc).__name__)
        return None

    def _fetch_x(self, post: Post) -> str | None:
        params = {
            "url": f"https://x.com/{post.author.username or 'i'}/status/{post.id}",
            "omit_script": "1",
            "dnt": "true",
        }
        response = self._http.get(self.x_oembed_url, params=params)
        if response.status_code != 200:
            log.info("no embed for %s: oEmbed answered %d", post.key, response.status_code)
            return None
        return sanitize_x_embed(str(orjson.loads(response.content)["html"])) or None

    def _fetch_mastodon(self, post: Post) -> str | None:
        """Ask the post's home server (the origin of its URL, whatever the scheme) for its embed."""
        try:
            parts = urlsplit(post.url)
        except ValueError:
            return None
        if parts.scheme not in ("https", "http") or not parts.netloc:
            return None
        if self.mastodon_origin is not None and (parts.scheme, parts.netloc.lower()) != self.mastodon_origin:
            return None  # a remote post: its frame would be refused by the page's CSP anyway
        origin = f"{parts.scheme}://{parts.netloc}"
        response = self._http.get(f"{origin}/api/oembed", params={"url": post.url})
        if response.status_code != 200:
            log.info("no embed for %s: oEmbed answered %d", post.key, response.status_code)
            return None
        answer = orjson.loads(response.content)
        if not isinstance(answer, dict):
            return None
        width = answer.get("width")
        width = width if isinstance(width, int) and 200 <= width <= 1000 else 400
        return sanitize_mastodon_embed(str(answer["html"]), origin, width) or None
