"""A small, independent model of X's rule/query language: validation and matching for the fake X.

Written from x-api.md and X's operator docs, without looking at the application's own query parser, so the
two can disagree (that is the point: a test against this fake is a second opinion).

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


# ---- matching ----

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
