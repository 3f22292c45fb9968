"""Tree to text: the canonical spelling of a query (``Query.key``).

The key is a valid X rule that parses back to an equal tree: single spaces, parentheses only around an ``OR``
inside an ``AND``, lower-case keywords, phrases, hashtags, mentions and operator values, upper-case cashtags,
operator values quoted only when they need it. Queries that mean the same thing (``#NYC`` and ``#nyc``, extra
spaces, redundant parentheses, a repeated term) share it, so it can name a watched query everywhere.
"""

from __future__ import annotations

import re

from twitterstream.query.ast import (
    And,
    Cashtag,
    Flag,
    Hashtag,
    Keyword,
    Mention,
    Node,
    Not,
    Operator,
    Or,
    Phrase,
    Proximity,
    Term,
)
from twitterstream.query.operators import SPECS

#: Values written without quotes: the ones X's lexer reads as one word (URLs with a scheme get quotes).
_BARE_VALUE = re.compile(r"[\w.\-*@/]+")


def render(node: Node, inside_and: bool = False) -> str:
    """The canonical text of ``node``."""
    if isinstance(node, And):
        return " ".join(render(child, inside_and=True) for child in node.children)
    if isinstance(node, Or):
        text = " OR ".join(render(child) for child in node.children)
        return f"({text})" if inside_and else text
    if isinstance(node, Not):
        return "-" + render_term(node.child)
    return render_term(node)


def render_term(term: Term) -> str:
    """The canonical text of one term."""
    if isinstance(term, Keyword):
        return term.text
    if isinstance(term, Phrase):
        return f'"{term.text}"'
    if isinstance(term, Proximity):
        return f'"{term.text}"~{term.distance}'
    if isinstance(term, Hashtag):
        return f"#{term.value}"
    if isinstance(term, Mention):
        return f"@{term.value}"
    if isinstance(term, Cashtag):
        return f"${term.value}"
    if isinstance(term, Flag):
        return term.name
    return f"{term.name}:{_render_value(term)}"


def _render_value(term: Operator) -> str:
    if SPECS[term.name].brackets:
        return f"[{term.value}]"
    if _BARE_VALUE.fullmatch(term.value):
        return term.value
    return f'"{term.value}"'
