"""How the fake X renders posts: the field selection of a request (``tweet.fields``, ``expansions``,
``user.fields``, ``media.fields``, checked against X's OpenAPI enums) and the ``data`` and ``includes`` it gives.

Error bodies live in ``x_errors`` and oEmbed in ``x_oembed``; their public names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .x_errors import (
    DEFAULT_PROBLEMS,
    DISCONNECT_DETAILS,
    NO_RULES_DETAIL,
    TOO_MANY_CONNECTIONS_DETAIL,
    Answer,
    InvalidRequest,
    about_blank,
    connection_exception,
    invalid_request,
    operational_disconnect_message,
    param_error,
    x_401,
    x_409_no_rules,
    x_429_too_many_connections,
    x_429_too_many_requests,
    x_500,
    x_502_html,
    x_503,
)
from .x_oembed import RTL_LANGS, SCRIPT_TAG, oembed_answer, oembed_html, oembed_paragraph

__all__ = [
    "DEFAULT_MEDIA_FIELDS",
    "DEFAULT_PROBLEMS",
    "DEFAULT_TWEET_FIELDS",
    "DEFAULT_USER_FIELDS",
    "DISCONNECT_DETAILS",
    "EXPANSIONS",
    "MEDIA_FIELDS",
    "NO_RULES_DETAIL",
    "RTL_LANGS",
    "SCRIPT_TAG",
    "SEARCH_EXTRA_EXPANSIONS",
    "SEARCH_EXTRA_TWEET_FIELDS",
    "TOO_MANY_CONNECTIONS_DETAIL",
    "TWEET_FIELDS",
    "USER_FIELDS",
    "Answer",
    "Fields",
    "InvalidRequest",
    "Registry",
    "about_blank",
    "build_includes",
    "connection_exception",
    "invalid_request",
    "oembed_answer",
    "oembed_html",
    "oembed_paragraph",
    "operational_disconnect_message",
    "param_error",
    "parse_fields",
    "render_post",
    "x_401",
    "x_409_no_rules",
    "x_429_too_many_connections",
    "x_429_too_many_requests",
    "x_500",
    "x_502_html",
    "x_503",
]

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
