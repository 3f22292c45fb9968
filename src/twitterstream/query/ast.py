"""The parsed form of a query: an immutable tree of frozen dataclasses.

Leaves are terms (a keyword, a phrase, an entity, an operator); inner nodes are :class:`And`, :class:`Or`
and :class:`Not`. The tree is kept in a normal form, so that queries meaning the same have equal trees:

* negation only wraps a term (``-(a OR b)`` is stored as ``-a -b``, by De Morgan's laws: X asks rules not to
  negate groups, and this is the rewrite X's documentation recommends);
* nested ``And``/``Or`` are flattened, exact duplicate operands dropped (the first kept), one-operand groups
  replaced by their operand; operand order is the user's.

Every node has a ``pos`` (1-based position in the query text, for error messages) that equality ignores.
Term text and values are stored in their canonical spelling (lower case, NFC, single spaces); the matcher
derives what it compares (case-folded tokens) from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Keyword:
    """An unquoted word, matched by tokens (several tokens, like ``coca-cola``, as an adjacent sequence)."""

    text: str
    pos: int = field(default=0, compare=False, repr=False)

    @property
    def operator(self) -> str:
        return "keyword"


@dataclass(frozen=True, slots=True)
class Phrase:
    """A ``"quoted phrase"``: the exact sequence of characters, punctuation included, case-insensitively."""

    text: str
    pos: int = field(default=0, compare=False, repr=False)

    @property
    def operator(self) -> str:
        return "phrase"


@dataclass(frozen=True, slots=True)
class Proximity:
    """``"k1 k2"~N``: the keywords with at most N tokens of slack between them (reversed order costs 2)."""

    text: str
    distance: int
    pos: int = field(default=0, compare=False, repr=False)

    @property
    def operator(self) -> str:
        return "proximity"


@dataclass(frozen=True, slots=True)
class Hashtag:
    """``#tag``: exact match against the post's hashtag entities (not a prefix, not the text)."""

    value: str
    pos: int = field(default=0, compare=False, repr=False)

    @property
    def operator(self) -> str:
        return "hashtag"


@dataclass(frozen=True, slots=True)
class Mention:
    """``@name``: exact match against the post's mention entities."""

    value: str
    pos: int = field(default=0, compare=False, repr=False)

    @property
    def operator(self) -> str:
        return "mention"


@dataclass(frozen=True, slots=True)
class Cashtag:
    """``$TAG``: exact match against the post's cashtag entities (stored upper-case)."""

    value: str
    pos: int = field(default=0, compare=False, repr=False)

    @property
    def operator(self) -> str:
        return "cashtag"


@dataclass(frozen=True, slots=True)
class Operator:
    """``name:value`` (``from:``, ``url:``, ``lang:``, ``bio:`` ...); ``value`` is canonical."""

    name: str
    value: str
    pos: int = field(default=0, compare=False, repr=False)

    @property
    def operator(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Flag:
    """A value-less operator: ``is:retweet``, ``has:links`` ... (``name`` includes the prefix)."""

    name: str
    pos: int = field(default=0, compare=False, repr=False)

    @property
    def operator(self) -> str:
        return self.name


Term: TypeAlias = Keyword | Phrase | Proximity | Hashtag | Mention | Cashtag | Operator | Flag


@dataclass(frozen=True, slots=True)
class Not:
    """``-term``: matches when the term does not."""

    child: Term
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class And:
    """Terms separated by spaces: every child must match. Always two children or more."""

    children: tuple[Node, ...]
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Or:
    """Clauses joined by ``OR``: one child must match. Always two children or more."""

    children: tuple[Node, ...]
    pos: int = field(default=0, compare=False, repr=False)


Node: TypeAlias = Term | Not | And | Or


def make_and(children: list[Node]) -> Node:
    """An :class:`And` of ``children`` in normal form (flattened, de-duplicated; a lone child is returned)."""
    return _combine(And, children)


def make_or(children: list[Node]) -> Node:
    """An :class:`Or` of ``children`` in normal form."""
    return _combine(Or, children)


def negate(node: Node) -> Node:
    """The negation of ``node``, pushed down to the terms (De Morgan); a double negation cancels out."""
    if isinstance(node, Not):
        return node.child
    if isinstance(node, And):
        return make_or([negate(child) for child in node.children])
    if isinstance(node, Or):
        return make_and([negate(child) for child in node.children])
    return Not(node, node.pos)


def _combine(kind: type[And] | type[Or], children: list[Node]) -> Node:
    flat: list[Node] = []
    seen: set[Node] = set()
    for child in children:
        for item in child.children if isinstance(child, kind) else (child,):
            if item not in seen:
                seen.add(item)
                flat.append(item)
    if len(flat) == 1:
        return flat[0]
    return kind(tuple(flat), flat[0].pos)


def terms(node: Node) -> list[Term]:
    """Every term of the tree, negated or not, in order."""
    if isinstance(node, Not):
        return [node.child]
    if isinstance(node, And | Or):
        return [term for child in node.children for term in terms(child)]
    return [node]
