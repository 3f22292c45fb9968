"""Matching a parsed rule (``x_rule_parser``) against a post, for the fake X's stream and recent search.

Matching (``matches``) limits, deliberately simple:

- keyword: case-insensitive match of a whole token; the post text is tokenised on every character that is
  not a letter or digit (accents are letters, so matching is accent-strict as on the stream); a keyword
  containing punctuation (``coca-cola``) must match as a run of adjacent tokens; a keyword with no letters
  or digits (an emoji) is a case-insensitive substring match;
- ``"phrase"``: case-insensitive substring of the (HTML-unescaped) text that starts and ends on token
  boundaries; ``"a b"~N`` only requires every word of the phrase to be present (proximity is not measured);
- ``#tag``/``@user``/``$TAG``: exact, case-insensitive match against the post's entities (computed from the
  text when the post has no ``entities``); ``url:`` is a substring match against ``url`` and
  ``expanded_url``;
- ``from:``/``to:``/``retweets_of:`` compare a username (needs the user objects) or a numeric id;
  ``conversation_id:``, ``in_reply_to_tweet_id:``, ``retweets_of_tweet_id:``, ``quotes_of_tweet_id:``
  compare ids;
- ``lang:`` compares ``post["lang"]``; ``is:retweet|reply|quote`` read ``referenced_tweets``; ``is:verified``
  reads the author's ``verified``; ``is:nullcast`` is always false; ``has:links`` = any url entity,
  ``has:media`` = any ``attachments.media_keys``, ``has:images``/``has:video_link`` look at the media objects
  (or ``/photo/``, ``/video/`` in url entities); ``has:geo`` = a ``geo`` key; ``sample:N`` keeps a stable N%;
- for the stream, keywords/phrases also look at the text of a quoted post (when its object was published);
- other valid operators (``bio:``, ``place:``, ``context:``, ``entity:``, ...) never match.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from typing import Any

from .x_render import Registry
from .x_rule_parser import Node, Term

__all__ = ["Document", "document_for", "matches"]

_TOKEN_RE = re.compile(r"[^\W_]+")


def _tokens(text: str) -> list[str]:
    return [token.casefold() for token in _TOKEN_RE.findall(text)]


@dataclass
class Document:
    """What the matcher needs to know about one post."""

    post: dict[str, Any]
    author: dict[str, Any] | None = None
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> user
    media: list[dict[str, Any]] = field(default_factory=list)
    quoted_texts: list[str] = field(default_factory=list)
    referenced: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> post

    def texts(self) -> list[str]:
        return [html.unescape(self.post.get("text", ""))] + [html.unescape(t) for t in self.quoted_texts]

    def entities(self) -> dict[str, Any]:
        entities = self.post.get("entities")
        if entities is None:
            from .x_posts import compute_entities

            entities = compute_entities(self.post.get("text", ""))
        return entities

    def references(self, kind: str) -> list[str]:
        return [ref["id"] for ref in self.post.get("referenced_tweets", []) if ref.get("type") == kind]


def document_for(post: dict[str, Any], registry: Registry, *, with_quoted: bool) -> Document:
    """The document for ``post`` from what the fake knows (``with_quoted``: the quoted post's text too, as the
    stream matches it)."""
    author = registry.users.get(str(post.get("author_id")))
    keys = post.get("attachments", {}).get("media_keys", [])
    media = [registry.media[key] for key in keys if key in registry.media]
    referenced = {
        str(ref["id"]): registry.posts[str(ref["id"])]
        for ref in post.get("referenced_tweets", [])
        if str(ref.get("id")) in registry.posts
    }
    quoted = [
        referenced[str(ref["id"])].get("text", "")
        for ref in post.get("referenced_tweets", [])
        if with_quoted and ref.get("type") == "quoted" and str(ref["id"]) in referenced
    ]
    return Document(post, author, registry.users, media, quoted, referenced)


def matches(tree: Any, doc: Document) -> bool:
    """Whether a parsed rule matches the document."""
    if isinstance(tree, Node):
        if tree.op == "and":
            return all(matches(child, doc) for child in tree.children)
        if tree.op == "or":
            return any(matches(child, doc) for child in tree.children)
        return not matches(tree.children[0], doc)
    return _term_matches(tree, doc)


def _user_matches(value: str, user_id: str | None, doc: Document) -> bool:
    if user_id is None:
        return False
    if value.isdigit():
        return value == user_id
    user = doc.users.get(user_id) or (doc.author if doc.author and doc.author.get("id") == user_id else None)
    return user is not None and str(user.get("username", "")).casefold() == value.casefold()


def _phrase_in(phrase: str, text: str) -> bool:
    haystack, needle = text.casefold(), phrase.casefold()
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        before_ok = start == 0 or not (needle[0].isalnum() and haystack[start - 1].isalnum())
        after_ok = end == len(haystack) or not (needle[-1].isalnum() and haystack[end].isalnum())
        if before_ok and after_ok:
            return True
        start = haystack.find(needle, start + 1)
    return False


def _keyword_in(keyword: str, text: str) -> bool:
    wanted = _tokens(keyword)
    if not wanted:
        return keyword.casefold() in text.casefold()
    have = _tokens(text)
    size = len(wanted)
    return any(have[i : i + size] == wanted for i in range(len(have) - size + 1))


def _term_matches(term: Term, doc: Document) -> bool:
    post = doc.post
    kind, value = term.kind, term.value
    if kind == "keyword":
        return any(_keyword_in(value, text) for text in doc.texts())
    if kind == "phrase":
        if term.proximity is not None:
            return any(all(_keyword_in(word, text) for word in value.split()) for text in doc.texts())
        return any(_phrase_in(value, text) for text in doc.texts())
    entities = doc.entities()
    if kind in ("hashtag", "cashtag"):
        return any(e.get("tag", "").casefold() == value.casefold() for e in entities.get(kind + "s", []))
    if kind == "mention":
        return any(e.get("username", "").casefold() == value.casefold() for e in entities.get("mentions", []))
    if kind == "from":
        return _user_matches(value, str(post.get("author_id")) if post.get("author_id") else None, doc)
    if kind == "to":
        return _user_matches(value, post.get("in_reply_to_user_id"), doc)
    if kind == "retweets_of":
        return any(
            _user_matches(value, doc.referenced.get(ref, {}).get("author_id"), doc)
            for ref in doc.references("retweeted")
        )
    if kind == "url":
        needle = value.casefold()
        return any(
            needle in str(e.get("url", "")).casefold() or needle in str(e.get("expanded_url", "")).casefold()
            for e in entities.get("urls", [])
        )
    if kind == "conversation_id":
        return str(post.get("conversation_id", "")) == value
    if kind == "in_reply_to_tweet_id":
        return value in doc.references("replied_to")
    if kind == "retweets_of_tweet_id":
        return value in doc.references("retweeted")
    if kind == "quotes_of_tweet_id":
        return value in doc.references("quoted")
    if kind == "lang":
        return post.get("lang") == value
    if kind == "sample":
        digest = hashlib.sha256(str(post.get("id")).encode()).digest()
        return digest[0] * 100 // 256 < int(value)
    if kind == "is":
        if value == "retweet":
            return bool(doc.references("retweeted"))
        if value == "reply":
            return bool(doc.references("replied_to"))
        if value == "quote":
            return bool(doc.references("quoted"))
        if value == "verified":
            return bool(doc.author and doc.author.get("verified"))
        return False
    if kind == "has":
        return _has(value, doc, entities)
    return False


def _has(value: str, doc: Document, entities: dict[str, Any]) -> bool:
    post = doc.post
    urls = entities.get("urls", [])
    media_keys = post.get("attachments", {}).get("media_keys", [])
    if value in ("hashtags", "cashtags", "mentions"):
        return bool(entities.get(value))
    if value == "links":
        return bool(urls)
    if value == "media":
        return bool(media_keys)
    if value == "images":
        types = [m.get("type") for m in doc.media if m.get("media_key") in media_keys]
        return "photo" in types or any("/photo/" in str(u.get("expanded_url", "")) for u in urls)
    if value == "video_link":
        types = [m.get("type") for m in doc.media if m.get("media_key") in media_keys]
        return bool({"video", "animated_gif"} & set(types)) or any(
            "/video/" in str(u.get("expanded_url", "")) for u in urls
        )
    if value == "geo":
        return "geo" in post
    return False
