"""``source:``, the network filter: a query as one source sees it, and a query narrowed to some sources.

``source:`` is ours, evaluated here and never sent to X. Each source takes a watched query as it reads on that
source's posts (:func:`on_source`): every ``source:NAME`` term is decided (true on its own source's posts,
false on the others'), and the tree is simplified: an AND with a false term is false and drops its true ones,
an OR with a true branch is true and drops its false ones. What is left has no ``source:`` term (for X, it
is the rule sent), or is nothing: the query leaves that source out. ``(source:x #a) OR #b`` is ``#a OR #b`` on
X and ``#b`` elsewhere; ``#a -source:x`` is nothing on X and ``#a`` elsewhere.

``source:`` cannot stand alone (the parser refuses ``source:bluesky``: a whole network's firehose is not a
search), so every clause keeps a positive standalone term: what is left is a valid rule, never "every post".
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from twitterstream.query.ast import And, Node, Not, Operator, Or, make_and, make_or
from twitterstream.query.canonical import render
from twitterstream.query.query import Query, parse

#: The operator's name (``Query.operators`` holds it when a query uses the filter).
SOURCE = "source"


def decide(node: Node, source: str) -> Node | bool:
    """``node`` with its ``source:`` terms decided for the posts of ``source``, simplified (a bool when the
    whole of it is decided)."""
    if isinstance(node, Operator) and node.name == SOURCE:
        return node.value == source
    if isinstance(node, Not) and isinstance(node.child, Operator) and node.child.name == SOURCE:
        return node.child.value != source
    if isinstance(node, And):
        kept: list[Node] = []
        for child in node.children:
            decided = decide(child, source)
            if decided is False:
                return False
            if decided is not True:
                kept.append(decided)
        return make_and(kept) if kept else True
    if isinstance(node, Or):
        branches: list[Node] = []
        for child in node.children:
            decided = decide(child, source)
            if decided is True:
                return True
            if decided is not False:
                branches.append(decided)
        return make_or(branches) if branches else False
    return node


def on_source(query: Query, source: str) -> Query | None:
    """``query`` as ``source`` evaluates it (without ``source:``), or None when its filter leaves ``source`` out.

    A query without ``source:`` is returned as it is (the same key: X's rule for it is its key).
    """
    if SOURCE not in query.operators:
        return query
    return _on_source(query, source)


@lru_cache(maxsize=8192)
def _on_source(query: Query, source: str) -> Query | None:
    tree = decide(query.tree, source)
    if tree is False:
        return None
    assert tree is not True, "source: cannot stand alone, so no query is true on every post of a source"
    text = render(tree)
    return parse(text, max_length=max(len(text), len(query.key)))


def covers(query: Query, source: str) -> bool:
    """True unless the query's ``source:`` filter leaves ``source`` out."""
    return on_source(query, source) is not None


def left_out(query: Query, sources: Iterable[str]) -> list[str]:
    """The ``sources`` (in their order) that the query's ``source:`` filter leaves out."""
    return [name for name in sources if not covers(query, name)]


def only_on(query: Query, sources: Iterable[str], max_length: int = 1024) -> Query:
    """``query`` narrowed to the posts of ``sources``: ``#nyc (source:x OR source:bluesky)``, in canonical form.

    Raises :class:`QueryError` when the result is longer than ``max_length`` (the filter adds some 15
    characters per source).
    """
    names = list(dict.fromkeys(sources))
    if not names:
        raise ValueError("only_on needs at least one source")
    tree = make_and([query.tree, make_or([Operator(SOURCE, name) for name in names])])
    return parse(render(tree), max_length=max_length)
