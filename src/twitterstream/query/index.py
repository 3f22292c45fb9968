"""Many watched queries against a fast stream: a presearcher in front of the matcher.

The idea of Lucene's Monitor and Elasticsearch's percolator. Each query registers terms a matching post must
contain (a word token, a hashtag, a mention, a cashtag, an author, a reply-to user, a URL token):

* a term registers itself; a keyword of several tokens, a phrase or a proximity registers its longest token
  (every token is required, the longest is likely the rarest);
* an ``AND`` registers the terms of one child, the one that looks most selective;
* an ``OR`` registers the terms of every branch (a post matching any branch must be found);
* negations and conjunction-required operators (``is:``, ``has:``, ``lang:``) register nothing: a query made
  only of those at some level (which X would refuse anyway) goes to a list verified against every post.

A query whose every way of matching is one such term (``#nyc``, ``pizza``, ``from:bob``, ``a OR #b``) is
"exact": finding its term is matching it, so it is not verified again.

For a post, the index looks its terms up in dictionaries (set intersections done in C), verifies only the
queries found (the candidates) with their compiled matcher, and returns the keys of those that match. The
cost per post grows with the post and the number of candidates, not with the number of watched queries.

Not thread-safe: callers serialise ``add``/``remove`` with ``match`` (the ingester holds a lock).
"""

from __future__ import annotations

from dataclasses import dataclass

from twitterstream.models import Post
from twitterstream.query.ast import (
    And,
    Cashtag,
    Hashtag,
    Keyword,
    Mention,
    Node,
    Not,
    Operator,
    Or,
    Phrase,
    Proximity,
)
from twitterstream.query.features import PostFeatures
from twitterstream.query.matcher import Matcher
from twitterstream.query.query import Query
from twitterstream.query.tokens import fold, is_plain_word, tokenize

#: Namespaces of presearch terms.
WORD, HASHTAG, MENTION, CASHTAG, AUTHOR, REPLY_TO, URL = "word", "#", "@", "$", "from", "to", "url"
_NAMESPACES = (WORD, HASHTAG, MENTION, CASHTAG, AUTHOR, REPLY_TO, URL)

Term = tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Entry:
    query: Query
    terms: frozenset[Term] | None  # None: verified against every post
    order: int
    verify: Matcher | None  # None: exact, found means matched


class QueryIndex:
    """Watched queries by key; ``match(post)`` returns the keys of those a post matches."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._postings: dict[str, dict[str, dict[str, Matcher | None]]] = {ns: {} for ns in _NAMESPACES}
        self._always: dict[str, Matcher | None] = {}
        self._added = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def add(self, key: str, query: Query) -> None:
        """Watch ``query`` under ``key`` (replacing what ``key`` named before)."""
        self.remove(key)
        terms = required_terms(query.tree)
        self._added += 1
        verify = None if terms is not None and is_exact(query.tree) else query.matcher
        entry = _Entry(query, terms, self._added, verify)
        self._entries[key] = entry
        if terms is None:
            self._always[key] = verify
            return
        for namespace, value in terms:
            self._postings[namespace].setdefault(value, {})[key] = verify

    def remove(self, key: str) -> None:
        """Stop watching ``key`` (nothing happens if it is not watched)."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        if entry.terms is None:
            del self._always[key]
            return
        for namespace, value in entry.terms:
            postings = self._postings[namespace]
            keys = postings[value]
            del keys[key]
            if not keys:
                del postings[value]

    def candidates(self, features: PostFeatures) -> dict[str, Matcher | None]:
        """The queries the presearch cannot rule out for this post (key -> matcher, None if already matched)."""
        found: dict[str, Matcher | None] = dict(self._always) if self._always else {}
        postings = self._postings
        words = postings[WORD]
        for token in words.keys() & features.token_set:
            found.update(words[token])
        for namespace, values in (
            (HASHTAG, features.hashtags),
            (MENTION, features.mentions),
            (CASHTAG, features.cashtags),
        ):
            if values and postings[namespace]:
                index = postings[namespace]
                for value in index.keys() & values:
                    found.update(index[value])
        if postings[AUTHOR]:
            index = postings[AUTHOR]
            for value in index.keys() & features.authors():
                found.update(index[value])
        if postings[REPLY_TO] and features.post.reply_to:
            index = postings[REPLY_TO]
            for value in index.keys() & features.reply_to():
                found.update(index[value])
        if postings[URL] and features.post.urls:
            index = postings[URL]
            for value in index.keys() & features.url_token_set():
                found.update(index[value])
        return found

    def match(self, post: Post | PostFeatures) -> list[str]:
        """Keys of every watched query that ``post`` matches, in the order they were added."""
        features = post if isinstance(post, PostFeatures) else PostFeatures(post)
        found = self.candidates(features)
        if not found:
            return []
        keys = [key for key, verify in found.items() if verify is None or verify(features)]
        if len(keys) > 1:
            entries = self._entries
            keys.sort(key=lambda key: entries[key].order)
        return keys


