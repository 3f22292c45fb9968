"""What the fake X says: field selection and expansions, error bodies, and oEmbed HTML.

Error bodies are X's documented/recorded ones (x-api.md, X's docs, and captures quoted in public issues):

- 401 ``{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}``;
- 429 ``{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}``;
- 409 / 429 ``ConnectionException``, ``connection_issue`` ``RuleConfigurationIssue`` / ``TooManyConnections``;
- 400 ``Invalid Request`` with ``errors: [{"parameters": {...}, "message": ...}]``.

The ``type`` URIs use ``https://api.x.com/2/problems/`` by default (the current docs and OpenAPI spec);
captures from before the rename say ``https://api.twitter.com/2/problems/``, so the host is a setting of the
fake.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .x_posts import parse_time

DEFAULT_PROBLEMS = "https://api.x.com/2/problems/"

# The enums of X's OpenAPI spec (v2.167) for the stream endpoint; search also accepts the 2026 names.
TWEET_FIELDS = frozenset(
    [
        "article",
        "attachments",
        "author_id",
        "card_uri",
        "community_id",
        "context_annotations",
        "conversation_id",
        "created_at",
        "display_text_range",
        "edit_controls",
        "edit_history_tweet_ids",
        "entities",
        "geo",
        "id",
        "in_reply_to_user_id",
        "lang",
        "matched_media_notes",
        "media_metadata",
        "non_public_metrics",
        "note_request_suggestions",
        "note_tweet",
        "organic_metrics",
        "paid_partnership",
        "possibly_sensitive",
        "promoted_metrics",
        "public_metrics",
        "referenced_tweets",
        "reply_settings",
        "scopes",
        "source",
        "suggested_source_links",
        "suggested_source_links_with_counts",
        "text",
        "withheld",
    ]
)
EXPANSIONS = frozenset(
    [
        "article.cover_media",
        "article.media_entities",
        "attachments.media_keys",
        "attachments.media_source_tweet",
        "attachments.poll_ids",
        "author_id",
        "edit_history_tweet_ids",
        "entities.mentions.username",
        "geo.place_id",
        "in_reply_to_user_id",
        "entities.note.mentions.username",
        "referenced_tweets.id",
        "referenced_tweets.id.attachments.media_keys",
        "referenced_tweets.id.author_id",
    ]
)
USER_FIELDS = frozenset(
    [
        "affiliation",
        "confirmed_email",
        "connection_status",
        "created_at",
        "description",
        "entities",
        "id",
        "is_identity_verified",
        "location",
        "most_recent_tweet_id",
        "name",
        "parody",
        "pinned_tweet_id",
        "profile_banner_url",
        "profile_image_url",
        "protected",
        "public_metrics",
        "receives_your_dm",
        "subscription",
        "subscription_type",
        "url",
        "username",
        "verified",
        "verified_followers_count",
        "verified_type",
        "withheld",
    ]
)
MEDIA_FIELDS = frozenset(
    [
        "alt_text",
        "duration_ms",
        "height",
        "media_key",
        "non_public_metrics",
        "organic_metrics",
        "preview_image_url",
        "promoted_metrics",
        "public_metrics",
        "type",
        "url",
        "variants",
        "width",
    ]
)
SEARCH_EXTRA_TWEET_FIELDS = frozenset({"article_title", "note_post"})
SEARCH_EXTRA_EXPANSIONS = frozenset({"edit_history_post_ids", "referenced_posts", "username"})

DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
DEFAULT_USER_FIELDS = ("id", "name", "username")
DEFAULT_MEDIA_FIELDS = ("media_key", "type")


class InvalidRequest(Exception):
    """A 400 Invalid Request; ``errors`` are X's ``{"parameters", "message"}`` entries."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid request")
        self.errors = errors


def param_error(name: str, values: list[str], message: str) -> dict[str, Any]:
    """One entry of an Invalid Request's ``errors``."""
    return {"parameters": {name: values}, "message": message}


@dataclass
class Fields:
    """The field selection of a request (tweet.fields, expansions, user.fields, media.fields)."""

    tweet: set[str] = field(default_factory=set)
    expansions: set[str] = field(default_factory=set)
    user: set[str] = field(default_factory=set)
    media: set[str] = field(default_factory=set)


