"""The fake X's oEmbed endpoint (``GET /oembed``, publish.x.com's, with no auth and no rate limit): the embed
HTML of a post and its author under the request's options, and the oEmbed JSON object around it.

An unknown post is a 404 with an empty body, a missing ``url`` a 400; a test can make the fake answer any HTML
for a post (``FakeX.set_oembed_html``), known or not.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .server import FakeHTTPService
from .x_errors import Answer
from .x_posts import parse_time

if TYPE_CHECKING:  # x_render re-exports this module's names
    from .x_render import Registry

OEMBED_PATH = "/oembed"
_STATUS_URL = re.compile(r"https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/([^/?#]+)/status(?:es)?/(\d+)")

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
RTL_LANGS = frozenset({"ar", "fa", "he", "iw", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"})
SCRIPT_TAG = '\n<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>\n'


def _escape(text: str) -> str:
    """publish.x.com's escaping: the text is unescaped first (the API's ``&amp;``), then fully escaped."""
    return html.escape(html.unescape(text), quote=True).replace("&#x27;", "&#39;").replace("\n", "<br>")


def oembed_paragraph(post: Mapping[str, Any]) -> str:
    """The ``<p>`` contents: text with links for urls, hashtags, mentions and cashtags (by entity offsets)."""
    text = str(post.get("text", ""))
    entities = post.get("entities", {})
    spans: list[tuple[int, int, str]] = []
    for url in entities.get("urls", []):
        shown = url.get("display_url", url.get("url", ""))
        spans.append((url["start"], url["end"], f'<a href="{html.escape(url["url"])}">{html.escape(shown)}</a>'))
    for tag in entities.get("hashtags", []):
        name = tag["tag"]
        link = f"https://twitter.com/hashtag/{name}?src=hash&amp;ref_src=twsrc%5Etfw"
        spans.append((tag["start"], tag["end"], f'<a href="{link}">#{html.escape(name)}</a>'))
    for mention in entities.get("mentions", []):
        name = mention["username"]
        spans.append(
            (
                mention["start"],
                mention["end"],
                f'<a href="https://twitter.com/{name}?ref_src=twsrc%5Etfw">@{name}</a>',
            )
        )
    for cashtag in entities.get("cashtags", []):
        name = cashtag["tag"]
        link = f"https://twitter.com/search?q=%24{name}&amp;src=ctag&amp;ref_src=twsrc%5Etfw"
        spans.append((cashtag["start"], cashtag["end"], f'<a href="{link}">${html.escape(name)}</a>'))
    out, cursor = [], 0
    for start, end, replacement in sorted(spans):
        if start < cursor:
            continue
        out.append(_escape(text[cursor:start]))
        out.append(replacement)
        cursor = end
    out.append(_escape(text[cursor:]))
    return "".join(out)


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("", "0", "false", "f", "no", "off")


def oembed_html(post: Mapping[str, Any], user: Mapping[str, Any], params: Mapping[str, str]) -> str:
    """publish.x.com's embed HTML for a post and its author under the request's options."""
    lang = str(post.get("lang") or "en")
    direction = "rtl" if lang in RTL_LANGS else "ltr"
    attributes = ""
    options = (
        ("dnt", "data-dnt", lambda v: "true" if _truthy(v) else None),
        ("theme", "data-theme", lambda v: v if v in ("dark",) else None),
        ("hide_media", "data-cards", lambda v: "hidden" if _truthy(v) else None),
        ("hide_thread", "data-conversation", lambda v: "none" if _truthy(v) else None),
        ("lang", "data-lang", lambda v: v if re.fullmatch(r"[a-z]{2}(-[a-z]{2})?", v or "") else None),
        ("maxwidth", "data-width", lambda v: v if (v or "").isdigit() else None),
    )
    for name, attribute, convert in options:
        value = convert(params.get(name))
        if params.get(name) is not None and value is not None:
            attributes += f' {attribute}="{html.escape(value)}"'
    created = post.get("created_at")
    when = parse_time(created) if isinstance(created, str) else None
    date = f"{_MONTHS[when.month - 1]} {when.day}, {when.year}" if when else ""
    username = str(user.get("username", "someone"))
    name = _escape(str(user.get("name", username)))
    link = f"https://twitter.com/{username}/status/{post['id']}?ref_src=twsrc%5Etfw"
    body = (
        f'<blockquote class="twitter-tweet"{attributes}><p lang="{html.escape(lang)}" dir="{direction}">'
        f"{oembed_paragraph(post)}</p>&mdash; {name} (@{username}) "
        f'<a href="{link}">{date}</a></blockquote>'
    )
    return body if _truthy(params.get("omit_script")) else body + SCRIPT_TAG


def oembed_answer(post_id: str, user: Mapping[str, Any], html_text: str, params: Mapping[str, str]) -> dict[str, Any]:
    """The oEmbed JSON object (the keys and value types of samples/x/oembed.json)."""
    username = str(user.get("username", "someone"))
    width = 550
    if (params.get("maxwidth") or "").isdigit():
        width = max(220, min(550, int(params["maxwidth"])))
    return {
        "url": f"https://twitter.com/{username}/status/{post_id}",
        "author_name": str(user.get("name", username)),
        "author_url": f"https://twitter.com/{username}",
        "html": html_text,
        "width": width,
        "height": None,
        "type": "rich",
        "cache_age": "3153600000",
        "provider_name": "Twitter",
        "provider_url": "https://twitter.com",
        "version": "1.0",
    }


class XOEmbedEndpoint(FakeHTTPService):
    """``GET /oembed`` over ``FakeX``'s posts and users (its state lives there)."""

    _corpus: dict[str, dict[str, Any]]
    _registry: Registry
    _oembed_html: dict[str, str]

    def _oembed(self, query: Mapping[str, list[str]]) -> Answer:
        params = {name: values[0] for name, values in query.items() if values}
        match = _STATUS_URL.match(params.get("url", ""))
        if match is None:
            return 400 if "url" not in params else 404, b"", {}
        url_username, post_id = match.group(1), match.group(2)
        with self._cond:
            post = copy.deepcopy(self._corpus.get(post_id))
            override = self._oembed_html.get(post_id)
            user = None
            if post is not None:
                user = copy.deepcopy(self._registry.users.get(str(post.get("author_id"))))
        if post is None and override is None:
            return 404, b"", {}
        user = user or {"username": url_username, "name": url_username}
        embed = override if override is not None else oembed_html(post or {}, user, params)
        return 200, oembed_answer(post_id, user, embed, params), {}
