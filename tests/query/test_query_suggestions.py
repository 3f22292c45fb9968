"""Every "e.g." in an error message is a whole valid query: a person can copy it and it works."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twitterstream.query import QueryError, parse
from twitterstream.query.operators import FLAGS, SPECS, VALUE_OPERATORS, is_standalone

#: One bad query of each kind of error that carries a suggestion, plus every operator without its value,
#: in brackets it does not take, with a bad value, and (when it needs a keyword) alone.
BAD_QUERIES = [
    "- cats",
    "cats -",
    "x 'coca cola'",
    "[a]",
    "#",
    "@",
    "$A-",
    "$1A.",
    '"a b"~',
    '"a b"~x',
    "cats place_country:USA",
    "point_radius:[1 2]",
    "point_radius:2",
    "bounding_box:2",
    "cats followers_count:many",
    "cats listed_count:1..",
    "cats context:10",
    *(f"{name}:" for name in VALUE_OPERATORS),
    *(f'{name}:""' for name in VALUE_OPERATORS),
    *(f"{name}:!!" for name in VALUE_OPERATORS),
    *(name for name in FLAGS),
    *(f"{name} -cats" for name in FLAGS),
    "lang:en",
    "lang:pt-br -cats",
    "sample:10",
    "embedding_threshold:0.5",
    "has:media OR is:retweet",
    "cats OR (has:links -is:reply)",
]


def suggestion(error: QueryError) -> str | None:
    """What the message suggests: everything after "e.g. " (the messages' convention), or None."""
    _, marker, rest = error.message.partition("e.g. ")
    return rest if marker else None


def suggestions_of(text: str) -> str | None:
    try:
        parse(text)
    except QueryError as error:
        return suggestion(error)
    return None


@pytest.mark.parametrize("text", BAD_QUERIES)
def test_a_suggestion_is_a_valid_query(text: str) -> None:
    suggested = suggestions_of(text)
    if suggested is not None:
        parse(suggested)  # raises QueryError (failing the test) if the suggestion is itself invalid


def test_the_bad_queries_do_make_suggestions() -> None:
    """The list above reaches the messages with suggestions (else the test above would check little)."""
    suggested = {s for s in map(suggestions_of, BAD_QUERIES) if s}
    assert len(suggested) >= 30
    assert "cats lang:en" in suggested
    assert "cats lang:pt-br" in suggested  # the operator's own value, not a placeholder
    assert "weather -snow" in suggested
    assert "point_radius:[2.355128 48.861118 16km]" in suggested


def test_lang_alone_suggests_it_next_to_a_keyword() -> None:
    with pytest.raises(QueryError) as caught:
        parse("lang:en")
    assert caught.value.message.endswith("e.g. cats lang:en")


@pytest.mark.parametrize("name", sorted(VALUE_OPERATORS))
def test_every_value_operator_without_a_value_suggests_a_whole_query(name: str) -> None:
    suggested = suggestions_of(f"{name}:")
    assert suggested is not None
    query = parse(suggested)
    assert name in query.operators
    assert suggested.startswith(name) == is_standalone(name)


PIECES = st.sampled_from(
    [
        "cats",
        "-",
        "#",
        "@",
        "$",
        "$A",
        '"',
        "'",
        "(",
        ")",
        "[",
        "]",
        "~",
        "~9",
        "OR",
        "or",
        " ",
        ":",
        "1..",
        "US",
        *(f"{name}:" for name in SPECS if name in VALUE_OPERATORS),
        *FLAGS,
    ]
)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, min_size=1, max_size=6).map("".join))
def test_generated_bad_queries_suggest_valid_queries(text: str) -> None:
    suggested = suggestions_of(text)
    if suggested is not None:
        parse(suggested)