def parse_fields(query: Mapping[str, list[str]], *, search: bool = False) -> Fields:
    """Read and check the field parameters; unknown values give X's 400 (raised as ``InvalidRequest``)."""
    tweet_allowed = TWEET_FIELDS | SEARCH_EXTRA_TWEET_FIELDS if search else TWEET_FIELDS
    expansions_allowed = EXPANSIONS | SEARCH_EXTRA_EXPANSIONS if search else EXPANSIONS
    specs: list[tuple[str, frozenset[str]]] = [
        ("tweet.fields", tweet_allowed),
        ("expansions", expansions_allowed),
        ("user.fields", USER_FIELDS),
        ("media.fields", MEDIA_FIELDS),
    ]
    if search:
        specs.append(("post.fields", tweet_allowed))
    chosen: dict[str, set[str]] = {}
    errors = []
    for name, allowed in specs:
        values = [v for raw in query.get(name, []) for v in raw.split(",")]
        for value in values:
            if value not in allowed:
                listed = ",".join(sorted(allowed))
                message = f"The `{name}` query parameter value [{value}] is not one of [{listed}]"
                errors.append(param_error(name, [value], message))
        chosen[name] = set(values)
    if errors:
        raise InvalidRequest(errors)
    tweet = chosen["tweet.fields"] | chosen.get("post.fields", set())
    expansions = chosen["expansions"]
    if "referenced_posts" in expansions:
        expansions |= {"referenced_tweets.id"}
    return Fields(tweet, expansions, chosen["user.fields"], chosen["media.fields"])


def _pick(obj: Mapping[str, Any], wanted: Iterable[str]) -> dict[str, Any]:
    wanted = set(wanted)
    return {key: value for key, value in obj.items() if key in wanted}


def render_post(post: Mapping[str, Any], fields: Fields) -> dict[str, Any]:
    """The post as X returns it for this field selection (the defaults plus what was asked and exists)."""
    wanted = set(DEFAULT_TWEET_FIELDS) | fields.tweet
    expansion_fields = {
        "author_id": "author_id",
        "referenced_tweets.id": "referenced_tweets",
        "referenced_tweets.id.author_id": "referenced_tweets",
        "attachments.media_keys": "attachments",
        "in_reply_to_user_id": "in_reply_to_user_id",
        "geo.place_id": "geo",
    }
    wanted |= {name for expansion, name in expansion_fields.items() if expansion in fields.expansions}
    out = _pick(post, wanted)
    out.setdefault("edit_history_tweet_ids", [str(post["id"])])
    return out


@dataclass
class Registry:
    """Objects the fake knows, for expansions: users, media, and posts (published or only referenced)."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)


def build_includes(posts: Sequence[Mapping[str, Any]], fields: Fields, registry: Registry) -> dict[str, Any]:
    """``includes`` for these posts under ``fields.expansions``; empty lists are left out, as X does."""
    users: dict[str, dict[str, Any]] = {}
    tweets: dict[str, dict[str, Any]] = {}
    media: dict[str, dict[str, Any]] = {}
    expansions = fields.expansions
    user_fields = set(DEFAULT_USER_FIELDS) | fields.user
    media_fields = set(DEFAULT_MEDIA_FIELDS) | fields.media

    def add_user(user_id: Any) -> None:
        if user_id is not None and str(user_id) in registry.users and str(user_id) not in users:
            users[str(user_id)] = _pick(registry.users[str(user_id)], user_fields)

    def add_media(post: Mapping[str, Any]) -> None:
        for key in post.get("attachments", {}).get("media_keys", []):
            if key in registry.media and key not in media:
                media[key] = _pick(registry.media[key], media_fields)

    for post in posts:
        if "author_id" in expansions:
            add_user(post.get("author_id"))
        if "in_reply_to_user_id" in expansions:
            add_user(post.get("in_reply_to_user_id"))
        if "entities.mentions.username" in expansions:
            for mention in post.get("entities", {}).get("mentions", []):
                known = [u for u in registry.users.values() if u.get("username") == mention.get("username")]
                if known:
                    add_user(known[0]["id"])
        if "attachments.media_keys" in expansions:
            add_media(post)
        if "referenced_tweets.id" in expansions or "referenced_tweets.id.author_id" in expansions:
            for ref in post.get("referenced_tweets", []):
                referenced = registry.posts.get(str(ref.get("id")))
                if referenced is None:
                    continue
                if "referenced_tweets.id" in expansions and referenced["id"] not in tweets:
                    tweets[str(referenced["id"])] = render_post(referenced, fields)
                if "referenced_tweets.id.author_id" in expansions:
                    add_user(referenced.get("author_id"))
                if "referenced_tweets.id.attachments.media_keys" in expansions:
                    add_media(referenced)
    includes: dict[str, Any] = {}
    if users:
        includes["users"] = list(users.values())
    if tweets:
        includes["tweets"] = list(tweets.values())
    if media:
        includes["media"] = list(media.values())
    return includes


# ---- error bodies ----

Answer = tuple[int, "dict[str, Any] | str | bytes | None", dict[str, str]]


def about_blank(status: int, title: str) -> dict[str, Any]:
    """X's generic problem body (``type: about:blank``), e.g. for 401, 429, 5xx."""
    return {"title": title, "type": "about:blank", "status": status, "detail": title}


