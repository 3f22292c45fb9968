"""Text to tree: a lexer and a recursive-descent parser for X's filtered-stream rule syntax.

Grammar (AND binds tighter than OR; a space is AND)::

    query   := clause ("OR" clause)*
    clause  := unary+
    unary   := term | "-" term | "(" query ")" | "-(" query ")"
    term    := keyword | "phrase" | "phrase"~N | #tag | @name | $TAG
             | name:value | name:"value" | name:[a b c]

Every error is a :class:`QueryError` with the 1-based position of the offending character.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import twitterstream.query.errors as errors
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
    make_and,
    make_or,
    negate,
)
from twitterstream.query.canonical import render_term
from twitterstream.query.errors import QueryError
from twitterstream.query.operators import FLAG_ALIASES, FLAGS, SPECS, VALUE_OPERATORS, is_standalone
from twitterstream.query.tokens import collapse_whitespace, tokenize

#: Deeper nesting than this is refused (it is never needed, and it bounds recursion).
MAX_DEPTH = 40
#: Whitespace allowed in a query (treated as spaces); every other control character is refused.
_ALLOWED_CONTROLS = frozenset("\t\n\r")
_OPERATOR_NAME = re.compile(r"[A-Za-z_]+:")
_HASHTAG_CHARS = frozenset("_\u200c\u200d")
_CASHTAG = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)*")
_MENTION = re.compile(r"\w(?:[\w.@-]*\w)?")
_RUN_END = frozenset('()"')
_PROXIMITY_DIGITS = re.compile(r"[0-9]+")
_UNOPENED = "Unbalanced parentheses: this ')' has no matching '('"
_NOTHING_TO_EXCLUDE = "Nothing to exclude: write '-' right before the term to exclude, e.g. weather -snow"
_USE_DOUBLE_QUOTES = 'use double quotes for an exact phrase, e.g. "coca cola"'
_QUOTE_PUNCTUATION = 'put punctuation in a "quoted phrase"'
_PROXIMITY_DISTANCE = 'A proximity needs a distance from 1 to 6 after ~, e.g. "social media"~5'
_BRACKETS_ONLY = "'[' is only used by point_radius:[...] and bounding_box:[...]"


@dataclass(frozen=True, slots=True)
class _Item:
    """One lexical item: ``(``, ``-(``, ``)``, ``OR`` or a term (with its negation folded in)."""

    kind: str
    pos: int
    node: Node | None = None


def parse_tree(text: str, max_length: int = 1024) -> Node:
    """Parse ``text`` into a normal-form tree and check it is a valid rule; raises :class:`QueryError`."""
    if len(text) > max_length:
        raise QueryError(errors.too_long(len(text), max_length), max_length + 1)
    _check_characters(text)
    items = _Lexer(text).items()
    if not items:
        raise QueryError(errors.EMPTY, None)
    tree = _Parser(items).parse()
    _validate(tree)
    return tree


def _check_characters(text: str) -> None:
    for index, char in enumerate(text):
        if char in _ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            raise QueryError(f"Control character U+{ord(char):04X} is not allowed in a query", index + 1)
        if category == "Cs":
            raise QueryError(f"Invalid character U+{ord(char):04X} (a lone surrogate)", index + 1)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.length = len(text)

    def items(self) -> list[_Item]:
        text, items, i = self.text, [], 0
        while i < self.length:
            char = text[i]
            if char.isspace():
                i += 1
            elif char == "(":
                items.append(_Item("(", i + 1))
                i += 1
            elif char == ")":
                items.append(_Item(")", i + 1))
                i += 1
            elif char == "-":
                i = self._negation(i, items)
            else:
                end = self._run_end(i)
                if text[i:end] == "OR":
                    items.append(_Item("OR", i + 1))
                    i = end
                else:
                    node, i = self._term(i)
                    items.append(_Item("term", node.pos, node))
        return items

    def _negation(self, i: int, items: list[_Item]) -> int:
        after = self.text[i + 1] if i + 1 < self.length else ""
        if after == "(":
            items.append(_Item("-(", i + 1))
            return i + 2
        if not after or after.isspace() or after == ")":
            raise QueryError(_NOTHING_TO_EXCLUDE, i + 1)
        if after == "-":
            raise QueryError("Double negation: use one '-' before the term to exclude", i + 1)
        node, end = self._term(i + 1)
        items.append(_Item("term", i + 1, Not(node, i + 1)))
        return end

    def _run_end(self, i: int) -> int:
        text, end = self.text, i
        while end < self.length and not text[end].isspace() and text[end] not in _RUN_END:
            end += 1
        return end

    def _term(self, i: int) -> tuple[Term, int]:
        text, pos = self.text, i + 1
        char = text[i]
        if char == '"':
            return self._phrase(i)
        if char in "'[]":
            raise QueryError(f"Unexpected character {char!r}: {_USE_DOUBLE_QUOTES}", pos)
        name = _OPERATOR_NAME.match(text, i)
        if name:
            return self._operator(i, name.end())
        end = self._run_end(i)
        word = text[i:end]
        lowered = word.casefold()
        if lowered == "or":
            raise QueryError(errors.ambiguous_or(word), pos)
        if lowered == "and":
            raise QueryError(errors.ambiguous_and(word), pos)
        if char == "#":
            return Hashtag(_hashtag(word, pos), pos), end
        if char == "@":
            return Mention(_mention(word, pos), pos), end
        if char == "$" and len(word) > 1 and word[1].isascii() and word[1].isalpha():
            if not _CASHTAG.fullmatch(word[1:]):
                raise QueryError(f"{word!r} is not a valid $cashtag: a letter, then letters or digits, e.g. $TWTR", pos)
            return Cashtag(word[1:].upper(), pos), end
        keyword = _canonical_text(word)
        if _OPERATOR_NAME.match(keyword):  # the Kelvin sign's lower case is ASCII: it made an operator name
            raise QueryError(errors.invalid_operator(keyword.partition(":")[0]), pos)
        if not tokenize(keyword):
            raise QueryError(f"{word!r} has no letters, numbers or emoji: {_QUOTE_PUNCTUATION}", pos)
        return Keyword(keyword, pos), end

    def _phrase(self, i: int) -> tuple[Term, int]:
        text, pos = self.text, i + 1
        close = text.find('"', i + 1)
        if close < 0:
            raise QueryError('Unterminated quoted phrase: the closing " is missing', pos)
        phrase = collapse_whitespace(_canonical_text(text[i + 1 : close]))
        if not phrase:
            raise QueryError("Empty quoted phrase", pos)
        end = close + 1
        if end < self.length and text[end] == "~":
            digits = _PROXIMITY_DIGITS.match(text, end + 1)
            after = digits.end() if digits else end + 1
            if not digits or (after < self.length and not _ends_term(text[after])):
                raise QueryError(_PROXIMITY_DISTANCE, end + 1)
            distance = int(digits.group()) if len(digits.group()) < 4 else 1000
            if not 1 <= distance <= 6:
                shown = digits.group() if len(digits.group()) < 8 else digits.group()[:6] + "..."
                raise QueryError(f"A proximity distance must be from 1 to 6, not {shown}", end + 2)
            if not tokenize(phrase):
                raise QueryError("A proximity needs words to match between its quotes", pos)
            return Proximity(phrase, distance, pos), after
        return Phrase(phrase, pos), end

    def _operator(self, i: int, value_start: int) -> tuple[Term, int]:
        text, pos = self.text, i + 1
        name = text[i : value_start - 1].lower()
        if name in ("is", "has"):
            end = self._run_end(value_start)
            flag = f"{name}:{text[value_start:end].lower()}"
            flag = FLAG_ALIASES.get(flag, flag)
            if flag not in FLAGS:
                raise QueryError(errors.invalid_operator(text[i:end]), pos)
            return Flag(flag, pos), end
        spec = VALUE_OPERATORS.get(name)
        if spec is None:
            raise QueryError(errors.invalid_operator(text[i : value_start - 1]), pos)
        first = text[value_start] if value_start < self.length else ""
        if first == '"':
            close = text.find('"', value_start + 1)
            if close < 0:
                raise QueryError('Unterminated quoted value: the closing " is missing', value_start + 1)
            raw, end = text[value_start + 1 : close], close + 1
            if end < self.length and text[end] == "~":
                raise QueryError("~N only follows a quoted phrase, not an operator's value", end + 1)
        elif first == "[":
            close = text.find("]", value_start + 1)
            if not spec.brackets:
                raise QueryError(f"{_BRACKETS_ONLY}, not {name}:", pos)
            if close < 0:
                raise QueryError("Unterminated '[': the closing ] is missing", value_start + 1)
            raw, end = text[value_start + 1 : close], close + 1
        else:
            end = self._run_end(value_start)
            raw = text[value_start:end]
        if not raw.strip():
            raise QueryError(f"{name}: needs a value, e.g. {errors.operator_example(name)}", pos)
        if spec.brackets and first != "[":
            raise QueryError(f"{name}: takes its value in brackets, e.g. {errors.operator_example(name)}", pos)
        assert spec.check is not None
        try:
            value = spec.check(raw)
        except ValueError as exc:
            raise QueryError(f"Invalid value {raw!r} for {name}: it {exc}", value_start + 1) from None
        return Operator(name, value, pos), end


def _ends_term(char: str) -> bool:
    return char.isspace() or char in _RUN_END


def _canonical_text(text: str) -> str:
    """How a keyword or phrase is spelled in the canonical key: lower case, NFC."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).lower())


def _hashtag(word: str, pos: int) -> str:
    value = _canonical_text(word[1:])
    if not value:
        raise QueryError("'#' needs a hashtag after it, e.g. #nowplaying", pos)
    if not all(c in _HASHTAG_CHARS or unicodedata.category(c)[0] in "LMN" for c in value):
        raise QueryError(f"{word!r} is not a valid #hashtag (letters, numbers and _ only)", pos)
    return value


def _mention(word: str, pos: int) -> str:
    value = _canonical_text(word[1:])
    if not value:
        raise QueryError("'@' needs a username after it, e.g. @XDevelopers", pos)
    if not _MENTION.fullmatch(value):
        raise QueryError(f"{word!r} is not a valid @mention", pos)
    return value


class _Parser:
    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.index = 0

    def peek(self) -> str:
        return self.items[self.index].kind if self.index < len(self.items) else ""

    def parse(self) -> Node:
        tree = self.query(0)
        if self.index < len(self.items):  # only a ")" stops a top-level clause early
            raise QueryError(_UNOPENED, self.items[self.index].pos)
        return tree

    def query(self, depth: int) -> Node:
        clauses = [self.clause(depth)]
        while self.peek() == "OR":
            item = self.items[self.index]
            self.index += 1
            if self.peek() in ("", ")", "OR"):
                raise QueryError("OR needs a clause on each side", item.pos)
            clauses.append(self.clause(depth))
        return make_or(clauses)

    def clause(self, depth: int) -> Node:
        units: list[Node] = []
        while self.peek() not in ("", ")", "OR"):
            units.append(self.unary(depth))
        if not units:
            item = self.items[self.index]
            if item.kind == "OR":
                raise QueryError("OR needs a clause on each side", item.pos)
            raise QueryError(_UNOPENED, item.pos)
        return make_and(units)

    def unary(self, depth: int) -> Node:
        item = self.items[self.index]
        self.index += 1
        if item.kind == "term":
            assert item.node is not None
            return item.node
        # "(" or "-("
        if depth >= MAX_DEPTH:
            raise QueryError(f"Too many nested parentheses (more than {MAX_DEPTH})", item.pos)
        if self.peek() == ")":
            raise QueryError("Empty parentheses", item.pos)
        if not self.peek():
            raise QueryError("Unbalanced parentheses: this '(' is never closed", item.pos)
        inner = self.query(depth + 1)
        if self.peek() != ")":
            raise QueryError("Unbalanced parentheses: this '(' is never closed", item.pos)
        self.index += 1
        return negate(inner) if item.kind == "-(" else inner


def _validate(tree: Node) -> None:
    """The checks on the whole rule: negation rules, then "something must stand alone"."""
    _check_negations(tree)
    if not _anchored(tree):
        message, pos = _unanchored(tree, root=True)
        raise QueryError(message, pos)


def _check_negations(node: Node) -> None:
    if isinstance(node, And | Or):
        for child in node.children:
            _check_negations(child)
        return
    negated = isinstance(node, Not)
    term = node.child if isinstance(node, Not) else node
    if isinstance(term, Operator | Flag):
        spec = SPECS[term.name]
        label = term.name if isinstance(term, Flag) else f"{term.name}:"
        if negated and not spec.negatable:
            raise QueryError(f"{label} cannot be negated", node.pos)
        if not negated and spec.must_negate:
            raise QueryError(f"{label} can only be used negated: write -{label}", node.pos)


def _anchored(node: Node) -> bool:
    """True if every way of matching ``node`` goes through a positive standalone term."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_anchored(child) for child in node.children)
    if isinstance(node, Or):
        return all(_anchored(child) for child in node.children)
    return is_standalone(node.operator)


def _unanchored(node: Node, root: bool) -> tuple[str, int | None]:
    """The message and position for a clause with no positive standalone term."""
    if isinstance(node, Or) and any(_anchored(child) for child in node.children):
        for child in node.children:  # some branches are fine: point at the first that is not
            if not _anchored(child):
                return _unanchored(child, root=False)
    conjunction = _first_conjunction_required(node)
    if conjunction is not None:
        return errors.standalone_required(conjunction.operator, render_term(conjunction)), conjunction.pos
    return errors.NON_NEGATION, 1 if root else node.pos


def _first_conjunction_required(node: Node) -> Term | None:
    if isinstance(node, And | Or):
        for child in node.children:
            found = _first_conjunction_required(child)
            if found is not None:
                return found
        return None
    if isinstance(node, Not):
        return None
    return None if is_standalone(node.operator) else node
