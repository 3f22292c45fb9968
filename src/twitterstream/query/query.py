"""The parsed query: what the user typed, its canonical key, its tree, and a compiled matcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from twitterstream.models import Post
from twitterstream.query.ast import Node, terms
from twitterstream.query.canonical import render
from twitterstream.query.features import PostFeatures
from twitterstream.query.matcher import Matcher, compile_tree
from twitterstream.query.parser import parse_tree


@dataclass(frozen=True, slots=True)
class Query:
    """A valid rule. Two queries are equal when their keys are (they mean the same).

    ``text`` is what the user typed; ``key`` the canonical rule (valid X syntax; send this to X); ``tree`` the
    normal-form :mod:`~twitterstream.query.ast`; ``operators`` the names of the operators used (``"keyword"``,
    ``"hashtag"``, ``"from"``, ``"is:retweet"``, ``"bio"`` ...).
    """

    text: str = field(compare=False)
    key: str
    tree: Node = field(compare=False, repr=False)
    operators: frozenset[str] = field(compare=False, repr=False)
    matcher: Matcher = field(compare=False, repr=False)

    def unsupported(self, capabilities: frozenset[str]) -> list[str]:
        """The operators this query uses that a source with ``capabilities`` cannot evaluate, sorted."""
        return sorted(self.operators - capabilities)

    def matches(self, post: Post | PostFeatures) -> bool:
        """True if ``post`` matches. Never raises; operators outside ``LOCAL_OPERATORS`` evaluate as false, so
        check :meth:`unsupported` before trusting the answer for a query that might use them."""
        return self.matcher(post if isinstance(post, PostFeatures) else PostFeatures(post))


def parse(text: str, *, max_length: int = 1024) -> Query:
    """Parse and validate ``text`` as an X filtered-stream rule; raises :class:`QueryError` (what, where)."""
    return _parse(text, max_length)


@lru_cache(maxsize=4096)
def _parse(text: str, max_length: int) -> Query:
    tree = parse_tree(text, max_length)
    return Query(
        text=text,
        key=render(tree),
        tree=tree,
        operators=frozenset(term.operator for term in terms(tree)),
        matcher=compile_tree(tree),
    )