def invalid_request(errors: list[dict[str, Any]], problems: str = DEFAULT_PROBLEMS) -> dict[str, Any]:
    """X's 400 Invalid Request body."""
    return {
        "errors": errors,
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": problems + "invalid-request",
    }


def connection_exception(issue: str, detail: str, problems: str = DEFAULT_PROBLEMS) -> dict[str, Any]:
    """X's streaming ``ConnectionException`` body."""
    return {
        "title": "ConnectionException",
        "detail": detail,
        "connection_issue": issue,
        "type": problems + "streaming-connection",
    }


NO_RULES_DETAIL = (
    "You must define rules using the POST /2/tweets/search/stream/rules endpoint before connecting to filtered stream."
)
TOO_MANY_CONNECTIONS_DETAIL = "This stream is currently at the maximum allowed connection limit."

DISCONNECT_DETAILS = {
    "OperationalDisconnect": "This stream has been disconnected for operational reasons.",
    "UpstreamOperationalDisconnect": "This stream has been disconnected upstream for operational reasons.",
    "ForceDisconnect": "Force closing this stream connection.",
    "UpstreamUncleanDisconnect": "This stream had an unclean disconnect upstream.",
    "SlowReader": "This stream has been disconnected because your client was unable to keep up with us.",
    "InternalError": "This stream has been disconnected due to an internal error.",
    "ClientApplicationStateDegraded": (
        "This stream has been disconnected because your client application is in a degraded state."
    ),
    "InvalidRules": "This stream has been disconnected because your rules are invalid.",
}


def operational_disconnect_message(disconnect_type: str, problems: str = DEFAULT_PROBLEMS) -> dict[str, Any]:
    """The in-stream ``errors`` message X sends before closing a stream."""
    detail = DISCONNECT_DETAILS.get(disconnect_type, "This stream has been disconnected.")
    return {
        "errors": [
            {
                "title": "operational-disconnect",
                "disconnect_type": disconnect_type,
                "detail": detail,
                "type": problems + "operational-disconnect",
            }
        ]
    }


def x_401() -> Answer:
    """A stream connect refused for a bad token."""
    return 401, about_blank(401, "Unauthorized"), {}


def x_409_no_rules(problems: str = DEFAULT_PROBLEMS) -> Answer:
    """A stream connect refused because the app has no rules."""
    return 409, connection_exception("RuleConfigurationIssue", NO_RULES_DETAIL, problems), {}


def x_429_too_many_connections(
    reset_in: float = 600.0, remaining: int = 48, limit: int = 50, problems: str = DEFAULT_PROBLEMS
) -> Answer:
    """X's TooManyConnections 429: requests remain, the reset is minutes away (x-api.md)."""
    headers = {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(time.time() + reset_in)),
    }
    body = connection_exception("TooManyConnections", TOO_MANY_CONNECTIONS_DETAIL, problems)
    return 429, body, headers


def x_429_too_many_requests(reset_in: float = 600.0, limit: int = 50) -> Answer:
    """A rate-limit 429 with ``x-rate-limit-remaining: 0``."""
    headers = {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(time.time() + reset_in)),
    }
    return 429, about_blank(429, "Too Many Requests"), headers


def x_500() -> Answer:
    """An internal error."""
    return 500, about_blank(500, "Internal Server Error"), {}


def x_503() -> Answer:
    """Service unavailable (X overloaded)."""
    return 503, about_blank(503, "Service Unavailable"), {}


def x_502_html() -> Answer:
    """A 502 from a proxy in front of X: an HTML body, not JSON."""
    body = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    return 502, body, {"content-type": "text/html"}


# ---- oEmbed ----

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
