"""The one exception the query language raises, and the texts of its messages.

Messages follow X's wording where X's is known (``Ambiguous use of or as a keyword...``, ``Rules must
contain a non-negation term``, ``Reference to invalid operator 'foo'``) so that a person who has seen X's
rejection recognises ours; the others say what is wrong and how to fix it. A message may end with a
suggestion, ``e.g. QUERY``: everything after ``e.g.`` is then a whole valid query (a test parses each one).
"""

from __future__ import annotations

from twitterstream.errors import TwitterStreamError
from twitterstream.query.operators import is_standalone


class QueryError(TwitterStreamError, ValueError):
    """A query that is not a valid rule.

    ``message`` says what is wrong (without the position); ``position`` is the 1-based character position
    in the query text where the problem is, or ``None`` when it is about the query as a whole.
    ``str(error)`` is ``"{message} (at position {position})"``, X's format, when the position is known.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        super().__init__(f"{message} (at position {position})" if position is not None else message)

    def __reduce__(self) -> tuple[type[QueryError], tuple[str, int | None]]:
        return (type(self), (self.message, self.position))


def ambiguous_or(word: str) -> str:
    """X's message for a lower-case ``or`` between terms."""
    return (
        f"Ambiguous use of {word} as a keyword. Use OR to logically join two clauses, "
        f'or "{word}" to find occurrences of {word} in text'
    )


def ambiguous_and(word: str) -> str:
    """X's message for ``and`` (any case: X's AND is a space)."""
    return (
        f"Ambiguous use of {word} as a keyword. Use a space to logically join two clauses, "
        f'or "{word}" to find occurrences of {word} in text'
    )


def invalid_operator(name: str) -> str:
    """X's message for ``foo:bar`` when ``foo`` is no operator."""
    return f"Reference to invalid operator '{name}'"


NON_NEGATION = "Rules must contain a non-negation term"
EMPTY = 'The query is empty: type a word, a #hashtag, an @name or an "exact phrase"'


def too_long(length: int, limit: int) -> str:
    return f"The query is {length:,} characters long; rules are limited to {limit:,} characters"


def standalone_required(operator: str, term: str) -> str:
    """X says "is/has/lang cannot be used as a standalone operator"; we name the operator in question and
    suggest the term as written (``term``, e.g. ``lang:en``) next to a keyword: a query that is valid."""
    return (
        f"{operator} cannot be used as a standalone operator: combine it with a keyword, "
        f'"phrase", #hashtag, @mention or from: in the same clause, e.g. cats {term}'
    )


#: A typical value of each value operator, for the "needs a value" messages.
EXAMPLE_VALUES = {
    "from": "XDevelopers",
    "to": "XDevelopers",
    "url": '"developer.x.com"',
    "lang": "en",
    "retweets_of": "XDevelopers",
    "from_affiliate_of": "XDevelopers",
    "to_affiliate_of": "XDevelopers",
    "conversation_id": "1334987486343299072",
    "in_reply_to_tweet_id": "1334987486343299072",
    "retweets_of_tweet_id": "1334987486343299072",
    "context": "10.799022225751871488",
    "entity": '"Michael Jordan"',
    "bio": "developer",
    "bio_name": "phd",
    "bio_location": "london",
    "place": '"new york city"',
    "place_country": "US",
    "point_radius": "[2.355128 48.861118 16km]",
    "bounding_box": "[-105.301758 39.964069 -105.178505 40.09455]",
    "url_title": "snow",
    "url_description": "weather",
    "url_contains": "photos",
    "source": "bluesky",
    "min_followers": "1000",
    "followers_count": "1000..10000",
    "tweets_count": "1000..10000",
    "following_count": "500",
    "listed_count": "10..100",
    "embedding": '"cats playing piano"',
    "embedding_threshold": "0.8",
    "sample": "10",
}


def operator_example(name: str) -> str:
    """A whole valid query using operator ``name``: its example value, next to a keyword if it needs one."""
    term = f"{name}:{EXAMPLE_VALUES.get(name, 'example')}"
    return term if is_standalone(name) else f"cats {term}"