def required_terms(node: Node) -> frozenset[Term] | None:
    """Terms of which every post matching ``node`` contains one; ``None`` if there are none to give."""
    if isinstance(node, Not):
        return None
    if isinstance(node, Or):
        union: set[Term] = set()
        for child in node.children:
            terms = required_terms(child)
            if terms is None:
                return None
            union |= terms
        return frozenset(union)
    if isinstance(node, And):
        options = [terms for terms in map(required_terms, node.children) if terms is not None]
        return min(options, key=_cost) if options else None
    if isinstance(node, Keyword | Proximity):
        return _longest(tokenize(node.text))
    if isinstance(node, Phrase):
        return _longest([t for t in tokenize(node.text) if is_plain_word(t)])
    if isinstance(node, Hashtag):
        return frozenset({(HASHTAG, fold(node.value))})
    if isinstance(node, Mention):
        return frozenset({(MENTION, fold(node.value))})
    if isinstance(node, Cashtag):
        return frozenset({(CASHTAG, fold(node.value))})
    if isinstance(node, Operator):
        if node.name == "from":
            return frozenset({(AUTHOR, fold(node.value))})
        if node.name == "to":
            return frozenset({(REPLY_TO, fold(node.value))})
        if node.name == "url":
            tokens = tokenize(node.value)
            return frozenset({(URL, max(tokens, key=len))}) if tokens else None
    return None


def post_terms(features: PostFeatures) -> list[tuple[str, frozenset[str]]]:
    """The presearch terms ``post`` contains, by namespace: what :meth:`QueryIndex.candidates` looks it up by."""
    post = features.post
    found = [
        (WORD, features.token_set),
        (HASHTAG, features.hashtags),
        (MENTION, features.mentions),
        (CASHTAG, features.cashtags),
        (AUTHOR, features.authors()),
    ]
    if post.reply_to:
        found.append((REPLY_TO, features.reply_to()))
    if post.urls:
        found.append((URL, features.url_token_set()))
    return found


def is_exact(node: Node) -> bool:
    """True if a post containing one of the terms ``required_terms(node)`` gives always matches ``node``."""
    if isinstance(node, Or):
        return all(is_exact(child) for child in node.children)
    if isinstance(node, Keyword):
        return len(tokenize(node.text)) == 1
    if isinstance(node, Operator):
        return node.name in ("from", "to")
    return isinstance(node, Hashtag | Mention | Cashtag)


def _longest(tokens: list[str]) -> frozenset[Term] | None:
    return frozenset({(WORD, max(tokens, key=len))}) if tokens else None


def _cost(terms: frozenset[Term]) -> float:
    """How many posts a set of terms probably lets through: entities are rare, short words common."""
    return sum(4.0 / (1 + len(value)) if namespace in (WORD, URL) else 0.5 for namespace, value in terms)
