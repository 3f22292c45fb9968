"""What the matcher reads from a post, computed once per post however many queries look at it."""

from __future__ import annotations

from typing import Any

from twitterstream.models import Post
from twitterstream.query.tokens import fold, fold_phrase, tokenize

_EMPTY: frozenset[str] = frozenset()


def _fold_entity(value: str) -> str:
    value = value.lower() if value.isascii() else fold(value)
    return value[1:] if value[:1] in ("#", "@", "$") else value


def _fold_all(values: tuple[str, ...] | list[str]) -> frozenset[str]:
    return frozenset([_fold_entity(v) for v in values]) if values else _EMPTY


class PostFeatures:
    """A post's tokens, entity sets and flags, computed once per post (``PostFeatures.of(post)``).

    The text tokens, token set and entity sets are computed up front (every index lookup needs them); the rest
    (folded text for phrases, URL tokens, authors, languages) only when a query asks.
    """

    __slots__ = (
        "_authors",
        "_langs",
        "_phrase_texts",
        "_reply_to",
        "_url_token_set",
        "_url_tokens",
        "cashtags",
        "hashtags",
        "mentions",
        "post",
        "quoted_tokens",
        "token_set",
        "tokens",
    )

    post: Post
    tokens: list[str]
    quoted_tokens: list[str]
    token_set: frozenset[str]
    hashtags: frozenset[str]
    mentions: frozenset[str]
    cashtags: frozenset[str]

    def __init__(self, post: Post) -> None:
        self.post = post
        text = post.text
        self.tokens = tokens = tokenize(text)
        if post.quoted_text:
            self.quoted_tokens = quoted = tokenize(post.quoted_text)
            self.token_set = frozenset(tokens).union(quoted)
        else:
            self.quoted_tokens = []
            self.token_set = frozenset(tokens)
        self.hashtags = _fold_all(post.hashtags)
        self.mentions = _fold_all(post.mentions)
        self.cashtags = _fold_all(post.cashtags)
        self._phrase_texts: tuple[str, ...] | None = None
        self._url_tokens: tuple[list[str], ...] | None = None
        self._url_token_set: frozenset[str] | None = None
        self._authors: frozenset[str] | None = None
        self._reply_to: frozenset[str] | None = None
        self._langs: tuple[frozenset[str], frozenset[str]] | None = None

    @classmethod
    def of(cls, post: Post | PostFeatures) -> PostFeatures:
        """The features of ``post`` (returned as is if it already is a ``PostFeatures``)."""
        if isinstance(post, PostFeatures):
            return post
        return cls(post)

    def token_lists(self) -> tuple[list[str], ...]:
        """The token sequences a keyword run or a proximity may match in: the text, then the quoted text."""
        return (self.tokens, self.quoted_tokens) if self.quoted_tokens else (self.tokens,)

    def phrase_texts(self) -> tuple[str, ...]:
        """The text (and quoted text) folded for exact-phrase matching."""
        if self._phrase_texts is None:
            post = self.post
            texts = [fold_phrase(post.text)]
            if post.quoted_text:
                texts.append(fold_phrase(post.quoted_text))
            self._phrase_texts = tuple(texts)
        return self._phrase_texts

    def url_tokens(self) -> tuple[list[str], ...]:
        """The tokens of each of the post's URLs."""
        if self._url_tokens is None:
            self._url_tokens = tuple(tokenize(url) for url in self.post.urls)
        return self._url_tokens

    def url_token_set(self) -> frozenset[str]:
        """Every token of every URL of the post."""
        if self._url_token_set is None:
            self._url_token_set = frozenset(t for tokens in self.url_tokens() for t in tokens)
        return self._url_token_set

    def authors(self) -> frozenset[str]:
        """The author's username and id, folded (what ``from:`` compares)."""
        if self._authors is None:
            author = self.post.author
            names = [author.id] if author.id else []
            if author.username:
                names.append(author.username)
            self._authors = _fold_all(names)
        return self._authors

    def reply_to(self) -> frozenset[str]:
        """The ids and usernames of the users replied to, folded (what ``to:`` compares)."""
        if self._reply_to is None:
            self._reply_to = _fold_all(self.post.reply_to)
        return self._reply_to

    def langs(self) -> tuple[frozenset[str], frozenset[str]]:
        """(language codes, their primary subtags): ``post.lang`` and Bluesky's ``extra["langs"]``, folded."""
        if self._langs is None:
            codes: list[str] = []
            if self.post.lang:
                codes.append(self.post.lang)
            extra: Any = self.post.extra.get("langs") if self.post.extra else None
            if isinstance(extra, list | tuple):
                codes.extend(code for code in extra if isinstance(code, str))
            full = frozenset(code.strip().lower().replace("_", "-") for code in codes)
            self._langs = (full, frozenset(code.partition("-")[0] for code in full))
        return self._langs
