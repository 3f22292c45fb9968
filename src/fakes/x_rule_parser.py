"""Parsing and validating rules and queries in X's rule language, for the fake X (the model is described in
``x_rules``).

Grammar: terms separated by spaces are ANDed; ``OR`` (upper case only) ORs and binds looser than AND;
``(...)`` groups; ``-`` before a term or group negates it. Terms: keyword, ``"exact phrase"`` (optionally
``~N``), ``#hashtag``, ``@mention``, ``$cashtag`` and ``name:value`` operators (value may be quoted).

Validation (``validate``) rejects, with X-style details ending in ``(at position N)`` (1-based):

- a value longer than the rule limit, an empty value;
- unbalanced parentheses or quotes, a dangling ``OR`` or ``-``, an empty group;
- lower-case ``or``/``and`` (and ``AND``) used as words between terms ("Ambiguous use of ...");
- unknown operators and unknown ``is:``/``has:`` values;
- a rule with only negations, or with only conjunction-required operators (``is:``, ``has:``, ``lang:``,
  ``sample:``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONJUNCTION_REQUIRED",
    "HAS_VALUES",
    "IS_VALUES",
    "OPERATORS_DOC",
    "STANDALONE",
    "Node",
    "RuleSyntaxError",
    "Term",
    "parse",
    "validate",
]

#: Operators that may stand alone in a rule.
STANDALONE = frozenset(
    {
        "from",
        "to",
        "url",
        "retweets_of",
        "conversation_id",
        "context",
        "entity",
        "bio",
        "bio_name",
        "bio_location",
        "place",
        "place_country",
        "point_radius",
        "bounding_box",
        "in_reply_to_tweet_id",
        "retweets_of_tweet_id",
        "quotes_of_tweet_id",
        "list",
        "url_title",
        "url_description",
        "url_contains",
        "source",
        "followers_count",
        "tweets_count",
        "following_count",
        "listed_count",
    }
)
#: Operators valid only next to a standalone term.
CONJUNCTION_REQUIRED = frozenset({"is", "has", "lang", "sample"})
IS_VALUES = frozenset({"retweet", "reply", "quote", "verified", "nullcast"})
HAS_VALUES = frozenset({"hashtags", "cashtags", "links", "mentions", "media", "images", "video_link", "geo"})
OPERATORS_DOC = "https://developer.twitter.com/en/docs/twitter-api/tweets/filtered-stream/integrate/operators"


class RuleSyntaxError(ValueError):
    """A rule X would reject; ``details`` are the X-style messages."""

    def __init__(self, details: list[str]) -> None:
        super().__init__("; ".join(details))
        self.details = details


@dataclass
class Term:
    """A leaf: ``kind`` is keyword, phrase, hashtag, mention, cashtag or an operator name."""

    kind: str
    value: str
    position: int
    proximity: int | None = None


@dataclass
class Node:
    """An AND/OR/NOT node over children."""

    op: str  # "and", "or", "not"
    children: list[Any] = field(default_factory=list)


@dataclass
class _Token:
    kind: str  # "(", ")", "OR", "-", "term"
    text: str
    position: int  # 1-based
    term: Term | None = None


def _error(message: str, position: int) -> RuleSyntaxError:
    return RuleSyntaxError([f"{message} (at position {position})"])


def _tokenize(value: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(value)
    while i < n:
        char = value[i]
        if char.isspace():
            i += 1
            continue
        if char in "()":
            tokens.append(_Token(char, char, i + 1))
            i += 1
            continue
        if char == "-" and (i + 1 >= n or value[i + 1].isspace() or value[i + 1] == ")"):
            raise _error("no viable alternative at input '-'", i + 1)
        if char == "-":
            tokens.append(_Token("-", "-", i + 1))
            i += 1
            continue
        start = i
        if char == '"':
            end = value.find('"', i + 1)
            if end < 0:
                raise _error("mismatched character '<EOF>' expecting '\"'", n + 1)
            phrase = value[i + 1 : end]
            i = end + 1
            proximity = None
            match = re.match(r"~(\d+)", value[i:])
            if match:
                proximity = int(match.group(1))
                i += match.end()
                if proximity > 6:
                    raise _error(f"Proximity operator distance {proximity} exceeds the maximum of 6", start + 1)
            if not phrase.strip():
                raise _error("no viable alternative at input '\"\"'", start + 1)
            tokens.append(_Token("term", value[start:i], start + 1, Term("phrase", phrase, start + 1, proximity)))
            continue
        while i < n and not value[i].isspace() and value[i] not in '()"':
            i += 1
        word = value[start:i]
        operator = re.fullmatch(r"([A-Za-z_]+):(?!//)(.*)", word)  # https://... is a keyword
        if operator and operator.group(2) == "" and i < n and value[i] == '"':
            end = value.find('"', i + 1)
            if end < 0:
                raise _error("mismatched character '<EOF>' expecting '\"'", n + 1)
            word = value[start : end + 1]
            i = end + 1
            operator = re.fullmatch(r"([A-Za-z_]+):\"(.*)\"", word, re.S)
        if word == "OR":
            tokens.append(_Token("OR", word, start + 1))
            continue
        tokens.append(_Token("term", word, start + 1, _term(word, operator, start + 1)))
    return tokens


def _term(word: str, operator: re.Match[str] | None, position: int) -> Term:
    if operator:
        name, argument = operator.group(1), operator.group(2)
        if name not in STANDALONE and name not in CONJUNCTION_REQUIRED:
            raise _error(
                f"Reference to invalid operator '{name}'. Operator is not available in current product or "
                f"product packaging. Please refer to complete available operator list at {OPERATORS_DOC}.",
                position,
            )
        if not argument:
            raise _error(f"no viable alternative at input '{name}:'", position)
        if name == "is" and argument not in IS_VALUES:
            raise _error(f"Reference to invalid field '{argument}'", position + 3)
        if name == "has" and argument not in HAS_VALUES:
            raise _error(f"Reference to invalid field '{argument}'", position + 4)
        if name == "sample" and not (argument.isdigit() and 1 <= int(argument) <= 100):
            raise _error(f"Operator 'sample' expects a number between 1 and 100, got '{argument}'", position)
        return Term(name, argument, position)
    if word.casefold() in ("or", "and"):
        keyword = word.casefold()
        joiner = "OR" if keyword == "or" else "a space"
        raise _error(
            f"Ambiguous use of {keyword} as a keyword. Use {joiner} to logically join two clauses, "
            f'or "{keyword}" to find occurrences of {keyword} in text',
            position,
        )
    for prefix, kind in (("#", "hashtag"), ("@", "mention"), ("$", "cashtag")):
        if word.startswith(prefix) and len(word) > 1:
            return Term(kind, word[1:], position)
    return Term("keyword", word, position)


class _Parser:
    def __init__(self, tokens: list[_Token], length: int) -> None:
        self.tokens = tokens
        self.index = 0
        self.end = length + 1

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def parse(self) -> Any:
        node = self.parse_or()
        token = self.peek()
        if token is not None:
            raise _error(f"extraneous input '{token.text}' expecting <EOF>", token.position)
        return node

    def parse_or(self) -> Any:
        branches = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.index += 1
            branches.append(self.parse_and())
        return branches[0] if len(branches) == 1 else Node("or", branches)

    def parse_and(self) -> Any:
        items = []
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            items.append(self.parse_unary())
        if not items:
            token = self.peek()
            where = token.text if token else "<EOF>"
            raise _error(f"no viable alternative at input '{where}'", token.position if token else self.end)
        return items[0] if len(items) == 1 else Node("and", items)

    def parse_unary(self) -> Any:
        token = self.peek()
        assert token is not None
        if token.kind == "-":
            self.index += 1
            following = self.peek()
            if following is None or following.kind in ("OR", ")"):
                raise _error("no viable alternative at input '-'", token.position)
            return Node("not", [self.parse_unary()])
        if token.kind == "(":
            self.index += 1
            inner = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                where = closing.position if closing else self.end
                raise _error(f"missing ')' at '{closing.text if closing else '<EOF>'}'", where)
            self.index += 1
            return inner
        self.index += 1
        assert token.term is not None
        return token.term


def parse(value: str) -> Any:
    """Parse a rule/query into a tree of ``Node``/``Term``; raises ``RuleSyntaxError``."""
    tokens = _tokenize(value)
    if not tokens:
        raise _error("no viable alternative at input '<EOF>'", 1)
    if tokens[0].kind == ")":
        raise _error("extraneous input ')' expecting <EOF>", tokens[0].position)
    tree = _Parser(tokens, len(value)).parse()
    positives = _positive_terms(tree, negated=False)
    if not positives:
        raise _error("Rules must contain a non-negation term", 1)
    if not any(term.kind not in CONJUNCTION_REQUIRED for term in positives):
        raise _error(
            "Rules must contain at least one positive standalone operator or keyword: "
            f"'{positives[0].kind}:' needs one beside it",
            1,
        )
    return tree


def _positive_terms(node: Any, negated: bool) -> list[Term]:
    if isinstance(node, Term):
        return [] if negated else [node]
    flipped = negated != (node.op == "not")
    return [term for child in node.children for term in _positive_terms(child, flipped)]


def validate(value: Any, max_length: int) -> list[str]:
    """The X-style error details for a rule value ([] when X would accept it)."""
    if not isinstance(value, str) or not value.strip():
        return ["Rule value must not be empty (at position 1)"]
    if len(value) > max_length:
        return [
            f"Rule '{value}' is {len(value)} characters long; rules can be at most {max_length} characters "
            f"(at position {max_length + 1})"
        ]
    try:
        parse(value)
    except RuleSyntaxError as error:
        return error.details
    return []
